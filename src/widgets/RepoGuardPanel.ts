/** The RepoGuard sidebar: a SidePanel with one toolbar section per concern. */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  PanelWithToolbar,
  ReactWidget,
  refreshIcon,
  SidePanel,
  ToolbarButton,
  VDomRenderer
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { ApprovedList } from '../components/ApprovedList';
import { HealthView } from '../components/HealthView';
import { PipelineView } from '../components/PipelineView';
import { RefusedList } from '../components/RefusedList';
import { RequestForm } from '../components/RequestForm';
import { repoGuardIcon } from '../icons';
import { RepoGuardModel } from '../model';
import { CommandIDs } from '../tokens';

export class RepoGuardPanel extends SidePanel {
  constructor(options: RepoGuardPanel.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    const trans = translator.load('repoguard');
    const { model, commands } = options;
    this._model = model;
    this.id = 'repoguard-panel';
    this.addClass('jp-RepoGuardPanel');
    this.title.icon = repoGuardIcon;
    this.title.caption = trans.__('RepoGuard');
    this.header.addWidget(
      ReactWidget.create(
        React.createElement('h2', { className: 'jp-RepoGuardPanel-title' }, trans.__('RepoGuard'))
      )
    );
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh'),
        onClick: () => void commands.execute(CommandIDs.refresh)
      })
    );

    const run = (id: string, args: Record<string, string>) => void commands.execute(id, args);
    const section = (label: string, name: string, body: Widget): void => {
      const panel = new PanelWithToolbar();
      panel.addClass('jp-RepoGuardPanel-section');
      panel.addClass(`jp-RepoGuardPanel-${name}`);
      panel.title.label = label;
      panel.addWidget(body);
      this.addWidget(panel);
    };

    section(
      trans.__('Request'),
      'request',
      new Private.Section(model, trans, 'jp-RepoGuardPanel-form', (m, t) =>
        React.createElement(RequestForm, {
          policy: m.health?.policy ?? null,
          email: m.email,
          busy: m.busy,
          draft: m.draft.fields,
          draftVersion: m.draft.version,
          trans: t,
          onSubmit: fields => m.submit(fields)
        })
      )
    );
    section(
      trans.__('Pipeline'),
      'pipeline',
      new Private.Section(model, trans, 'jp-RepoGuardPanel-pipelineBody', (m, t) =>
        React.createElement(PipelineView, {
          requests: m.requests,
          pipeline: m.pipeline,
          email: m.email,
          consoleUrl: m.consoleUrl,
          trans: t,
          onOpenFindings: requestId => run(CommandIDs.openFindings, { requestId })
        })
      )
    );
    section(
      trans.__('Approved'),
      'approved',
      new Private.Section(model, trans, 'jp-RepoGuardPanel-approvedBody', (m, t) =>
        React.createElement(ApprovedList, {
          approved: m.approved,
          installs: m.installs,
          trans: t,
          onInstall: name => run(CommandIDs.installPackage, { name }),
          onRequest: name => run(CommandIDs.requestPackage, { package_name: name }),
          onOpenReport: requestId => run(CommandIDs.openReport, { requestId })
        })
      )
    );
    section(
      trans.__('Refused'),
      'refused',
      new Private.Section(model, trans, 'jp-RepoGuardPanel-refusedBody', (m, t) =>
        React.createElement(RefusedList, {
          refused: m.refused,
          trans: t,
          onOpenFindings: requestId => run(CommandIDs.openFindings, { requestId })
        })
      )
    );
    section(
      trans.__('Server'),
      'server',
      new Private.Section(model, trans, 'jp-RepoGuardPanel-health', (m, t) =>
        React.createElement(HealthView, {
          health: m.health,
          error: m.error,
          busy: m.busy,
          expectedMode: m.config.mode,
          trans: t
        })
      )
    );
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._sized) {
      // Request, Pipeline, Approved, Refused, Server: the lists get the room.
      (this.content as unknown as { setRelativeSizes(sizes: number[]): void }).setRelativeSizes([
        4, 3, 4, 2, 1
      ]);
      this._sized = true;
    }
  }

  /** Put the cursor in the request form's first field. */
  focusRequestForm(): void {
    const input = this.node.querySelector<HTMLInputElement>('.jp-RepoGuardPanel-form input');
    input?.focus();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.setVisible(false);
  }

  private _model: RepoGuardModel;
  private _sized = false;
}

export namespace RepoGuardPanel {
  export interface IOptions {
    model: RepoGuardModel;
    commands: CommandRegistry;
    translator?: ITranslator;
  }
}

namespace Private {
  type Render = (model: RepoGuardModel, trans: TranslationBundle) => React.ReactElement;

  /** Re-renders one section whenever the model changes. */
  export class Section extends VDomRenderer<RepoGuardModel> {
    constructor(
      model: RepoGuardModel,
      private _trans: TranslationBundle,
      className: string,
      private _render: Render
    ) {
      super(model);
      this.addClass('jp-RepoGuardPanel-body');
      this.addClass(className);
    }

    protected render(): React.ReactElement {
      return this._render(this.model, this._trans);
    }
  }
}
