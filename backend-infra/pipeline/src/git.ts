/** Running git for RepoGuard's own repositories (never for untrusted clones: see clone.ts). */
import { execFile, spawn } from 'node:child_process';
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

/** Options of git itself that take the next argument as their value. */
const VALUED = new Set(['-c', '-C', '--git-dir', '--work-tree', '--namespace', '--exec-path']);

/** The git command an argument list runs (`push` of `-c k=v --git-dir D push …`), for messages. */
export function subcommand(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (VALUED.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return args[0] ?? 'git';
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
    throw new Error(`git ${subcommand(args)} failed: ${detail}`);
  }
}

/** Run git with `input` on its stdin; reject with git's stderr in the message. */
export async function gitWithInput(
  args: string[],
  input: string | Buffer,
  options: IGitOptions = {}
): Promise<string> {
  return (await gitBytes(args, input, options)).toString('utf8');
}

/** Run git with `input` on its stdin; its stdout as bytes (object contents, sizes in bytes). */
export function gitBytes(
  args: string[],
  input: string | Buffer,
  options: IGitOptions = {}
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: { ...process.env, ...GIT_ENV, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe']
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', code => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(Buffer.concat(out));
      } else {
        const detail = Buffer.concat(err).toString('utf8').trim();
        reject(new Error(`git ${subcommand(args)} failed: ${detail || `exit ${code}`}`));
      }
    });
    child.stdin.end(input);
  });
}

/** One object of `git cat-file --batch`: its id and content, or null when missing. */
export interface IBatchObject {
  oid: string;
  type: string;
  content: Buffer;
}

/**
 * Parse `git cat-file --batch` output for the names asked, in order: each is
 * `<oid> <type> <size>` + LF + size bytes + LF, or `<name> missing` (or
 * `ambiguous`) + LF.
 */
export function parseCatFileBatch(out: Buffer, count: number): (IBatchObject | null)[] {
  const objects: (IBatchObject | null)[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const eol = out.indexOf(10, at);
    if (eol < 0) throw new Error('git cat-file: output ended early');
    const header = out.subarray(at, eol).toString('utf8');
    const m = /^([0-9a-f]{40,64}) (\S+) (\d+)$/.exec(header);
    if (!m) {
      objects.push(null); // `<name> missing` / `<name> ambiguous`
      at = eol + 1;
      continue;
    }
    const size = Number(m[3]);
    const start = eol + 1;
    if (start + size > out.length) throw new Error('git cat-file: object cut short');
    objects.push({ oid: m[1], type: m[2], content: out.subarray(start, start + size) });
    at = start + size + 1;
  }
  return objects;
}

/**
 * Export `commit` of the bare repo `gitDir` into the folder `dest` (`git
 * archive | tar -x`): the published tree, without its history.
 */
export function archiveInto(
  gitDir: string,
  commit: string,
  dest: string,
  env: NodeJS.ProcessEnv = {}
): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['--git-dir', gitDir, 'archive', '--format=tar', commit], {
      env: { ...process.env, ...GIT_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    const untar = spawn('tar', ['-x', '-C', dest, '--no-same-owner'], {
      stdio: ['pipe', 'ignore', 'pipe']
    });
    let stderr = '';
    archive.stderr.on('data', c => (stderr += String(c)));
    untar.stderr.on('data', c => (stderr += String(c)));
    archive.stdout.pipe(untar.stdin);
    let pending = 2;
    let failed = false;
    const done = (code: number | null) => {
      if (code !== 0) failed = true;
      if (--pending === 0) {
        failed ? reject(new Error(`cannot export ${commit}: ${stderr.trim()}`)) : resolve();
      }
    };
    archive.on('error', reject);
    untar.on('error', reject);
    archive.on('close', done);
    untar.on('close', done);
  });
}
