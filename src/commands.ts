/** RepoGuard's commands. Menus and shortcuts live in schema/plugin.json. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';
import { repoGuardIcon } from './icons';
import { RepoGuardModel } from './model';
import { CommandIDs } from './tokens';

const NO_ARGS = { type: 'object', properties: {} } as const;

export function addCommands(
  app: JupyterFrontEnd,
  model: RepoGuardModel,
  panelId: string,
  trans: TranslationBundle
): void {
  app.commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('RepoGuard: Open panel'),
    caption: trans.__('Show the RepoGuard sidebar'),
    icon: args => (args['isPalette'] ? undefined : repoGuardIcon),
    describedBy: { args: NO_ARGS },
    execute: () => {
      app.shell.activateById(panelId);
    }
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: trans.__('RepoGuard: Refresh'),
    caption: trans.__('Ask the RepoGuard server for fresh state'),
    describedBy: { args: NO_ARGS },
    execute: () => model.refresh()
  });
}
