/**
 * Dynamic: install the package as a user would and import what it installs,
 * inside the bubblewrap sandbox (no network: only its own loopback;
 * `--clearenv`; a minimal root; a throw-away home holding fake credential
 * files as bait), traced from outside with `strace -f` (the trace file is
 * outside the sandbox: the package cannot touch it), with line coverage.
 *
 * - Python (setup.py or pyproject.toml at the root): `pip wheel --no-deps
 *   --no-build-isolation --no-index` of a copy of the source with the build
 *   backends of the sandbox toolchain (`.tools/sandbox-python`, built by
 *   scripts/install-sandbox-python.sh: setuptools, wheel, hatchling,
 *   flit-core, pdm-backend, poetry-core, scikit-build-core, meson-python,
 *   maturin, coverage), `pip install` of that wheel into a target, then an
 *   import of every module it installed; coverage.py measures the install
 *   and the import phase apart (see dynamic-python.ts).
 * - npm (package.json at the root): `npm pack`, then `npm install` of the
 *   tarball into a scratch prefix (offline, scripts enabled, the
 *   dependencies removed from the copy's package.json: each is a request of
 *   its own), then every .js file it ships is loaded; NODE_V8_COVERAGE gives
 *   the executed ranges (see dynamic-npm.ts).
 * - Each of these runs on linux, then as if on Windows (`win32`) and macOS
 *   (`darwin`): the package's code sees that platform's `sys.platform`,
 *   `os.name`, `platform.system()` / `process.platform`, so platform-gated
 *   payloads show themselves; their events name the platform.
 *
 * Reported: the behaviour rules of dynamic-trace.ts (phase `install` or
 * `import`, `extra.platform`), and `dynamic/build-failed` (medium): the
 * package's own build or install failed (its setup.py raised, a lifecycle
 * script exited non-zero, its pyproject.toml is not TOML): its install-time
 * code did not run to the end, so the observation is partial, and the package
 * does not install as delivered; InfoSec can waive it. An install that failed
 * because of the sandbox (a build backend or build requirement it does not
 * carry, a missing compiler or tool, npm needing the registry) is no
 * finding: the run fails (`missing`/`crashed`), so the decision is `error`.
 * All output that reaches the report is redacted and capped (`scrub`).
 *
 * The observation (`observed.json`, beside the SARIF; see observed.ts) gives
 * every static finding its phase once all scanners are done.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Log, Result } from 'sarif';
import { SANDBOX_HOME } from '../sandbox';
import { NODE_DRIVER, NODE_IMPORTER, NODE_SITE, PLATFORM_JS, readV8Coverage } from './dynamic-npm';
import { COVERAGERC, DRIVER, IMPORTER, PY_SITE, SITECUSTOMIZE, WORK } from './dynamic-python';
import { PKG, parseTrace, scrub } from './dynamic-trace';
import type { IEvent } from './dynamic-trace';
import { emptyObservation, withObservation } from './observed';
import type { Ecosystem, IObservation, IObservedFile } from './observed';
import { LIFECYCLE_SCRIPTS } from './phase';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { makeLog, makeResult } from './sarif';

export { parseTrace, scrub } from './dynamic-trace';

const run = promisify(execFile);

/** The platforms tried, the real one first. */
export const PLATFORMS = ['linux', 'win32', 'darwin'];
/** Seconds one module's import may take. */
const MODULE_LIMIT_S = 10;
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..', '..');

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

const STRACE_CALLS =
  'trace=execve,clone,clone3,fork,vfork,connect,sendto,sendmsg,openat,open,creat';

/**
 * The sandbox's Python toolchain (a venv): REPOGUARD_SANDBOX_PYTHON, else
 * `sandbox-python` beside the scanner bin folder, else the checkout's .tools.
 */
export function sandboxPython(binDir?: string): string | null {
  const candidates = [
    process.env.REPOGUARD_SANDBOX_PYTHON,
    binDir ? path.join(binDir, '..', 'sandbox-python') : undefined,
    path.join(REPO_ROOT, '.tools', 'sandbox-python')
  ].filter((c): c is string => Boolean(c));
  for (const venv of candidates) {
    if (existsSync(path.join(venv, 'bin', 'python')) && existsSync(path.join(venv, '.pin'))) {
      return path.resolve(venv);
    }
  }
  return null;
}

/** Why an install failed, when the sandbox (not the package) caused it; null otherwise. */
export function sandboxCause(
  tail: string,
  ownTopLevels: Set<string>,
  mismatched: string[] = []
): string | null {
  const missingModule = /No module named '([\w.]+)'/.exec(tail)?.[1];
  if (missingModule && !ownTopLevels.has(missingModule.split('.')[0])) {
    return `the build needs the module ${missingModule}, which the sandbox does not carry`;
  }
  const backend = /BackendUnavailable|Cannot import '([\w.:]+)'/.exec(tail);
  if (backend) {
    return `the build backend ${backend[1] ?? ''} is not available in the sandbox`.replace(
      '  ',
      ' '
    );
  }
  const tool =
    /(?:command|unable to execute) '?([\w+.-]*(?:gcc|g\+\+|cc|clang|cmake|cargo|rustc|ninja|make|pkg-config|gfortran|meson))'?:? (?:failed|not found|No such file)/i.exec(
      tail
    ) ??
    /No such file or directory: '([\w+.-]*(?:gcc|g\+\+|cc|cmake|cargo|rustc|ninja|pkg-config|git))'/.exec(
      tail
    ) ??
    /\b(cargo|rustc|cmake|ninja|make|gcc|g\+\+|node-gyp|python2?)\b[^\n]{0,40}\b(?:not found|is not installed|was not found)/i.exec(
      tail
    ) ??
    /(can't find Rust compiler|gyp ERR! find Python)/.exec(tail);
  if (tool) return `the build needs ${tool[1]}, which the sandbox does not carry`;
  if (/ENOTCACHED|EAI_AGAIN registry|request to https?:\/\/registry/.test(tail)) {
    return 'npm needed the registry (the sandbox is offline)';
  }
  if (mismatched.length) {
    return `the sandbox's build requirements do not match: ${mismatched.join('; ')}`;
  }
  return null;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Source files of the tree by content hash (relative paths), for one set of extensions. */
async function sourcesByHash(target: string, exts: RegExp): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(target, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (e.name !== '.git' && e.name !== 'node_modules') await walk(r);
      } else if (e.isFile() && exts.test(e.name)) {
        const h = await sha256(path.join(target, r));
        out.set(h, [...(out.get(h) ?? []), r]);
      }
    }
  };
  await walk('');
  return out;
}

/** The source file an installed or measured file came from (same content; the closest path). */
function sourceOf(file: string, hash: string, byHash: Map<string, string[]>): string | null {
  const candidates = byHash.get(hash) ?? [];
  if (candidates.length <= 1) return candidates[0] ?? null;
  const parts = file.split('/');
  let best = candidates[0];
  let bestScore = -1;
  for (const c of candidates) {
    const cp2 = c.split('/');
    let score = 0;
    while (score < cp2.length && cp2[cp2.length - 1 - score] === parts[parts.length - 1 - score]) {
      score++;
    }
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

function entryOf(observation: IObservation, rel: string): IObservedFile {
  const key = path.normalize(rel);
  observation.files[key] ??= { installed: false, install: [], import: [] };
  return observation.files[key];
}

function addLines(
  observation: IObservation,
  rel: string,
  phase: 'install' | 'import',
  platform: string,
  lines: Iterable<number>
): void {
  const entry = entryOf(observation, rel);
  const list = [...lines];
  if (platform === 'linux') {
    entry[phase] = [...new Set([...entry[phase], ...list])].sort((a, b) => a - b);
    return;
  }
  entry.platformOnly ??= {};
  const only = (entry.platformOnly[platform] ??= {});
  only[phase] = [...new Set([...(only[phase] ?? []), ...list])].sort((a, b) => a - b);
}

/** Lines seen only under emulation are also lines that ran (union), listed apart per platform. */
function settle(observation: IObservation): void {
  for (const entry of Object.values(observation.files)) {
    for (const [platform, phases] of Object.entries(entry.platformOnly ?? {})) {
      for (const phase of ['install', 'import'] as const) {
        const extra = (phases[phase] ?? []).filter(l => !entry[phase].includes(l));
        if (extra.length) phases[phase] = extra;
        else delete phases[phase];
        entry[phase] = [...new Set([...entry[phase], ...extra])].sort((a, b) => a - b);
      }
      if (!phases.install && !phases.import) delete entry.platformOnly![platform];
    }
    if (entry.platformOnly && !Object.keys(entry.platformOnly).length) delete entry.platformOnly;
  }
}

interface IPythonResult {
  status: string;
  steps: { platform: string; phase: string; exit: number | null; tail: string }[];
  missing: string[];
  mismatched: string[];
  installed: Record<string, { path: string; sha256: string }[]>;
  coverage: Record<string, Record<string, { lines: number[]; sha256: string }>>;
  imports: Record<
    string,
    { modules: number; failed: { module: string; error: string }[]; complete: boolean }
  >;
  stubbed: string[];
  skipped?: string[];
}

interface INpmResult {
  status: string;
  steps: { platform: string; phase: string; exit: number | null; tail: string }[];
  installed: Record<string, { path: string }[]>;
  imports: IPythonResult['imports'];
  stubbed: string[];
  packageName?: string;
}

interface IKindRun {
  events: IEvent[];
  /** Own-code build failure (a finding), when the sandbox did not cause it. */
  buildFailure?: string;
}

function topLevels(target: string): Set<string> {
  const names = new Set<string>();
  for (const dir of [target, path.join(target, 'src')]) {
    try {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        names.add(e.name.replace(/\.py$/, ''));
      }
    } catch {
      // no such folder
    }
  }
  return names;
}

function straceArgs(strace: string, trace: string): string[] {
  return [
    strace,
    '-f',
    '-qq',
    // Stop only at the traced calls (not at every system call): several times faster.
    '--seccomp-bpf',
    // Report clone()'s child ids as host pids (the sandbox has its own
    // pid namespace), so threads map to the process that made them.
    '--pidns-translation',
    '-s',
    '256',
    '-o',
    trace,
    '-e',
    STRACE_CALLS
  ];
}

async function makeHome(home: string): Promise<void> {
  for (const [rel, content] of Object.entries(BAIT)) {
    await mkdir(path.dirname(path.join(home, rel)), { recursive: true });
    await writeFile(path.join(home, rel), content, { mode: 0o600 });
  }
}

function secondsLeft(ctx: IRunContext): number {
  return Math.max(10, Math.floor((ctx.deadline - Date.now()) / 1000) - 15);
}

async function runPython(
  ctx: IRunContext,
  work: string,
  strace: string,
  observation: IObservation,
  platforms: string[]
): Promise<IKindRun> {
  const venv = sandboxPython(ctx.binDir);
  if (!venv) {
    throw new ScannerFailure(
      'missing',
      'dynamic: the sandbox Python toolchain (.tools/sandbox-python) is not installed: run scripts/install-sandbox-python.sh'
    );
  }
  const python = path.join(venv, 'bin', 'python');
  const pkg = path.join(work, 'pkg');
  const site = path.join(work, 'site');
  const rg = path.join(work, 'rg');
  const home = path.join(work, 'home');
  const trace = path.join(work, 'trace');
  await cp(ctx.target, pkg, { recursive: true, filter: src => path.basename(src) !== '.git' });
  await makeHome(home);
  await mkdir(site, { recursive: true });
  await mkdir(rg, { recursive: true });
  await writeFile(path.join(site, 'sitecustomize.py'), SITECUSTOMIZE);
  await writeFile(path.join(site, 'driver.py'), DRIVER);
  await writeFile(path.join(site, 'importer.py'), IMPORTER);
  await writeFile(path.join(site, 'coveragerc'), COVERAGERC);
  const exit = await ctx.exec(
    python,
    [`${PY_SITE}/driver.py`, platforms.join(','), String(secondsLeft(ctx)), String(MODULE_LIMIT_S)],
    {
      isolated: true,
      prefix: straceArgs(strace, trace),
      cwd: work,
      sandbox: {
        tools: [python],
        readOnlyAs: [[site, PY_SITE]],
        bindAs: [
          [pkg, PKG],
          [home, SANDBOX_HOME],
          [rg, WORK]
        ],
        clearEnv: true,
        chdir: PKG,
        env: {
          PATH: [path.join(venv, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
          HOME: SANDBOX_HOME,
          TMPDIR: '/tmp',
          LANG: 'C.UTF-8',
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONNOUSERSITE: '1',
          PIP_NO_CACHE_DIR: '1',
          PIP_NO_INPUT: '1',
          // No git metadata in the copy: setuptools-scm / hatch-vcs take this version.
          SETUPTOOLS_SCM_PRETEND_VERSION: '0.0.0'
        }
      }
    }
  );
  let result: IPythonResult;
  try {
    result = JSON.parse(await readFile(path.join(rg, 'result.json'), 'utf8')) as IPythonResult;
  } catch {
    throw new ScannerFailure(
      'crashed',
      `dynamic: the Python install harness wrote no result (exit ${exit.code}): ${scrub(exit.stderr.trim().split('\n').slice(-3).join(' '), 300)}`,
      exit.code
    );
  }
  const events = parseTrace(
    await readFile(trace, 'utf8').catch(() => ''),
    new RegExp(`^${python.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  );
  if (result.status === 'sandbox-missing') {
    throw new ScannerFailure(
      'missing',
      `dynamic: the sandbox does not carry the build requirement(s) ${scrub(result.missing.join(', '), 200)} (see scripts/install-sandbox-python.sh)`
    );
  }
  const linux = result.steps.find(s => s.platform === 'linux');
  if (result.status === 'timeout') {
    throw new ScannerFailure('timeout', 'dynamic: the Python build did not finish in time');
  }
  let buildFailure: string | undefined;
  if (result.status !== 'ok') {
    const tail = linux?.tail ?? '';
    const cause = sandboxCause(tail, topLevels(ctx.target), result.mismatched);
    if (cause) throw new ScannerFailure('crashed', `dynamic: ${scrub(cause, 300)}`);
    buildFailure = tail;
  }
  // Map what was measured and installed back to the scanned tree.
  const byHash = await sourcesByHash(ctx.target, /\.pyw?$/);
  for (const [step, files] of Object.entries(result.coverage)) {
    const [phase, platform] = step.split('-') as ['install' | 'import', string];
    for (const [file, { lines, sha256: hash }] of Object.entries(files)) {
      const rel = file.startsWith(`${PKG}/`) ? file.slice(PKG.length + 1) : null;
      const source = rel && byHash.get(hash)?.includes(rel) ? rel : sourceOf(file, hash, byHash);
      if (source) addLines(observation, source, phase, platform, lines);
    }
  }
  for (const files of Object.values(result.installed)) {
    for (const f of files) {
      const source = sourceOf(f.path, f.sha256, byHash);
      if (source) entryOf(observation, source).installed = true;
    }
  }
  for (const [platform, imports] of Object.entries(result.imports)) {
    for (const failure of imports.failed) {
      observation.importFailures.push({
        ecosystem: 'python',
        platform,
        module: failure.module,
        error: scrub(failure.error, 300)
      });
      if (platform !== 'linux') continue;
      const installed = result.installed[platform] ?? [];
      const modPath = failure.module.split('.').join('/');
      const file = installed.find(
        f => f.path === `${modPath}.py` || f.path === `${modPath}/__init__.py`
      );
      const source = file ? sourceOf(file.path, file.sha256, byHash) : null;
      if (source) entryOf(observation, source).importError = scrub(failure.error, 300);
    }
  }
  const linuxImport = result.imports.linux;
  if (!buildFailure && linuxImport?.complete) {
    observation.ecosystems.push('python');
  } else if (!buildFailure) {
    observation.notes.push('python: the import of the installed modules did not complete');
  }
  observation.stubbed.push(...result.stubbed.map(s => `python:${s}`));
  for (const p of result.skipped ?? []) observation.notes.push(`python: ${p} not tried (time)`);
  return { events, buildFailure };
}

async function runNpm(
  ctx: IRunContext,
  work: string,
  strace: string,
  observation: IObservation,
  platforms: string[]
): Promise<IKindRun> {
  const npmBin = (
    await run('sh', ['-c', 'command -v npm'], { timeout: 10_000 }).catch(() => ({ stdout: '' }))
  ).stdout.trim();
  if (!npmBin) throw new ScannerFailure('missing', 'dynamic: npm is not installed');
  const npmCli = realpathSync(npmBin);
  const node = process.execPath;
  const pkg = path.join(work, 'pkg');
  const site = path.join(work, 'site');
  const rg = path.join(work, 'rg');
  const home = path.join(work, 'home');
  const trace = path.join(work, 'trace');
  await cp(ctx.target, pkg, { recursive: true, filter: src => path.basename(src) !== '.git' });
  await makeHome(home);
  await mkdir(site, { recursive: true });
  await mkdir(rg, { recursive: true });
  const json = JSON.parse(await readFile(path.join(pkg, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
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
  const lifecycle = LIFECYCLE_SCRIPTS.map(s => scripts[s]).filter(
    (s): s is string => typeof s === 'string'
  );
  await writeFile(path.join(pkg, 'package.json'), JSON.stringify(json, null, 2));
  await writeFile(path.join(site, 'driver.js'), NODE_DRIVER);
  await writeFile(path.join(site, 'importer.js'), NODE_IMPORTER);
  await writeFile(path.join(site, 'platform.js'), PLATFORM_JS);
  const exit = await ctx.exec(
    node,
    [`${NODE_SITE}/driver.js`, platforms.join(','), String(secondsLeft(ctx)), npmCli],
    {
      isolated: true,
      prefix: straceArgs(strace, trace),
      cwd: work,
      sandbox: {
        tools: [node, npmBin],
        readOnlyAs: [[site, NODE_SITE]],
        bindAs: [
          [pkg, PKG],
          [home, SANDBOX_HOME],
          [rg, WORK]
        ],
        clearEnv: true,
        chdir: PKG,
        env: {
          PATH: [path.dirname(node), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
          HOME: SANDBOX_HOME,
          TMPDIR: '/tmp',
          LANG: 'C.UTF-8',
          npm_config_cache: '/tmp/npm-cache',
          npm_config_update_notifier: 'false',
          npm_config_fund: 'false',
          npm_config_audit: 'false'
        }
      }
    }
  );
  let result: INpmResult;
  try {
    result = JSON.parse(await readFile(path.join(rg, 'result.json'), 'utf8')) as INpmResult;
  } catch {
    throw new ScannerFailure(
      'crashed',
      `dynamic: the npm install harness wrote no result (exit ${exit.code}): ${scrub(exit.stderr.trim().split('\n').slice(-3).join(' '), 300)}`,
      exit.code
    );
  }
  const events = parseTrace(
    await readFile(trace, 'utf8').catch(() => ''),
    new RegExp(`^${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    lifecycle
  );
  if (result.status === 'timeout') {
    throw new ScannerFailure('timeout', 'dynamic: the npm install did not finish in time');
  }
  let buildFailure: string | undefined;
  if (result.status !== 'ok') {
    const tail = result.steps.find(s => s.platform === 'linux')?.tail ?? '';
    const cause = sandboxCause(tail, new Set());
    if (cause) throw new ScannerFailure('crashed', `dynamic: ${scrub(cause, 300)}`);
    buildFailure = tail;
  }
  const name = result.packageName ?? String(json.name ?? '');
  for (const platform of platforms) {
    const inside = `${WORK}/${platform}/out/node_modules/${name}`;
    const host = path.join(rg, platform, 'out', 'node_modules', name);
    for (const phase of ['install', 'import'] as const) {
      const lines = await readV8Coverage(
        path.join(rg, 'cov', `${phase}-${platform}`),
        inside,
        host
      );
      for (const [rel, set] of lines) {
        if (existsSync(path.join(ctx.target, rel)))
          addLines(observation, rel, phase, platform, set);
      }
    }
  }
  for (const f of result.installed.linux ?? []) {
    if (existsSync(path.join(ctx.target, f.path))) entryOf(observation, f.path).installed = true;
  }
  for (const [platform, imports] of Object.entries(result.imports)) {
    for (const failure of imports.failed) {
      observation.importFailures.push({
        ecosystem: 'npm',
        platform,
        module: failure.module,
        error: scrub(failure.error, 300)
      });
      if (
        platform === 'linux' &&
        failure.module &&
        observation.files[path.normalize(failure.module)]
      ) {
        observation.files[path.normalize(failure.module)].importError = scrub(failure.error, 300);
      }
    }
  }
  if (!buildFailure && result.imports.linux?.complete) observation.ecosystems.push('npm');
  observation.stubbed.push(...result.stubbed.map(s => `npm:${s}`));
  return { events, buildFailure };
}

export interface IDynamicOptions {
  /** Platforms to try (default: linux, win32, darwin). */
  platforms?: string[];
}

export function dynamic(options: IDynamicOptions = {}): IScannerSpec {
  const platforms = options.platforms ?? PLATFORMS;
  return {
    name: 'dynamic',
    category: 'dynamic',
    async run(ctx: IRunContext): Promise<Log> {
      const isPython =
        existsSync(path.join(ctx.target, 'setup.py')) ||
        existsSync(path.join(ctx.target, 'pyproject.toml'));
      const isNpm = existsSync(path.join(ctx.target, 'package.json'));
      const results: Result[] = [];
      const observation = emptyObservation();
      observation.platforms = platforms;
      if (!isPython && !isNpm) {
        return withObservation(makeLog({ name: 'RepoGuard dynamic' }, results), observation);
      }
      const strace = await ctx.which('strace').catch(async () => {
        if (existsSync('/usr/bin/strace')) return '/usr/bin/strace';
        throw new ScannerFailure('missing', 'dynamic: strace is not installed');
      });
      const scratch = await mkdtemp(path.join(tmpdir(), 'rg-dynamic-'));
      try {
        const kinds: Ecosystem[] = [
          ...(isPython ? (['python'] as const) : []),
          ...(isNpm ? (['npm'] as const) : [])
        ];
        for (const kind of kinds) {
          const work = path.join(scratch, kind);
          await mkdir(work, { recursive: true });
          const entry =
            kind === 'npm'
              ? 'package.json'
              : existsSync(path.join(ctx.target, 'setup.py'))
                ? 'setup.py'
                : 'pyproject.toml';
          const outcome =
            kind === 'python'
              ? await runPython(ctx, work, strace, observation, platforms)
              : await runNpm(ctx, work, strace, observation, platforms);
          // One result per event; an event seen on several platforms names the first.
          const seen = new Map<string, IEvent>();
          for (const e of outcome.events) {
            const key = `${e.rule} ${e.phase} ${e.snippet}`;
            if (!seen.has(key)) seen.set(key, e);
          }
          for (const e of seen.values()) {
            const emulated = e.platform !== 'linux';
            results.push(
              makeResult({
                ruleId: e.rule,
                message: emulated ? `${e.message} (as ${e.platform})` : e.message,
                uri: path.join(ctx.target, entry),
                severity: e.severity,
                confidence: 'high',
                category: 'dynamic',
                phase: e.phase,
                snippet: e.snippet,
                extra: { installer: kind, platform: e.platform }
              })
            );
          }
          if (outcome.buildFailure !== undefined) {
            const last = outcome.buildFailure
              .trim()
              .split('\n')
              .filter(Boolean)
              .slice(-3)
              .join(' ');
            results.push(
              makeResult({
                ruleId: 'dynamic/build-failed',
                message: scrub(`${kind} build/install of the package failed: ${last}`, 400),
                uri: path.join(ctx.target, entry),
                severity: 'medium',
                confidence: 'high',
                category: 'dynamic',
                phase: 'install',
                snippet: scrub(last, 240),
                extra: { installer: kind }
              })
            );
          }
        }
      } finally {
        // REPOGUARD_DYNAMIC_KEEP=1 keeps the scratch folder (trace, harness result) to debug.
        if (process.env.REPOGUARD_DYNAMIC_KEEP !== '1') {
          await rm(scratch, { recursive: true, force: true });
        }
      }
      settle(observation);
      observation.stubbed = [...new Set(observation.stubbed)].sort();
      return withObservation(
        makeLog({ name: 'RepoGuard dynamic (bubblewrap + strace + coverage)' }, results),
        observation
      );
    }
  };
}
