/** RepoGuard's commands. Menus and shortcuts live in schema/plugin.json. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IFrame, MainAreaWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { repoGuardIcon } from './icons';
import { RepoGuardModel } from './model';
import { CommandIDs } from './tokens';
import { FindingsWidget } from './widgets/FindingsWidget';
import { RepoGuardPanel } from './widgets/RepoGuardPanel';

const NO_ARGS = { type: 'object', properties: {} } as const;
const REQUEST_ID = {
  type: 'object',
  properties: { requestId: { type: 'string', description: 'The request id (rq-…)' } },
  required: ['requestId']
} as const;

export function addCommands(
  app: JupyterFrontEnd,
  model: RepoGuardModel,
  panel: RepoGuardPanel,
  trans: TranslationBundle
): void {
  const opened = new Map<string, MainAreaWidget>();
  const openInMain = (key: string, make: () => MainAreaWidget): void => {
    let widget = opened.get(key);
    if (!widget || widget.isDisposed) {
      widget = make();
      widget.title.icon = repoGuardIcon;
      widget.title.closable = true;
      opened.set(key, widget);
      app.shell.add(widget, 'main');
    }
    app.shell.activateById(widget.id);
  };

  app.commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('RepoGuard: Open panel'),
    caption: trans.__('Show the RepoGuard sidebar'),
    icon: args => (args['isPalette'] ? undefined : repoGuardIcon),
    describedBy: { args: NO_ARGS },
    execute: () => {
      app.shell.activateById(panel.id);
    }
  });

  app.commands.addCommand(CommandIDs.refresh, {
    label: trans.__('RepoGuard: Refresh'),
    caption: trans.__('Ask the RepoGuard server for fresh state'),
    describedBy: { args: NO_ARGS },
    execute: () => model.refresh()
  });

  app.commands.addCommand(CommandIDs.requestPackage, {
    label: trans.__('RepoGuard: Request package'),
    caption: trans.__('Ask for a public repository to be scanned and approved'),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          package_name: { type: 'string', description: 'Pre-fill the package name' },
          repo_url: { type: 'string', description: 'Pre-fill the repository URL' }
        }
      }
    },
    execute: args => {
      const fields: Record<string, string> = {};
      for (const key of ['package_name', 'repo_url']) {
        if (typeof args[key] === 'string') {
          fields[key] = args[key] as string;
        }
      }
      if (Object.keys(fields).length > 0) {
        model.setDraft(fields);
      }
      app.shell.activateById(panel.id);
      requestAnimationFrame(() => panel.focusRequestForm());
    }
  });

  app.commands.addCommand(CommandIDs.installPackage, {
    label: args =>
      args['name'] ? trans.__('Install %1', String(args['name'])) : trans.__('RepoGuard: Install'),
    caption: trans.__('Install an approved package into the active notebook’s kernel'),
    describedBy: {
      args: {
        type: 'object',
        properties: { name: { type: 'string', description: 'The approved package name' } },
        required: ['name']
      }
    },
    execute: args => model.install(String(args['name']))
  });

  app.commands.addCommand(CommandIDs.openFindings, {
    label: trans.__('RepoGuard: Open findings'),
    describedBy: { args: REQUEST_ID },
    execute: args => {
      const requestId = String(args['requestId']);
      openInMain(`findings:${requestId}`, () => {
        const content = new FindingsWidget(
          model,
          requestId,
          trans,
          id => void app.commands.execute(CommandIDs.openReport, { requestId: id })
        );
        const widget = new MainAreaWidget({ content });
        widget.id = `repoguard-findings-${requestId}`;
        widget.title.label = content.title.label;
        content.title.changed.connect(() => (widget.title.label = content.title.label));
        return widget;
      });
    }
  });

  app.commands.addCommand(CommandIDs.openReport, {
    label: trans.__('RepoGuard: Open report'),
    describedBy: { args: REQUEST_ID },
    execute: args => {
      const requestId = String(args['requestId']);
      openInMain(`report:${requestId}`, () => {
        // No sandbox exception: the report page runs no script (its CSP says so too).
        const content = new IFrame({ sandbox: [], referrerPolicy: 'no-referrer' });
        content.url = model.reportUrl(`reports/${encodeURIComponent(requestId)}/report.html`);
        const widget = new MainAreaWidget({ content });
        widget.id = `repoguard-report-${requestId}`;
        widget.title.label = trans.__('Report: %1', requestId);
        return widget;
      });
    }
  });
}
