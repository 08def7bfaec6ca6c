/**
 * Dynamic: install the package with its install-time code enabled, inside
 * the bubblewrap sandbox (no network: only loopback; `--clearenv`, so no
 * AWS_* or token variables; a throw-away home holding fake credential files
 * as bait; the root file system read-only), traced from outside with
 * `strace -f` (the trace file is outside the sandbox: the package cannot
 * touch it).
 *
 * - Python (setup.py or pyproject.toml at the root):
 *   `python3 -m pip install --no-build-isolation --no-deps --no-index --target /tmp/out /tmp/pkg`
 *   (the source is copied to a scratch folder, mounted at /tmp/pkg).
 * - npm (package.json at the root): `npm install --offline --ignore-scripts=false`
 *   in the copy, its dependencies removed from the copy's package.json (they
 *   are not fetched: each dependency is a request of its own), so that the
 *   root package's preinstall/install/postinstall/prepare scripts run.
 *
 * Reported (category `dynamic`, phase `install`, confidence high, the
 * observed event as the snippet):
 * - `dynamic/network` (high): connect/sendto to any IPv4/IPv6 address
 *   (unix sockets are not reported);
 * - `dynamic/credential-read` (high): opening ~/.aws, ~/.ssh, ~/.netrc,
 *   ~/.npmrc, ~/.pypirc, ~/.git-credentials, ~/.docker/config.json,
 *   ~/.kube/config, cloud CLI folders, /proc/<pid>/environ, /etc/shadow, or
 *   a `.env` file outside the package;
 * - `dynamic/persistence` (high): writing shell start-up files, ssh
 *   authorized_keys, crontabs, autostart or systemd units;
 * - `dynamic/write-outside` (medium): any other write outside the install
 *   target and /tmp (attempts count, even when the read-only root refuses them);
 * - `dynamic/downloader` (high): running curl, wget, nc, socat, ssh, … or an
 *   interpreter with inline code that fetches (`python -c "…urllib…"`);
 * - `dynamic/shell` (medium): running sh, bash, dash, … (npm's own run of a
 *   lifecycle script declared in package.json is `dynamic/lifecycle-script`, low);
 * - `dynamic/install-failed` (info): the install did not complete.
 * The package manager's own process (pip, npm) is not held to the read and
 * write rules (npm reads ~/.npmrc); everything it starts is.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Log, Result } from 'sarif';
import type { Severity } from '../../../../src/common';
import { SANDBOX_HOME } from '../sandbox';
import { LIFECYCLE_SCRIPTS } from './phase';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { makeLog, makeResult } from './sarif';

const run = promisify(execFile);

const PKG = '/tmp/pkg';
const OUT = '/tmp/out';
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
const CREDENTIALS = [
  /^~\/\.aws(\/|$)/,
  /^~\/\.ssh(\/|$)/,
  /^~\/\.netrc$/,
  /^~\/\.npmrc$/,
  /^~\/\.pypirc$/,
  /^~\/\.git-credentials$/,
  /^~\/\.docker\/config\.json$/,
  /^~\/\.kube\/config$/,
  /^~\/\.config\/(gcloud|gh|hub)(\/|$)/,
  /^~\/\.azure(\/|$)/,
  /^\/proc\/[^/]+\/environ$/,
  /^\/etc\/(shadow|gshadow|sudoers)$/
];
const PERSISTENCE = [
  /^~\/\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|cshrc|tcshrc|kshrc|inputrc)$/,
  /^~\/\.ssh\/authorized_keys2?$/,
  /^~\/\.config\/(autostart|systemd)\//,
  /^\/etc\/(cron|profile|bash\.bashrc|rc\.local|systemd|ld\.so\.preload)/,
  /^\/var\/spool\/cron\//
];

/** Fake credentials planted in the throw-away home (bait: no real key shape). */
const BAIT: Record<string, string> = {
  '.aws/credentials':
    '[default]\naws_access_key_id = REPOGUARD-CANARY-ID\naws_secret_access_key = repoguard-canary-secret\n',
  '.aws/config': '[default]\nregion = us-east-1\n',
  '.ssh/id_rsa': '-----BEGIN REPOGUARD CANARY-----\nnot a key\n-----END REPOGUARD CANARY-----\n',
  '.netrc': 'machine example.invalid login canary password repoguard-canary\n',
  '.pypirc': '[pypi]\nusername = __token__\npassword = repoguard-canary\n',
  '.git-credentials': 'https://canary:repoguard-canary@example.invalid\n',
  '.bashrc': '# throw-away home of the RepoGuard install sandbox\n'
};

interface IEvent {
  rule: string;
  severity: Severity;
  message: string;
  snippet: string;
}

let pythonCache: string | null = null;

/** The real interpreter behind `python3` (pyenv shims need variables --clearenv drops). */
async function python(): Promise<string> {
  if (process.env.REPOGUARD_DYNAMIC_PYTHON) return process.env.REPOGUARD_DYNAMIC_PYTHON;
  if (!pythonCache) {
    const { stdout } = await run('python3', ['-c', 'import sys; print(sys.executable)'], {
      timeout: 20_000
    });
    pythonCache = stdout.trim();
  }
  return pythonCache;
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

/**
 * Read an `strace -f` log into behaviour events. `managerExe` is the path of
 * the package manager's executable (its own process and threads are exempt
 * from the read/write rules); `lifecycle` are the package.json scripts npm is
 * expected to run.
 */
export function parseTrace(
  trace: string,
  managerArgv0: RegExp,
  lifecycle: string[] = []
): IEvent[] {
  const events: IEvent[] = [];
  const owner = new Map<string, string>();
  let manager: string | null = null;
  let first = true;
  for (const raw of trace.split('\n')) {
    const m = /^(\d+)\s+(\w+)\((.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, call, rest] = m;
    if (/^(clone|clone3|fork|vfork)$/.test(call)) {
      // `= 3 /* 20064 in strace's PID NS */` with --pidns-translation: the host pid counts.
      const child = /=\s*(\d+)(?:\s*\/\*\s*(\d+) in strace's PID NS\s*\*\/)?\s*$/.exec(rest);
      if (child) owner.set(child[2] ?? child[1], owner.get(pid) ?? pid);
      continue;
    }
    const failed = /\)\s*=\s*-1\s/.test(rest);
    if (call === 'execve') {
      const exe = /^"((?:[^"\\]|\\.)*)",\s*\[(.*?)\](?:,|\.\.\.)/.exec(rest);
      if (!exe || failed) continue;
      const file = unquote(exe[1]);
      const argv = [...exe[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(a => unquote(a[1]));
      owner.set(pid, pid);
      if (first) {
        first = false; // bwrap itself
        continue;
      }
      if (manager === null && managerArgv0.test(file)) {
        manager = pid;
        continue;
      }
      const name = path.basename(file);
      const cmd = argv.join(' ').slice(0, 200);
      if (SHELLS.has(name)) {
        const script = argv[argv.indexOf('-c') + 1];
        if (argv.includes('-c') && lifecycle.includes(script ?? '')) {
          events.push({
            rule: 'dynamic/lifecycle-script',
            severity: 'low',
            message: `npm ran a lifecycle script: ${script.slice(0, 120)}`,
            snippet: cmd
          });
        } else {
          events.push({
            rule: 'dynamic/shell',
            severity: 'medium',
            message: `install spawned a shell (${name})`,
            snippet: cmd
          });
        }
      } else if (DOWNLOADERS.has(name)) {
        events.push({
          rule: 'dynamic/downloader',
          severity: 'high',
          message: `install ran a downloader / remote tool (${name})`,
          snippet: cmd
        });
      } else if (
        INTERPRETERS.test(name) &&
        argv.some((a, i) => (a === '-c' || a === '-e') && FETCHING_CODE.test(argv[i + 1] ?? ''))
      ) {
        events.push({
          rule: 'dynamic/downloader',
          severity: 'high',
          message: `install ran inline ${name} code that fetches`,
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
      events.push({
        rule: 'dynamic/network',
        severity: 'high',
        message: `install tried to reach ${addr}:${port}`,
        snippet: `${call} ${addr}:${port}${result?.[2] ? ` (${result[2].trim()})` : ''}`
      });
      continue;
    }
    if (call === 'openat' || call === 'open' || call === 'creat') {
      const f = /"((?:[^"\\]|\\.)*)"(?:,\s*([A-Z_|]+))?/.exec(rest);
      if (!f) continue;
      // Relative paths are taken from the install's working folder (a chdir is not followed).
      const opened = unquote(f[1]);
      const file = shown(opened.startsWith('/') ? opened : path.posix.join(PKG, opened));
      const flags = call === 'creat' ? 'O_CREAT|O_WRONLY' : (f[2] ?? '');
      if (owner.get(pid) === manager) continue;
      const write = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(flags);
      if (!write) {
        const base = path.basename(file);
        const dotenv = (base === '.env' || base.startsWith('.env.')) && !file.startsWith(`${PKG}/`);
        if (CREDENTIALS.some(r => r.test(file)) || dotenv) {
          events.push({
            rule: 'dynamic/credential-read',
            severity: 'high',
            message: `install read a credential file ${file}`,
            snippet: `open ${file} ${flags}`
          });
        }
        continue;
      }
      if (PERSISTENCE.some(r => r.test(file))) {
        events.push({
          rule: 'dynamic/persistence',
          severity: 'high',
          message: `install wrote a start-up / persistence file ${file}`,
          snippet: `open ${file} ${flags}`
        });
      } else if (file.startsWith('~') || !/^\/(tmp|dev|proc\/self)(\/|$)/.test(file)) {
        if (/\/__pycache__\/|\.pyc$/.test(file)) continue;
        events.push({
          rule: 'dynamic/write-outside',
          severity: 'medium',
          message: `install wrote outside its target: ${file}`,
          snippet: `open ${file} ${flags}${failed ? ' (refused)' : ''}`
        });
      }
    }
  }
  return events;
}

async function copySource(target: string, dest: string): Promise<void> {
  await cp(target, dest, { recursive: true, filter: src => path.basename(src) !== '.git' });
}

async function makeHome(home: string): Promise<void> {
  for (const [rel, content] of Object.entries(BAIT)) {
    await mkdir(path.dirname(path.join(home, rel)), { recursive: true });
    await writeFile(path.join(home, rel), content, { mode: 0o600 });
  }
}

export function dynamic(): IScannerSpec {
  return {
    name: 'dynamic',
    category: 'dynamic',
    async run(ctx: IRunContext): Promise<Log> {
      const isPython =
        existsSync(path.join(ctx.target, 'setup.py')) ||
        existsSync(path.join(ctx.target, 'pyproject.toml'));
      const isNpm = existsSync(path.join(ctx.target, 'package.json'));
      const results: Result[] = [];
      if (!isPython && !isNpm) {
        return makeLog({ name: 'RepoGuard dynamic' }, results);
      }
      const strace = await ctx.which('strace').catch(async () => {
        if (existsSync('/usr/bin/strace')) return '/usr/bin/strace';
        throw new ScannerFailure('missing', 'dynamic: strace is not installed');
      });
      const scratch = await mkdtemp(path.join(tmpdir(), 'rg-dynamic-'));
      try {
        const kinds: ('python' | 'npm')[] = [
          ...(isPython ? (['python'] as const) : []),
          ...(isNpm ? (['npm'] as const) : [])
        ];
        for (const kind of kinds) {
          const work = path.join(scratch, kind);
          const pkg = path.join(work, 'pkg');
          const home = path.join(work, 'home');
          const out = path.join(work, 'out');
          const trace = path.join(scratch, `${kind}.trace`);
          await copySource(ctx.target, pkg);
          await makeHome(home);
          await mkdir(out, { recursive: true });
          let file: string;
          let args: string[];
          let manager: RegExp;
          let lifecycle: string[] = [];
          let entry: string;
          if (kind === 'python') {
            file = await python();
            args = [
              '-m',
              'pip',
              'install',
              '--no-build-isolation',
              '--no-deps',
              '--no-index',
              '--no-cache-dir',
              '--disable-pip-version-check',
              '--target',
              OUT,
              PKG
            ];
            manager = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
            entry = existsSync(path.join(ctx.target, 'setup.py')) ? 'setup.py' : 'pyproject.toml';
          } else {
            file = (
              await run('sh', ['-c', 'command -v npm'], { timeout: 10_000 }).catch(() => ({
                stdout: ''
              }))
            ).stdout.trim();
            if (!file) throw new ScannerFailure('missing', 'dynamic: npm is not installed');
            const json = JSON.parse(
              await readFile(path.join(pkg, 'package.json'), 'utf8')
            ) as Record<string, unknown>;
            for (const key of [
              'dependencies',
              'devDependencies',
              'optionalDependencies',
              'peerDependencies',
              'bundleDependencies',
              'bundledDependencies'
            ]) {
              delete json[key];
            }
            const scripts = (json.scripts ?? {}) as Record<string, unknown>;
            lifecycle = LIFECYCLE_SCRIPTS.map(s => scripts[s]).filter(
              (s): s is string => typeof s === 'string'
            );
            await writeFile(path.join(pkg, 'package.json'), JSON.stringify(json, null, 2));
            args = [
              'install',
              '--offline',
              '--ignore-scripts=false',
              '--no-audit',
              '--no-fund',
              '--no-package-lock',
              '--foreground-scripts'
            ];
            manager = /(^|\/)(node|nodejs|npm|npm-cli\.js)$/;
            entry = 'package.json';
          }
          const node = process.execPath;
          const exit = await ctx.exec(file, args, {
            isolated: true,
            prefix: [
              strace,
              '-f',
              '-qq',
              // Report clone()'s child ids as host pids (the sandbox has its own
              // pid namespace), so threads map to the process that made them.
              '--pidns-translation',
              '-s',
              '256',
              '-o',
              trace,
              '-e',
              'trace=execve,clone,clone3,fork,vfork,connect,sendto,sendmsg,openat,open,creat'
            ],
            cwd: work,
            sandbox: {
              readOnly: [path.dirname(node)],
              bindAs: [
                [pkg, PKG],
                [home, SANDBOX_HOME],
                [out, OUT]
              ],
              clearEnv: true,
              chdir: PKG,
              env: {
                PATH: [
                  path.dirname(file),
                  path.dirname(node),
                  '/usr/local/bin',
                  '/usr/bin',
                  '/bin'
                ].join(':'),
                HOME: SANDBOX_HOME,
                TMPDIR: '/tmp',
                LANG: 'C.UTF-8',
                PYTHONDONTWRITEBYTECODE: '1',
                PIP_NO_CACHE_DIR: '1',
                npm_config_cache: '/tmp/npm-cache',
                npm_config_update_notifier: 'false',
                npm_config_prefix: OUT
              }
            }
          });
          const text = await readFile(trace, 'utf8').catch(() => '');
          const seen = new Set<string>();
          for (const e of parseTrace(text, manager, lifecycle)) {
            const key = `${e.rule} ${e.snippet}`;
            if (seen.has(key)) continue;
            seen.add(key);
            results.push(
              makeResult({
                ruleId: e.rule,
                message: e.message,
                uri: path.join(ctx.target, entry),
                severity: e.severity,
                confidence: 'high',
                category: 'dynamic',
                phase: 'install',
                snippet: e.snippet,
                extra: { installer: kind }
              })
            );
          }
          if (exit.code !== 0) {
            const why = exit.stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
            results.push(
              makeResult({
                ruleId: 'dynamic/install-failed',
                message: `${kind} install did not complete (exit ${exit.code}): ${why.slice(0, 200)}`,
                uri: path.join(ctx.target, entry),
                severity: 'info',
                confidence: 'high',
                category: 'dynamic',
                phase: 'install',
                extra: { installer: kind }
              })
            );
          }
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      return makeLog({ name: 'RepoGuard dynamic (bubblewrap + strace)' }, results);
    }
  };
}
