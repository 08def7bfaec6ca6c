/**
 * The dynamic scanner's two installers, each one sandbox run of its harness
 * under strace: Python (dynamic-python.ts: wheel build, install, import of
 * every module, coverage per phase and platform) and npm (dynamic-npm.ts:
 * pack, tarball install, load of every .js file, V8 coverage). Each returns
 * the behaviour events and, when the package's own build failed, its output;
 * a failure the sandbox caused throws (the run fails closed).
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_HOME } from '../sandbox';
import { BUILD_REQS_DIR, supplyBuildRequirements } from './dynamic-buildreqs';
import { NODE_DRIVER, NODE_IMPORTER, NODE_SITE, PLATFORM_JS, readV8Coverage } from './dynamic-npm';
import {
  IKindRun,
  INpmResult,
  IPythonResult,
  MODULE_LIMIT_S,
  addLines,
  entryOf,
  makeHome,
  nativeToolchainCause,
  sandboxCause,
  sandboxPython,
  secondsLeft,
  sourceOf,
  sourcesByHash,
  straceArgs,
  topLevels
} from './dynamic-observe';
import { COVERAGERC, DRIVER, IMPORTER, PY_SITE, SITECUSTOMIZE, WORK } from './dynamic-python';
import { PKG, parseTrace, scrub } from './dynamic-trace';
import type { IObservation } from './observed';
import { LIFECYCLE_SCRIPTS } from './phase';
import { ScannerFailure } from './run';
import type { IExit, IRunContext } from './run';

const run = promisify(execFile);

/** The environment both install harnesses start from (besides PATH). */
const SANDBOX_ENV = { HOME: SANDBOX_HOME, TMPDIR: '/tmp', LANG: 'C.UTF-8' };

/** A regular expression matching exactly `text` (the package manager's own executable in the trace). */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** The harness's result.json, or a `crashed` failure naming the harness and its last stderr lines. */
async function harnessResult<T>(rg: string, kind: string, exit: IExit): Promise<T> {
  try {
    return JSON.parse(await readFile(path.join(rg, 'result.json'), 'utf8')) as T;
  } catch {
    throw new ScannerFailure(
      'crashed',
      `dynamic: the ${kind} install harness wrote no result (exit ${exit.code}): ${scrub(exit.stderr.trim().split('\n').slice(-3).join(' '), 300)}`,
      exit.code
    );
  }
}

export async function runPython(
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
  // Build requirements the toolchain lacks: fetched as wheels before the sandbox starts.
  const reqs = await supplyBuildRequirements(
    python,
    pkg,
    Math.min(180_000, (secondsLeft(ctx) * 1000) / 3)
  );
  if (reqs.fetched.length > 0) {
    observation.notes.push(
      `build requirements fetched from the index as wheels: ${reqs.fetched.join(', ')}`
    );
  }
  const exit = await ctx.exec(
    python,
    [`${PY_SITE}/driver.py`, platforms.join(','), String(secondsLeft(ctx)), String(MODULE_LIMIT_S)],
    {
      isolated: true,
      prefix: straceArgs(strace, trace),
      cwd: work,
      sandbox: {
        tools: [python],
        readOnlyAs: [
          [site, PY_SITE],
          ...(reqs.dir ? [[reqs.dir, BUILD_REQS_DIR] as [string, string]] : [])
        ],
        bindAs: [
          [pkg, PKG],
          [home, SANDBOX_HOME],
          [rg, WORK]
        ],
        clearEnv: true,
        chdir: PKG,
        env: {
          PATH: [
            path.join(venv, 'bin'),
            ...(reqs.dir ? [`${BUILD_REQS_DIR}/bin`] : []),
            '/usr/local/bin',
            '/usr/bin',
            '/bin'
          ].join(':'),
          ...(reqs.dir ? { REPOGUARD_BUILD_PATH: BUILD_REQS_DIR } : {}),
          ...SANDBOX_ENV,
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
  const result = await harnessResult<IPythonResult>(rg, 'Python', exit);
  const events = parseTrace(await readFile(trace, 'utf8').catch(() => ''), exactly(python));
  if (result.status === 'sandbox-missing') {
    throw new ScannerFailure(
      'missing',
      `dynamic: the sandbox does not carry the build requirement(s) ${scrub(result.missing.join(', '), 200)}${reqs.problem ? ` (${scrub(reqs.problem, 300)})` : ''} (see scripts/install-sandbox-python.sh)`
    );
  }
  const linux = result.steps.find(s => s.platform === 'linux');
  if (result.status === 'timeout') {
    throw new ScannerFailure('timeout', 'dynamic: the Python build did not finish in time');
  }
  let buildFailure: string | undefined;
  let partial: string | undefined;
  if (result.status !== 'ok') {
    const tail = linux?.tail ?? '';
    const native = nativeToolchainCause(tail);
    const cause = native ?? sandboxCause(tail, topLevels(ctx.target), result.mismatched);
    if (native) {
      // Observed until the compiled part: what ran and what it did count; the
      // import phase did not run, so static findings keep their structural phase.
      partial = scrub(native, 300);
      observation.notes.push(
        `python: ${partial}; install-time code observed until then, import not observed`
      );
    } else if (cause) {
      throw new ScannerFailure('crashed', `dynamic: ${scrub(cause, 300)}`);
    } else {
      buildFailure = tail;
    }
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
  if (!buildFailure && !partial && linuxImport?.complete) {
    observation.ecosystems.push('python');
  } else if (!buildFailure && !partial) {
    observation.notes.push('python: the import of the installed modules did not complete');
  }
  observation.stubbed.push(...result.stubbed.map(s => `python:${s}`));
  for (const p of result.skipped ?? []) observation.notes.push(`python: ${p} not tried (time)`);
  return { events, buildFailure, partial };
}

export async function runNpm(
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
          ...SANDBOX_ENV,
          npm_config_cache: '/tmp/npm-cache',
          npm_config_update_notifier: 'false',
          npm_config_fund: 'false',
          npm_config_audit: 'false'
        }
      }
    }
  );
  const result = await harnessResult<INpmResult>(rg, 'npm', exit);
  const events = parseTrace(
    await readFile(trace, 'utf8').catch(() => ''),
    exactly(node),
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
