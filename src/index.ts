/** RepoGuard's JupyterLab plugins. This module only declares and wires them. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { RepoGuardClient } from './api';
import { addCommands } from './commands';
import { RepoGuardModel } from './model';
import { CommandIDs, IRepoGuardModel } from './tokens';
import { RepoGuardPanel } from './widgets/RepoGuardPanel';

const PLUGIN_ID = 'repoguard:plugin';

const plugin: JupyterFrontEndPlugin<IRepoGuardModel> = {
  id: PLUGIN_ID,
  description:
    'The RepoGuard sidebar: request public packages, watch the security gate, install what it approved.',
  autoStart: true,
  provides: IRepoGuardModel,
  optional: [ILayoutRestorer, ICommandPalette, ITranslator, ISettingRegistry, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null
  ): IRepoGuardModel => {
    const trans = (translator ?? nullTranslator).load('repoguard');
    const model = new RepoGuardModel({
      client: new RepoGuardClient(app.serviceManager.serverSettings)
    });
    model.kernelProvider = () => notebooks?.currentWidget?.sessionContext.session?.kernel;

    const panel = new RepoGuardPanel({
      model,
      commands: app.commands,
      translator: translator ?? nullTranslator
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'repoguard-panel');

    addCommands(app, model, panel, trans);
    for (const command of [CommandIDs.openPanel, CommandIDs.requestPackage, CommandIDs.refresh]) {
      palette?.addItem({ command, category: 'RepoGuard' });
    }

    // Settings: requester email (asked once, then saved here) and the poll interval.
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(
        settings => {
          const apply = () => {
            model.setEmail(String(settings.get('requesterEmail').composite ?? ''));
            model.pollInterval = Number(settings.get('pollInterval').composite ?? 3);
            const text = (key: string) => String(settings.get(key).composite ?? '');
            model.config = {
              mode: text('mode') === 'aws' ? 'aws' : 'embedded',
              region: text('region'),
              pipelineName: text('pipelineName'),
              requestRepo: text('requestRepo'),
              org: text('org')
            };
          };
          apply();
          settings.changed.connect(apply);
          model.persistEmail = email => void settings.set('requesterEmail', email);
        },
        reason => console.warn('RepoGuard settings could not be loaded', reason)
      );
    }

    // Decisions on the user's requests become notifications.
    model.decided.connect((_, { request, decision }) => {
      const name = request.request.package_name;
      if (decision === 'approved') {
        Notification.success(trans.__('RepoGuard approved %1.', name), {
          autoClose: 8000,
          actions: [
            {
              label: trans.__('Install'),
              callback: () => void app.commands.execute(CommandIDs.installPackage, { name })
            }
          ]
        });
      } else {
        const message =
          decision === 'refused'
            ? trans.__('RepoGuard refused %1: %2', name, request.message ?? '')
            : decision === 'revoked'
              ? trans.__('RepoGuard revoked %1: %2', name, request.message ?? '')
              : trans.__('RepoGuard could not scan %1: %2', name, request.message ?? '');
        Notification.error(message, {
          autoClose: false,
          actions: [
            {
              label: trans.__('Show findings'),
              callback: () =>
                void app.commands.execute(CommandIDs.openFindings, {
                  // A revocation's findings are under the revocation's own id.
                  requestId: request.result?.request_id ?? request.request.request_id
                })
            }
          ]
        });
      }
    });

    // The handshake runs in the background: activation never waits on the server.
    void model.refresh().then(() => {
      const mismatch = model.versionMismatch;
      if (mismatch) {
        void showDialog({
          title: trans.__('RepoGuard needs a restart'),
          body: trans.__(
            'The RepoGuard panel is version %1 but the server extension is version %2. Run "pip install --upgrade repoguard", then restart JupyterLab.',
            mismatch.frontend,
            mismatch.server
          ),
          buttons: [Dialog.okButton()]
        });
      }
    });
    return model;
  }
};

export default [plugin];
