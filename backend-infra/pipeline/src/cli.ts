/** `repoguard-pipeline`: argument parsing only; the work is in the stage modules. */
import { Command } from 'commander';
import path from 'node:path';
import { Workspace } from './workspace';

export function buildProgram(): Command {
  const program = new Command('repoguard-pipeline')
    .description(
      'RepoGuard pipeline: ingest requests, scan, decide, publish, record, notify.\n' +
        'Embedded mode works on a local workspace folder (--local DIR).'
    )
    .showHelpAfterError();

  program
    .command('init')
    .description('create an embedded workspace (idempotent)')
    .requiredOption('--local <dir>', 'workspace folder')
    .action(async (options: { local: string }) => {
      const workspace = new Workspace(path.resolve(options.local));
      const { created } = await workspace.init();
      console.log(
        `${created ? 'Created' : 'Kept'} workspace ${workspace.root}\n` +
          `  request repo: ${workspace.requestRepo}\n` +
          `  config:       ${workspace.configFile}`
      );
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
