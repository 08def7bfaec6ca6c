/**
 * Reading the `strace -f` log of the install sandbox into behaviour events.
 *
 * Rules (category `dynamic`, confidence high, the observed event as snippet;
 * `phase`/`platform` from the step markers the harness opens,
 * `/tmp/rg-mark/<phase>-<platform>`):
 * - `dynamic/network` (high): connect/sendto/sendmsg to an IPv4/IPv6 address;
 * - `dynamic/credential-read` (high): opening a credential-shaped path
 *   anywhere (the attempt counts, even when the file does not exist in the
 *   sandbox): `.aws/`, `.ssh/`, `.gnupg/`, `.netrc`, `.npmrc`, `.pypirc`,
 *   `.git-credentials`, docker/kube/cloud CLI configs, private-key names,
 *   `/proc/<pid>/environ`, `/etc/shadow`, `/run/secrets`, token and
 *   credential files, a `.env` outside the package; in any folder (`/root`,
 *   `/home/*`, the workspace), not only the sandbox's bait home;
 * - `dynamic/persistence` (high): writing shell start-up files, ssh
 *   authorized_keys, crontabs, autostart or systemd units;
 * - `dynamic/write-outside` (medium): any other write outside /tmp
 *   (attempts count, even when the read-only root refuses them);
 * - `dynamic/downloader` (high): running curl, wget, nc, … or an interpreter
 *   with inline code that fetches (`python -c "…urllib…"`);
 * - `dynamic/package-install` (high): package code running pip/npm/… to
 *   install something (the harness's own pip and npm are exempt);
 * - `dynamic/shell` (medium): running sh, bash, … (npm's own run of a
 *   lifecycle script declared in package.json is `dynamic/lifecycle-script`, low).
 * The harness process and npm's own processes are not held to the read and
 * write rules (npm reads ~/.npmrc and the package's .npmrc); everything they
 * start is. Everything that leaves this module is redacted (`scrub`).
 */
import path from 'node:path';
import type { Severity } from '../../../../src/common';
import { redact } from '../redact';
import { SANDBOX_HOME } from '../sandbox';
import { MARK_DIR, WORK } from './dynamic-python';

export const PKG = '/tmp/pkg';

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox']);
const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'nc',
  'ncat',
  'netcat',
  'socat',
  'telnet',
  'ftp',
  'tftp',
  'scp',
  'sftp',
  'ssh',
  'rsync',
  'aria2c',
  'powershell',
  'pwsh'
]);
const INTERPRETERS = /^(python[\d.]*|node|nodejs|perl|ruby|php)$/;
const FETCHING_CODE =
  /urllib|requests\.|http\.client|socket|fetch\(|https?:\/\/|\bhttp\.get|\bnet\.connect|LWP|Net::|open-uri/;
/** Installing packages from code: `pip install`, `python -m pip install`, `npm i`, … */
const PACKAGE_INSTALL = /(^|\s)(pip[\d.]*|-m pip|npm|yarn|pnpm|gem|cargo|go)\s+(install|i|add)\b/;

/** Credential-shaped paths, wherever they are (a segment match on the full path). */
const CREDENTIALS = [
  /(^~|\/)\.aws(\/|$)/,
  /(^~|\/)\.ssh(\/|$)/,
  /(^~|\/)\.gnupg(\/|$)/,
  /(^~|\/)\.netrc$/,
  /(^~|\/)\.npmrc$/,
  /(^~|\/)\.yarnrc(\.yml)?$/,
  /(^~|\/)\.pypirc$/,
  /(^~|\/)\.git-credentials$/,
  /(^~|\/)\.config\/git\/credentials$/,
  /(^~|\/)\.docker\/config\.json$/,
  /(^~|\/)\.kube\/config$/,
  /(^~|\/)\.config\/(gcloud|gh|hub)(\/|$)/,
  /(^~|\/)\.azure(\/|$)/,
  /(^~|\/)\.(vault-token|boto|s3cfg|pgpass|my\.cnf)$/,
  /(^~|\/)\.(terraform\.d|cargo|gem)\/credentials(\.tfrc\.json|\.toml)?$/,
  /(^~|\/)\.local\/share\/keyrings(\/|$)/,
  /\/id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/,
  /(^|\/)[^/]*(token|credential|secret)s?(\.json|\.txt|\.ya?ml)?$/i,
  /(^|\/)repoguard\.config\.json$/,
  /^\/proc\/[^/]+\/environ$/,
  /^\/etc\/(shadow|gshadow|sudoers|master\.passwd)(-|$)/,
  /^\/(var\/)?run\/secrets(\/|$)/
];
const PERSISTENCE = [
  /^~\/\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|cshrc|tcshrc|kshrc|inputrc)$/,
  /^~\/\.ssh\/authorized_keys2?$/,
  /^~\/\.config\/(autostart|systemd)\//,
  /^\/etc\/(cron|profile|bash\.bashrc|rc\.local|systemd|ld\.so\.preload)/,
  /^\/var\/spool\/cron\//
];
/** npm's own processes (exempt from the read/write rules, like the harness). */
const NPM_SELF = /(^|\/)(npm-cli|npx-cli)\.js$/;

export interface IEvent {
  rule: string;
  severity: Severity;
  message: string;
  snippet: string;
  /** The harness step the event happened in. */
  phase: 'install' | 'import';
  platform: string;
}

/** Known token shapes, URL credentials and the sandbox's bait values, masked; then the pipeline's redaction. */
export function scrub(text: string, max = 400): string {
  const out = redact(text)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(:[^/\s@]*)?@/gi, '$1***@')
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '***')
    .replace(
      /\b(xox[abposr]-[A-Za-z0-9-]{10,}|npm_[A-Za-z0-9]{30,}|pypi-[A-Za-z0-9_-]{40,})\b/g,
      '***'
    )
    .replace(/\b(glpat-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35})\b/g, '***')
    .replace(/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, '***')
    .replace(
      /((?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
      '$1***'
    )
    .replace(/repoguard-canary[\w-]*/gi, '***');
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** A path as the report shows it: the sandbox's home as `~`. */
function shown(p: string): string {
  return p === SANDBOX_HOME
    ? '~'
    : p.startsWith(`${SANDBOX_HOME}/`)
      ? `~${p.slice(SANDBOX_HOME.length)}`
      : p;
}

/** Undo strace's C-string escaping of a quoted argument. */
function unquote(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|[0-7]{1,3}|.)/gi, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[e] ?? e;
  });
}

/** Paths of the package itself and of the harness: reading them is no credential read. */
function ownPath(file: string): boolean {
  return [PKG, WORK, '/tmp/rg-site'].some(root => file === root || file.startsWith(`${root}/`));
}

/**
 * Read an `strace -f` log into behaviour events. `managerArgv0` matches the
 * executable of the harness (the first process started in the sandbox that
 * matches is exempt from the read/write rules, with what it forks without
 * exec); `lifecycle` are the package.json scripts npm is expected to run.
 */
export function parseTrace(
  trace: string,
  managerArgv0: RegExp,
  lifecycle: string[] = []
): IEvent[] {
  const events: IEvent[] = [];
  // Parent of each process (host pids; a vfork child can exec before its
  // parent's vfork() return is logged, so this is read first, in one pass).
  const parent = new Map<string, string>();
  for (const m of trace.matchAll(
    /^(\d+)\s+(?:(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) resumed>).*=\s*(\d+)(?:\s*\/\*\s*(\d+) in strace's PID NS\s*\*\/)?\s*$/gm
  )) {
    parent.set(m[3] ?? m[2], m[1]);
  }
  const execed = new Set<string>();
  const managers = new Set<string>();
  /** The harness or npm, or a thread / fork of one that has not exec'd anything else. */
  const exempt = (pid: string, depth = 0): boolean =>
    managers.has(pid) ||
    (!execed.has(pid) && depth < 64 && parent.has(pid) && exempt(parent.get(pid)!, depth + 1));
  let first = true;
  let manager: string | null = null;
  let phase: IEvent['phase'] = 'install';
  let platform = 'linux';
  const push = (e: Omit<IEvent, 'phase' | 'platform'>) =>
    events.push({
      ...e,
      message: scrub(e.message, 300),
      snippet: scrub(e.snippet, 240),
      phase,
      platform
    });
  for (const raw of trace.split('\n')) {
    const m = /^(\d+)\s+(\w+)\((.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, call, rest] = m;
    if (/^(clone|clone3|fork|vfork)$/.test(call)) continue; // read above
    const failed = /\)\s*=\s*-1\s/.test(rest);
    const step = phase === 'import' ? 'import' : 'install';
    if (call === 'execve') {
      const exe = /^"((?:[^"\\]|\\.)*)",\s*\[(.*?)\](?:,|\.\.\.)/.exec(rest);
      if (!exe) continue;
      const file = unquote(exe[1]);
      const argv = [...exe[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(a => unquote(a[1]));
      if (failed) {
        // Under Windows emulation node runs commands through cmd.exe, absent here: the attempt shows what ran.
        const shell = /^(cmd|powershell|pwsh)(\.exe)?$/i.exec(path.basename(file));
        if (shell && !exempt(pid)) {
          const cmd = argv.join(' ').slice(0, 400);
          push({
            rule: 'dynamic/shell',
            severity: 'medium',
            message: `${step} spawned a shell (${shell[0]})`,
            snippet: cmd
          });
          if (PACKAGE_INSTALL.test(cmd)) {
            push({
              rule: 'dynamic/package-install',
              severity: 'high',
              message: `${step} ran a package installer (${shell[0]})`,
              snippet: cmd
            });
          }
          if ([...DOWNLOADERS].some(d => new RegExp(`(^|[\\s"'])${d}(\\.exe)?\\s`).test(cmd))) {
            push({
              rule: 'dynamic/downloader',
              severity: 'high',
              message: `${step} ran a downloader / remote tool through ${shell[0]}`,
              snippet: cmd
            });
          }
        }
        continue;
      }
      // Started by the harness itself (pip wheel, pip install, the importer, npm): its own steps.
      const byHarness =
        manager !== null &&
        parent.get(pid) === manager &&
        ((argv[1] === '-m' && argv[2] === 'pip') || argv.some(a => a.startsWith('/tmp/rg-site/')));
      execed.add(pid);
      if (first) {
        first = false; // bwrap itself
        continue;
      }
      if (manager === null && managerArgv0.test(file)) {
        manager = pid;
        managers.add(pid);
        continue;
      }
      if (INTERPRETERS.test(path.basename(file)) && argv.some(a => NPM_SELF.test(a))) {
        managers.add(pid); // npm itself (pack, install)
        continue;
      }
      if (byHarness) continue;
      const name = path.basename(file);
      const cmd = argv.join(' ').slice(0, 400);
      if (SHELLS.has(name)) {
        const script = argv[argv.indexOf('-c') + 1];
        if (argv.includes('-c') && lifecycle.includes(script ?? '')) {
          push({
            rule: 'dynamic/lifecycle-script',
            severity: 'low',
            message: `npm ran a lifecycle script: ${script.slice(0, 120)}`,
            snippet: cmd
          });
          continue;
        }
        push({
          rule: 'dynamic/shell',
          severity: 'medium',
          message: `${step} spawned a shell (${name})`,
          snippet: cmd
        });
      } else if (DOWNLOADERS.has(name)) {
        push({
          rule: 'dynamic/downloader',
          severity: 'high',
          message: `${step} ran a downloader / remote tool (${name})`,
          snippet: cmd
        });
      } else if (
        INTERPRETERS.test(name) &&
        argv.some((a, i) => (a === '-c' || a === '-e') && FETCHING_CODE.test(argv[i + 1] ?? ''))
      ) {
        push({
          rule: 'dynamic/downloader',
          severity: 'high',
          message: `${step} ran inline ${name} code that fetches`,
          snippet: cmd
        });
      }
      if (PACKAGE_INSTALL.test(argv.join(' '))) {
        push({
          rule: 'dynamic/package-install',
          severity: 'high',
          message: `${step} ran a package installer (${name})`,
          snippet: cmd
        });
      }
      continue;
    }
    if (manager === null) {
      continue; // bwrap setting the sandbox up
    }
    if (call === 'connect' || call === 'sendto' || call === 'sendmsg') {
      if (!/sa_family=AF_INET6?\b/.test(rest)) continue;
      const port = /htons\((\d+)\)/.exec(rest)?.[1] ?? '?';
      const addr = /inet_(?:addr|pton)\((?:AF_INET6?,\s*)?"([^"]+)"/.exec(rest)?.[1] ?? '?';
      const result = /=\s*(-?\d+)(\s+\w+)?/.exec(rest.slice(rest.lastIndexOf(')')));
      push({
        rule: 'dynamic/network',
        severity: 'high',
        message: `${step} tried to reach ${addr}:${port}`,
        snippet: `${call} ${addr}:${port}${result?.[2] ? ` (${result[2].trim()})` : ''}`
      });
      continue;
    }
    if (call === 'openat' || call === 'open' || call === 'creat') {
      const f = /"((?:[^"\\]|\\.)*)"(?:,\s*([A-Z_|]+))?/.exec(rest);
      if (!f) continue;
      // Relative paths are taken from the install's working folder (a chdir is not followed).
      const opened = unquote(f[1]);
      const absolute = opened.startsWith('/') ? opened : path.posix.join(PKG, opened);
      if (absolute.startsWith(`${MARK_DIR}/`)) {
        const [p, plat] = path.posix.basename(absolute).split('-');
        phase = p === 'import' ? 'import' : 'install';
        platform = plat ?? 'linux';
        continue;
      }
      const file = shown(absolute);
      const flags = call === 'creat' ? 'O_CREAT|O_WRONLY' : (f[2] ?? '');
      if (exempt(pid)) continue;
      const write = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(flags);
      if (!write) {
        const base = path.basename(file);
        const dotenv = base === '.env' || base.startsWith('.env.');
        if (!ownPath(absolute) && (CREDENTIALS.some(r => r.test(file)) || dotenv)) {
          push({
            rule: 'dynamic/credential-read',
            severity: 'high',
            message: `${step} read a credential file ${file}`,
            snippet: `open ${file} ${flags}${failed ? ' (not there)' : ''}`
          });
        }
        continue;
      }
      if (PERSISTENCE.some(r => r.test(file))) {
        push({
          rule: 'dynamic/persistence',
          severity: 'high',
          message: `${step} wrote a start-up / persistence file ${file}`,
          snippet: `open ${file} ${flags}`
        });
      } else if (file.startsWith('~') || !/^\/(tmp|dev|proc\/self)(\/|$)/.test(file)) {
        if (/\/__pycache__\/|\.pyc$/.test(file)) continue;
        push({
          rule: 'dynamic/write-outside',
          severity: 'medium',
          message: `${step} wrote outside its target: ${file}`,
          snippet: `open ${file} ${flags}${failed ? ' (refused)' : ''}`
        });
      }
    }
  }
  return events;
}
