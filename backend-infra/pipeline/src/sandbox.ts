/**
 * The network-less sandbox every scanner runs in: bubblewrap (`bwrap`) with
 * all namespaces unshared (no network at all: only a loopback interface, so
 * not even DNS leaves the machine), the host's root file system read-only, a
 * fresh /dev, /proc and an empty /tmp, a throw-away home (`/tmp/home`), and
 * only the folders named here bound in (read-only, or writable for outputs).
 *
 * Debian's bwrap is not setuid: it needs kernel user namespaces (or root).
 * In a container (CodeBuild) that means a privileged build. A missing bwrap
 * fails the scan closed (the scanner reads as `missing`).
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** The home directory a sandboxed process sees (on the sandbox's own /tmp). */
export const SANDBOX_HOME = '/tmp/home';

export interface ISandboxOptions {
  /** Host folders (or files) visible read-only at the same path. */
  readOnly?: string[];
  /** Host folders writable at the same path (outputs). */
  writable?: string[];
  /** Host folders bound writable at another path inside: [host, inside]. */
  bindAs?: [string, string][];
  /** Keep the host's network (default: none). Only for an explicit online mode. */
  network?: boolean;
  /** Start from an empty environment (`--clearenv`); `env` is then all there is. */
  clearEnv?: boolean;
  env?: Record<string, string>;
  /** Working directory inside the sandbox. */
  chdir?: string;
}

/** The bwrap executable, or null when bubblewrap is not installed. */
export async function findBwrap(): Promise<string | null> {
  const dirs = [
    '/usr/bin',
    '/usr/local/bin',
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  ];
  for (const dir of dirs) {
    const file = path.join(dir, 'bwrap');
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

/** Paths under /tmp must be bound after the sandbox's own /tmp is mounted; parents first. */
function byDepth(a: string, b: string): number {
  return a.split(path.sep).length - b.split(path.sep).length;
}

/** The repository checkout this code runs from (dist/backend-infra/pipeline/src → root). */
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..');

/** bwrap's arguments up to and including `--`; the command follows. */
export function bwrapArgs(options: ISandboxOptions = {}): string[] {
  const args = ['--unshare-all'];
  if (options.network) {
    args.push('--share-net');
  }
  args.push(
    '--die-with-parent',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--dir',
    SANDBOX_HOME
  );
  const unique = (list: string[] = []) =>
    [...new Set(list.map(p => path.resolve(p)))].sort(byDepth);
  // A checkout under /tmp (its scanners, venvs, node_modules) would vanish
  // under the tmpfs: show it again, read-only.
  const checkout = REPO_ROOT.startsWith('/tmp/') ? [REPO_ROOT] : [];
  for (const dir of unique([...checkout, ...(options.readOnly ?? [])])) {
    args.push('--ro-bind', dir, dir);
  }
  for (const dir of unique(options.writable)) {
    args.push('--bind', dir, dir);
  }
  for (const [host, inside] of options.bindAs ?? []) {
    args.push('--bind', path.resolve(host), inside);
  }
  if (options.clearEnv) {
    args.push('--clearenv');
  }
  const env = { HOME: SANDBOX_HOME, ...(options.env ?? {}) };
  for (const [key, value] of Object.entries(env)) {
    args.push('--setenv', key, value);
  }
  if (options.chdir) {
    args.push('--chdir', options.chdir);
  }
  args.push('--');
  return args;
}
