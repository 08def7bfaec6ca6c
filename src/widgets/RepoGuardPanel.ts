/** The RepoGuard sidebar: a SidePanel with one toolbar section per concern. */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { PanelWithToolbar, ReactWidget, SidePanel, VDomRenderer } from '@jupyterlab/ui-components';
import * as React from 'react';
import { HealthView } from '../components/HealthView';
import { repoGuardIcon } from '../icons';
import { RepoGuardModel } from '../model';

export class RepoGuardPanel extends SidePanel {
  constructor(options: RepoGuardPanel.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    const trans = translator.load('repoguard');
    this.id = 'repoguard-panel';
    this.addClass('jp-RepoGuardPanel');
    this.title.icon = repoGuardIcon;
    this.title.caption = trans.__('RepoGuard');
    this.header.addWidget(
      ReactWidget.create(
        React.createElement('h2', { className: 'jp-RepoGuardPanel-title' }, trans.__('RepoGuard'))
      )
    );

    const server = new PanelWithToolbar();
    server.addClass('jp-RepoGuardPanel-section');
    server.title.label = trans.__('Server');
    server.addWidget(new Private.HealthSection(options.model, trans));
    this.addWidget(server);
  }
}

export namespace RepoGuardPanel {
  export interface IOptions {
    model: RepoGuardModel;
    translator?: ITranslator;
  }
}

namespace Private {
  /** Re-renders the health view whenever the model changes. */
  export class HealthSection extends VDomRenderer<RepoGuardModel> {
    constructor(
      model: RepoGuardModel,
      private _trans: TranslationBundle
    ) {
      super(model);
      this.addClass('jp-RepoGuardPanel-health');
    }

    protected render(): React.ReactElement {
      const { health, error, busy } = this.model;
      return React.createElement(HealthView, { health, error, busy, trans: this._trans });
    }
  }
}
