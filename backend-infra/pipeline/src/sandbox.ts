/**
 * The network-less sandbox every scanner runs in: bubblewrap (`bwrap`) with
 * all namespaces unshared (no network at all: only the sandbox's own
 * loopback interface, so not even DNS leaves the machine, and no host
 * listener on 127.0.0.1 is reachable), no capabilities, and a minimal root
 * built from nothing:
 *
 * - the system toolchain read-only: `/usr` and the `/bin`, `/sbin`, `/lib*`
 *   links (or folders) as the host has them; a small `/etc` subset
 *   (`ETC_ENTRIES`: the loader cache, CA certificates, nsswitch, time zone,
 *   alternatives, …) plus a generated `passwd`, `group` and `hosts`;
 * - each executable it is asked to run (`tools`) with what that needs, found
 *   by real path wherever it lives (`/tmp` included): a venv and its base
 *   Python, a prefix install (pyenv, nvm: `bin/` beside `lib/`), an npm
 *   package's folder, a script's interpreter (`#!`, `#!/usr/bin/env x`)
 *   (see `toolchainPaths`);
 * - a fresh `/dev`, `/proc` (own pid namespace), an empty `/tmp` and a
 *   throw-away home (`/tmp/home`);
 * - only the folders named in `ISandboxOptions` bound in (read-only, or
 *   writable for outputs), at their host path (or another path for `…As`).
 *
 * Nothing else of the host exists inside: no `/root`, `/home`, `/run`,
 * `/var`, `/srv`, `/opt`, `/mnt`, no workspace, no other request's clone or
 * scanner output, and so no Unix socket on the host file system. The root
 * itself is read-only; `/tmp` and the writable binds are the only writable
 * places. Binding `/`, `/tmp`, a home or `/run` as a whole is refused.
 *
 * Debian's bwrap is not setuid: it needs kernel user namespaces (or root).
 * In a container (CodeBuild) that means a privileged build. A missing bwrap
 * fails the scan closed (the scanner reads as `missing`).
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { access, constants, lstat, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
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
  /**
   * Executables that will run inside (added): each one's toolchain is bound
   * read-only, found from its real path (`toolchainPaths`). `ctx.exec` adds
   * the file it runs by itself; name here what that file starts by name
   * (e.g. an interpreter it looks up on PATH).
   */
  tools?: string[];
  /** Host folders (or files) bound read-only at another path inside: [host, inside] (added). */
  readOnlyAs?: [string, string][];
  /**
   * Data folders of the pipeline's own (an advisory database, rules) bound
   * read-only together with the targets of the links inside them, so that a
   * folder assembled from links works (added). Never a scanned tree: its
   * links would bring host files in (`readOnly` binds links as links).
   */
  readOnlyData?: string[];
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

/** The system folders of the minimal root (bound read-only, or recreated as the host's links). */
const SYSTEM_ROOTS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** What of /etc the tools need (each only if the host has it; links recreated as links). */
export const ETC_ENTRIES = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'ssl/certs',
  'ssl/openssl.cnf',
  'ca-certificates.conf',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'localtime',
  'timezone',
  'os-release',
  'mime.types',
  'magic',
  'magic.mime',
  'protocols',
  'services',
  'mtab'
];

/** Paths that are never bound whole: they would bring the host back. */
const NEVER_WHOLE = new Set(['/', '/tmp', '/root', '/home', '/run', '/var', '/var/run', '/etc']);

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

function isSystem(p: string): boolean {
  return SYSTEM_ROOTS.some(root => inside(root, p));
}

/** Too broad to bind for a tool's install (a home, a top-level folder, /tmp itself). */
function tooBroad(dir: string): boolean {
  return (
    dir.split('/').filter(Boolean).length < 2 ||
    NEVER_WHOLE.has(dir) ||
    dir === homedir() ||
    /^\/home\/[^/]+$/.test(dir)
  );
}

/** A script's `#!` line as [interpreter, ...args], or null for a binary / unreadable file. */
function shebang(file: string): string[] | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(256);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, n).toString('latin1');
    if (!head.startsWith('#!')) return null;
    const words = head.slice(2).split('\n')[0].trim().split(/\s+/).filter(Boolean);
    return words.length ? words : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function lookup(name: string, searchPath: string): string | null {
  if (name.includes('/')) return name;
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * The host paths an executable needs to run, to bind read-only: the folder
 * it is found in (its siblings on PATH) and, from its real path, its install
 * (a venv: the venv and the base Python of its `pyvenv.cfg`; a prefix
 * install: `bin/` beside `lib/`; an npm package's bin script: the package;
 * else the file alone), recursively for a script's interpreter (`#!`, or the
 * command after `#!/usr/bin/env`, looked up on `searchPath`). System paths
 * (`/usr`, …) are part of every sandbox and not listed.
 */
export function toolchainPaths(file: string, searchPath = process.env.PATH ?? ''): string[] {
  const binds = new Set<string>();
  const seen = new Set<string>();
  const add = (p: string) => {
    if (!isSystem(p)) binds.add(p);
  };
  const prefixOf = (bin: string): string | null => {
    const root = path.dirname(bin);
    return path.basename(bin) === 'bin' && !tooBroad(root) && existsSync(path.join(root, 'lib'))
      ? root
      : null;
  };
  const venv = (root: string): boolean => {
    const cfg = path.join(root, 'pyvenv.cfg');
    if (tooBroad(root) || !existsSync(cfg)) return false;
    add(root);
    const home = /^\s*home\s*=\s*(.+?)\s*$/m.exec(readFileSync(cfg, 'utf8'))?.[1];
    if (home) {
      try {
        const base = prefixOf(realpathSync(home));
        if (base) add(base);
      } catch {
        // a venv whose base Python is gone fails on its own
      }
    }
    return true;
  };
  const visit = (exe: string, depth: number): void => {
    let real: string;
    try {
      real = realpathSync(exe);
    } catch {
      return;
    }
    if (depth > 4 || seen.has(real)) return;
    seen.add(real);
    const bin = path.dirname(real);
    const root = path.dirname(bin);
    // A venv's python is a link to its base Python: the venv is where the link sits.
    venv(path.dirname(path.dirname(path.resolve(exe))));
    if (!isSystem(real)) {
      if (venv(root)) {
        // bound with its base Python
      } else if (!tooBroad(root) && existsSync(path.join(root, 'package.json'))) {
        add(root);
      } else {
        add(prefixOf(bin) ?? real);
      }
    }
    const interpreter = shebang(real);
    if (interpreter) {
      const [command, ...rest] = interpreter;
      const name = path.basename(command) === 'env' ? rest.find(a => !a.startsWith('-')) : command;
      const found = name ? lookup(name, searchPath) : null;
      if (found) visit(found, depth + 1);
    }
  };
  const given = path.resolve(file);
  const dir = path.dirname(given);
  add(tooBroad(dir) ? given : dir);
  visit(given, 0);
  const all = [...binds];
  return all.filter(p => !all.some(q => q !== p && inside(q, p)));
}

let etcDir: string | null = null;

/** passwd, group and hosts of the sandbox (one small folder per process, removed at exit). */
function generatedEtc(): string {
  if (etcDir && existsSync(etcDir)) return etcDir;
  const dir = mkdtempSync(path.join(tmpdir(), 'rg-sandbox-etc-'));
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const user = uid === 0 ? 'root' : 'repoguard';
  const group = gid === 0 ? 'root' : 'repoguard';
  writeFileSync(
    path.join(dir, 'passwd'),
    `${user}:x:${uid}:${gid}:sandbox:${SANDBOX_HOME}:/bin/sh\n` +
      (uid === 65534 ? '' : `nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`)
  );
  writeFileSync(
    path.join(dir, 'group'),
    `${group}:x:${gid}:\n` + (gid === 65534 ? '' : 'nogroup:x:65534:\n')
  );
  writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  etcDir = dir;
  return dir;
}

/** A host entry at the same path: a link as the same link, else a read-only bind. */
function mirror(entry: string): string[] {
  try {
    const stat = lstatSync(entry);
    return stat.isSymbolicLink()
      ? ['--symlink', readlinkSync(entry), entry]
      : ['--ro-bind', entry, entry];
  } catch {
    return [];
  }
}

/**
 * The links under a data folder (not followed into; at most `limit`
 * entries): [real host path, the absolute path the link names].
 */
export function linkTargets(dir: string, limit = 10_000): [string, string][] {
  const out: [string, string][] = [];
  let budget = limit;
  const walk = (d: string, level: number): void => {
    if (level > 8) return;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (--budget < 0) return;
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        walk(full, level + 1);
      } else if (e.isSymbolicLink()) {
        try {
          out.push([realpathSync(full), path.resolve(d, readlinkSync(full))]);
        } catch {
          // dangling: it stays dangling inside
        }
      }
    }
  };
  walk(path.resolve(dir), 0);
  return out;
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

function checked(p: string, what: string): string {
  const resolved = path.resolve(p);
  if (NEVER_WHOLE.has(resolved) || resolved === homedir()) {
    throw new Error(`sandbox: refusing to bind ${what} ${resolved} whole`);
  }
  return resolved;
}

/** bwrap's arguments up to and including `--`; the command follows. */
export function bwrapArgs(options: ISandboxOptions = {}): string[] {
  const args = ['--unshare-all'];
  if (options.network) {
    args.push('--share-net');
  }
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--hostname', 'sandbox');
  for (const root of SYSTEM_ROOTS) {
    args.push(...mirror(root));
  }
  for (const entry of ETC_ENTRIES) {
    args.push(...mirror(path.join('/etc', entry)));
  }
  const etc = generatedEtc();
  args.push(
    '--ro-bind',
    path.join(etc, 'passwd'),
    '/etc/passwd',
    '--ro-bind',
    path.join(etc, 'group'),
    '/etc/group'
  );
  if (options.network) {
    // Name resolution for the explicit online mode (the host's files, links followed).
    args.push('--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf');
    args.push('--ro-bind-try', '/etc/hosts', '/etc/hosts');
  } else {
    args.push('--ro-bind', path.join(etc, 'hosts'), '/etc/hosts');
  }
  args.push(
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--dir',
    SANDBOX_HOME,
    '--symlink',
    '/tmp',
    '/var/tmp'
  );
  // All binds by depth (parents first, so a child stays visible); at one
  // path a read-only bind comes last and wins.
  const binds: { kind: 0 | 1; host: string; at: string }[] = [];
  const searchPath = options.env?.PATH ?? process.env.PATH ?? '';
  for (const tool of options.tools ?? []) {
    for (const p of toolchainPaths(tool, searchPath)) binds.push({ kind: 1, host: p, at: p });
  }
  for (const p of options.readOnly ?? []) {
    const host = checked(p, 'read-only');
    binds.push({ kind: 1, host, at: host });
  }
  for (const p of options.readOnlyData ?? []) {
    const host = checked(p, 'read-only');
    let real = host;
    try {
      real = realpathSync(host);
    } catch {
      // bwrap names the missing path
    }
    binds.push({ kind: 1, host: real, at: host });
    if (real !== host) binds.push({ kind: 1, host: real, at: real });
    for (const [target, named] of linkTargets(real)) {
      for (const at of new Set([named, target])) {
        if (!isSystem(at) && !inside(real, at)) {
          binds.push({ kind: 1, host: checked(target, 'read-only'), at });
        }
      }
    }
  }
  for (const [host, at] of options.readOnlyAs ?? []) {
    binds.push({ kind: 1, host: checked(host, 'read-only'), at });
  }
  for (const p of options.writable ?? []) {
    const host = checked(p, 'writable');
    binds.push({ kind: 0, host, at: host });
  }
  for (const [host, at] of options.bindAs ?? []) {
    binds.push({ kind: 0, host: checked(host, 'writable'), at });
  }
  const seen = new Set<string>();
  const ordered = binds
    .filter(b => !(b.kind === 1 && b.host === b.at && isSystem(b.host)))
    .map((b, i) => ({ ...b, i }))
    .sort((a, b) => depth(a.at) - depth(b.at) || a.kind - b.kind || a.i - b.i)
    .filter(b => {
      const key = `${b.kind} ${b.host} ${b.at}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  for (const b of ordered) {
    args.push(b.kind === 1 ? '--ro-bind' : '--bind', b.host, b.at);
  }
  // The root's own folders (mount points) are read-only too.
  args.push('--remount-ro', '/');
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

/** The non-regular entries (links, fifos, sockets, devices) under a folder, as `path inode`. */
export async function specialEntries(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  const walk = async (d: string, level: number): Promise<void> => {
    if (level > 32) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        await walk(full, level + 1);
      } else if (!e.isFile()) {
        try {
          found.add(`${full}\0${(await lstat(full)).ino}`);
        } catch {
          // gone
        }
      }
    }
  };
  await walk(dir, 0);
  return found;
}

/**
 * After a sandboxed process is gone: remove every link, fifo, socket or
 * device it left in a folder it could write (any not in `before`), so that
 * reading its outputs can neither follow a link to a host file nor block on
 * a fifo. Returns the removed paths.
 */
export async function removeNewSpecialEntries(dir: string, before: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const key of await specialEntries(dir)) {
    if (before.has(key)) continue;
    const file = key.split('\0')[0];
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}
