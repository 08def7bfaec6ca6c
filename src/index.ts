/** RepoGuard's JupyterLab plugins. This module only declares and wires them. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { RepoGuardClient } from './api';
import { addCommands } from './commands';
import { RepoGuardModel } from './model';
import { CommandIDs, IRepoGuardModel } from './tokens';
import { RepoGuardPanel } from './widgets/RepoGuardPanel';

const plugin: JupyterFrontEndPlugin<IRepoGuardModel> = {
  id: 'repoguard:plugin',
  description:
    'The RepoGuard sidebar: request public packages, watch the security gate, install what it approved.',
  autoStart: true,
  provides: IRepoGuardModel,
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): IRepoGuardModel => {
    const trans = (translator ?? nullTranslator).load('repoguard');
    const model = new RepoGuardModel({
      client: new RepoGuardClient(app.serviceManager.serverSettings)
    });
    const panel = new RepoGuardPanel({ model, translator: translator ?? nullTranslator });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'repoguard-panel');

    addCommands(app, model, panel.id, trans);
    palette?.addItem({ command: CommandIDs.openPanel, category: 'RepoGuard' });
    palette?.addItem({ command: CommandIDs.refresh, category: 'RepoGuard' });

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
