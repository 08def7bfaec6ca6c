/** Running git for RepoGuard's own repositories (never for untrusted clones: see clone.ts). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The identity RepoGuard commits with, and no user or system config. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'RepoGuard',
  GIT_AUTHOR_EMAIL: 'repoguard@localhost',
  GIT_COMMITTER_NAME: 'RepoGuard',
  GIT_COMMITTER_EMAIL: 'repoguard@localhost'
};

export interface IGitOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Run git; reject with git's own stderr in the message. */
export async function git(args: string[], options: IGitOptions = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      cwd: options.cwd,
      env: { ...process.env, ...GIT_ENV, ...options.env },
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    const detail = (e.stderr ?? '').trim() || e.message;
    throw new Error(`git ${args[0]} failed: ${detail}`);
  }
}
