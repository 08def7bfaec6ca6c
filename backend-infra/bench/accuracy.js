#!/usr/bin/env node
// Benchmark: the gate's accuracy on real data, through the real scan + decide
// stages (every known scanner, in the network-less sandbox), at the default
// policy, beside the seed's rule (refuse when any finding is rated medium or
// above by its scanner) on the same scans.
//
//   node backend-infra/bench/accuracy.js [--set malware|benign|all] [--part reporting|tuning|both]
//        [--pypi 150] [--npm 30] [--limit N] [--jobs 1] [--rescan semgrep,bandit [--failed-only]] [--decide-only]
//
// Sets:
// - malware: ../shared/data/malware/pypi-malregistry-300.zip (real malicious
//   PyPI sdists, password `infected`; see that folder's README). Each sdist is
//   unpacked (tar, nothing run) into the cache folder outside the repository
//   and scanned only through the pipeline's scan stage, whose sandbox has no
//   network. Nothing here installs, imports or runs a sample.
// - benign: the most downloaded PyPI projects (data/popular/pypi.txt, in rank
//   order; those that publish an sdist for their latest version) and npm
//   packages (data/popular/npm.txt), fetched at benchmark time: PyPI sdists
//   by the URL of the index's JSON API (the index pip uses), npm tarballs with
//   `npm pack` (no lifecycle script runs).
// Split: sha256(set + name), first byte even → tuning, odd → reporting. The
// policy was tuned on the tuning parts (and on the causes named in issue 12);
// the reporting parts are the figures.
//
// Heavy (about 15 s of 2 cores per package): scans are cached per package in
// REPOGUARD_ACCURACY_CACHE (default $TMPDIR/repoguard-accuracy), so a rerun,
// or `--decide-only`, only decides again with the current policy;
// `--rescan semgrep` reruns one scanner on the cached sources after a rule change;
// with `--failed-only`, only where that scanner's cached run did not end `ok`.
// Prints, per set and part, the policy's and the seed rule's refusal rates,
// then each miss (malware approved) and each false refusal (benign refused)
// of the reporting parts with its cause; a JSON summary line last.
'use strict';
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
require('./common'); // checks the build
const harness = require('../pipeline/corpus/harness');

const ROOT = path.resolve(__dirname, '..', '..');
const MALWARE_ZIP = path.resolve(
  ROOT,
  '..',
  'shared',
  'data',
  'malware',
  'pypi-malregistry-300.zip'
);
const POPULAR = path.join(ROOT, 'backend-infra', 'pipeline', 'data', 'popular');

const args = process.argv.slice(2);
const opt = (name, fallback) =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback;
const SET = opt('set', 'all');
const PART = opt('part', 'both');
const JOBS = Number(opt('jobs', '1')) || 1;
const LIMIT = Number(opt('limit', '0')) || Infinity;
const N_PYPI = Number(opt('pypi', '150'));
const N_NPM = Number(opt('npm', '30'));
const RESCAN = (opt('rescan', '') || '').split(',').filter(Boolean);
const DECIDE_ONLY = args.includes('--decide-only');
const FAILED_ONLY = args.includes('--failed-only');
const CACHE = process.env.REPOGUARD_ACCURACY_CACHE || path.join(os.tmpdir(), 'repoguard-accuracy');

const partOf = (set, name) =>
  crypto.createHash('sha256').update(`${set}:${name.toLowerCase()}`).digest()[0] % 2 === 0
    ? 'tuning'
    : 'reporting';

function unpackTar(archive, dest) {
  const tmp = `${dest}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const magic = fs.readFileSync(archive).subarray(0, 2).toString('latin1');
  if (magic === 'PK') {
    execFileSync('python3', ['-m', 'zipfile', '-e', archive, tmp]);
  } else {
    execFileSync('tar', ['-xzf', archive, '-C', tmp, '--no-same-owner', '--no-same-permissions']);
  }
  const entries = fs.readdirSync(tmp);
  const top =
    entries.length === 1 && fs.statSync(path.join(tmp, entries[0])).isDirectory()
      ? path.join(tmp, entries[0])
      : tmp;
  fs.renameSync(top, dest);
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The malware set: [{ set, name, version, dir }] (unpacked once into the cache). */
function malwareSet() {
  const root = path.join(CACHE, 'malware');
  const zipDir = path.join(root, 'zip');
  if (!fs.existsSync(path.join(zipDir, 'MANIFEST.tsv'))) {
    fs.mkdirSync(zipDir, { recursive: true });
    execFileSync('unzip', ['-q', '-o', '-P', 'infected', MALWARE_ZIP, '-d', zipDir]);
  }
  const out = [];
  for (const name of fs.readdirSync(zipDir).sort()) {
    const pkgDir = path.join(zipDir, name);
    if (!fs.statSync(pkgDir).isDirectory()) continue;
    for (const version of fs.readdirSync(pkgDir)) {
      const files = fs
        .readdirSync(path.join(pkgDir, version))
        .filter(f => /\.(tar\.gz|zip)$/.test(f));
      if (!files.length) continue;
      const dir = path.join(root, 'src', `${name}-${version}`);
      if (!fs.existsSync(dir)) {
        try {
          unpackTar(path.join(pkgDir, version, files[0]), dir);
        } catch (error) {
          console.error(`malware ${name}: cannot unpack: ${error.message.split('\n')[0]}`);
          continue;
        }
      }
      out.push({ set: 'malware', ecosystem: 'pypi', name, version, dir });
    }
  }
  return out;
}

function pypiJsonBase() {
  // The index pip itself uses (its configured index, else its default).
  const py = path.join(ROOT, '.venv', 'bin', 'python');
  return execFileSync(
    fs.existsSync(py) ? py : 'python3',
    ['-c', 'from pip._internal.models.index import PyPI; print(PyPI.pypi_url)'],
    { encoding: 'utf8' }
  ).trim();
}

async function download(url, file) {
  const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

/** The benign set: the first N PyPI projects with an sdist and N npm packages, fetched and cached. */
async function benignSet() {
  const root = path.join(CACHE, 'benign');
  fs.mkdirSync(path.join(root, 'archives'), { recursive: true });
  const listFile = path.join(root, 'list.json');
  let list = fs.existsSync(listFile) ? JSON.parse(fs.readFileSync(listFile, 'utf8')) : null;
  if (!list || list.pypi.length < N_PYPI || list.npm.length < N_NPM) {
    list = { fetchedAt: new Date().toISOString(), pypi: [], npm: [], skipped: [] };
    const base = pypiJsonBase();
    const names = fs
      .readFileSync(path.join(POPULAR, 'pypi.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    for (const name of names) {
      if (list.pypi.length >= N_PYPI) break;
      try {
        const res = await fetch(`${base}/${name}/json`, { signal: AbortSignal.timeout(60_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const meta = await res.json();
        const sdist = (meta.urls || []).find(u => u.packagetype === 'sdist');
        if (!sdist) {
          list.skipped.push(`pypi:${name}: no sdist for ${meta.info.version}`);
          continue;
        }
        if (sdist.size > 60_000_000) {
          list.skipped.push(`pypi:${name}: sdist over 60 MB`);
          continue;
        }
        list.pypi.push({
          name,
          version: meta.info.version,
          url: new URL(sdist.url, `${base}/${name}/json`).href,
          file: sdist.filename
        });
      } catch (error) {
        list.skipped.push(`pypi:${name}: ${error.message}`);
      }
    }
    const npmNames = fs
      .readFileSync(path.join(POPULAR, 'npm.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    for (const name of npmNames.slice(0, N_NPM)) {
      list.npm.push({ name });
    }
    fs.writeFileSync(listFile, JSON.stringify(list, null, 1));
  }
  const out = [];
  for (const p of list.pypi.slice(0, N_PYPI)) {
    const dir = path.join(root, 'src', `pypi-${p.name}-${p.version}`);
    const fetchIt = async () => {
      if (fs.existsSync(dir)) return;
      const archive = path.join(root, 'archives', p.file);
      if (!fs.existsSync(archive)) await download(p.url, archive);
      unpackTar(archive, dir);
    };
    out.push({ set: 'benign', ecosystem: 'pypi', name: p.name, version: p.version, dir, fetchIt });
  }
  for (const p of list.npm.slice(0, N_NPM)) {
    const dl = path.join(root, 'archives', `npm-${p.name.replace('/', '__')}`);
    const entry = { set: 'benign', ecosystem: 'npm', name: p.name, version: 'latest', dir: '' };
    const tgzOf = () =>
      fs.existsSync(dl) ? fs.readdirSync(dl).find(f => f.endsWith('.tgz')) : undefined;
    const locate = tgz => {
      entry.version = /-(\d[^/]*)\.tgz$/.exec(tgz)?.[1] ?? 'latest';
      entry.dir = path.join(root, 'src', `npm-${p.name.replace('/', '__')}-${entry.version}`);
    };
    if (tgzOf()) locate(tgzOf());
    entry.fetchIt = async () => {
      fs.mkdirSync(dl, { recursive: true });
      if (!tgzOf()) {
        execFileSync('npm', ['pack', '--silent', p.name], {
          cwd: dl,
          stdio: ['ignore', 'ignore', 'pipe']
        });
      }
      locate(tgzOf());
      if (!fs.existsSync(entry.dir)) unpackTar(path.join(dl, tgzOf()), entry.dir);
    };
    out.push(entry);
  }
  return out;
}

const resultFile = p =>
  path.join(
    CACHE,
    'results',
    `${p.set}-${p.ecosystem}-${p.name.replace('/', '__')}-${p.version}.json`
  );

/** Scan (or reuse the cached scan of) one package; returns its scanner runs. */
async function scanned(p) {
  if (p.fetchIt && !DECIDE_ONLY) await p.fetchIt();
  const file = resultFile(p);
  let cached = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
  if (!cached) {
    if (DECIDE_ONLY) return null;
    const r = await harness.scanAndDecide(p.dir, { name: p.name });
    cached = { scanners: r.item.scanners || [], scanMs: r.scanMs };
  } else if (
    RESCAN.length &&
    (!FAILED_ONLY ||
      cached.scanners.some(s => RESCAN.includes(s.name) && s.status !== 'ok') ||
      !RESCAN.every(name => cached.scanners.some(s => s.name === name)))
  ) {
    const r = await harness.scanAndDecide(p.dir, { name: p.name, scanners: RESCAN });
    cached.scanners = [
      ...cached.scanners.filter(s => !RESCAN.includes(s.name)),
      ...(r.item.scanners || []).filter(s => RESCAN.includes(s.name))
    ];
  } else {
    return cached;
  }
  cached.scanners = cached.scanners.filter(s => s.name !== 'repoguard-names');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(cached));
  return cached;
}

/** Decide again, with the current policy, on the cached runs (the real decide stage). */
async function decideNow(p, runs) {
  const dist = harness.DIST;
  const { decide } = require(path.join(dist, 'stages', 'decide.js'));
  const { SilentProgress } = require(path.join(dist, 'progress.js'));
  const { defaultConfig } = require(path.join(dist, 'workspace.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-accuracy-decide-'));
  try {
    fs.symlinkSync(p.dir, path.join(dir, 'src'));
    const item = {
      request: {
        request_id: 'accuracy',
        package_name: p.name,
        repo_url: `file://${p.dir}`,
        ref: '',
        requester_email: 'bench@example.com',
        justification: 'accuracy',
        requested_at: new Date().toISOString()
      },
      row: 2,
      key: 'accuracy',
      commitSha: '0'.repeat(40),
      source: 'src',
      scanners: JSON.parse(JSON.stringify(runs))
    };
    // Phases the scan derived from the source's structure (not observed) are derived
    // again with the current scanners/phase.ts, as a new scan would.
    const { locate } = require(path.join(dist, 'scanners', 'phase.js'));
    // A scanner rerun alone (--rescan) had no dynamic run beside it: its findings get
    // the observation that the other scanners' cached findings carry (same file and
    // line: that phase; a file observed not to be installed: not-installed).
    const seen = new Map();
    for (const f of item.scanners.flatMap(r => r.findings)) {
      if (!f.observed || f.category === 'dynamic' || !f.path) continue;
      const file = seen.get(f.path) ?? { lines: new Map(), phases: new Set() };
      if (f.line) file.lines.set(f.line, f.phase);
      file.phases.add(f.phase);
      seen.set(f.path, file);
    }
    // Not installed: every observed finding of the file says so (an installed module's
    // `__main__` block is not-installed too, beside its call or import lines).
    for (const file of seen.values()) {
      file.notInstalled = file.phases.size === 1 && file.phases.has('not-installed');
    }
    for (const f of item.scanners.flatMap(r => r.findings)) {
      const file = !f.observed && f.category !== 'dynamic' ? seen.get(f.path) : undefined;
      if (!file) continue;
      const phase = f.line !== undefined ? file.lines.get(f.line) : undefined;
      if (phase) Object.assign(f, { phase, observed: true });
      else if (file.notInstalled) Object.assign(f, { phase: 'not-installed', observed: true });
    }
    for (const run of item.scanners) {
      const statics = run.findings.filter(f => !f.observed);
      for (const f of statics) delete f.phase;
      const located = await locate(p.dir, statics);
      statics.forEach((f, i) => (f.phase = located[i].phase));
      // Observed not to run in an installed module: its `__main__` block stays
      // not-installed (scanners/observed.ts), as a new scan would say.
      const notRun = run.findings.filter(f => f.observed && f.phase === 'call');
      const structural = await locate(
        p.dir,
        notRun.map(f => ({ ...f, phase: undefined }))
      );
      notRun.forEach((f, i) => {
        if (structural[i].phase === 'not-installed') f.phase = 'not-installed';
      });
    }
    const manifest = {
      version: 1,
      mode: 'local',
      executionId: 'acc',
      createdAt: '',
      ledgerSha: '',
      items: [item]
    };
    const config = defaultConfig(dir);
    await decide(
      { manifest, dir, config, progress: new SilentProgress('accuracy') },
      { waivers: '' }
    );
    return item;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The seed's rule: refuse when any finding is rated medium or above by its scanner (fail closed too). */
function seedRefuses(runs) {
  const rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
  if (!runs.length || runs.some(r => r.status !== 'ok')) return true;
  return runs.some(r => r.findings.some(f => (rank[f.severity] ?? 3) >= 2));
}

function pct(n, d) {
  return d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a';
}

(async () => {
  harness.scannerEnvironment();
  const started = Date.now();
  let packages = [];
  if (SET === 'malware' || SET === 'all') packages.push(...malwareSet());
  if (SET === 'benign' || SET === 'all') packages.push(...(await benignSet()));
  for (const p of packages) p.part = partOf(p.set, p.name);
  if (PART !== 'both') packages = packages.filter(p => p.part === PART);
  // Reporting parts first, the two sets interleaved, so that a partial run covers both.
  const order = p => (p.part === 'reporting' ? 0 : 2) + (p.set === 'malware' ? 0 : 1);
  const bySet = { malware: [], benign: [] };
  for (const p of packages) bySet[p.set].push(p);
  const interleaved = [];
  for (let i = 0; i < Math.max(bySet.malware.length, bySet.benign.length); i++) {
    if (bySet.malware[i]) interleaved.push(bySet.malware[i]);
    if (bySet.benign[i]) interleaved.push(bySet.benign[i]);
  }
  packages = interleaved.sort((a, b) => (order(a) >> 1) - (order(b) >> 1)).slice(0, LIMIT);
  console.error(`accuracy: ${packages.length} package(s), ${JOBS} at a time, cache ${CACHE}`);
  let done = 0;
  const outcomes = await harness.pool(packages, JOBS, async p => {
    try {
      const cached = await scanned(p);
      if (!cached) return null;
      const item = await decideNow(p, cached.scanners);
      done++;
      if (done % 10 === 0)
        console.error(
          `accuracy: ${done}/${packages.length} (${Math.round((Date.now() - started) / 1000)}s)`
        );
      return { p, item, seed: seedRefuses(cached.scanners), scanMs: cached.scanMs };
    } catch (error) {
      console.error(`accuracy: ${p.set} ${p.name}: ${error.message}`);
      return { p, item: { decision: 'error', reason: `benchmark: ${error.message}` }, seed: true };
    }
  });
  const got = outcomes.filter(Boolean);
  const summary = { benchmark: 'accuracy', ranAt: new Date().toISOString(), parts: {} };
  const lines = [];
  for (const set of ['malware', 'benign']) {
    for (const part of ['tuning', 'reporting']) {
      const rows = got.filter(o => o.p.set === set && o.p.part === part);
      if (!rows.length) continue;
      const refused = rows.filter(o => o.item.decision !== 'approved').length;
      const strictRefused = rows.filter(o => o.item.decision === 'refused').length;
      const seed = rows.filter(o => o.seed).length;
      summary.parts[`${set}/${part}`] = {
        packages: rows.length,
        refused,
        refusedOnly: strictRefused,
        errors: refused - strictRefused,
        rate: pct(refused, rows.length),
        seedRuleRefused: seed,
        seedRate: pct(seed, rows.length)
      };
      lines.push(
        `${set.padEnd(8)} ${part.padEnd(10)} ${String(rows.length).padStart(4)} packages: RepoGuard ${String(refused).padStart(4)} not approved (${pct(refused, rows.length)}; ${refused - strictRefused} of them error) | seed rule ${String(seed).padStart(4)} refused (${pct(seed, rows.length)})`
      );
    }
  }
  console.log('\nGate accuracy (default policy; seed rule = any finding rated >= medium)\n');
  console.log(lines.join('\n'));
  // The reporting parts' cases; with --part tuning alone, the tuning part's (to tune on).
  const shown = PART === 'tuning' ? 'tuning' : 'reporting';
  const misses = got.filter(
    o => o.p.set === 'malware' && o.p.part === shown && o.item.decision === 'approved'
  );
  const falses = got.filter(
    o => o.p.set === 'benign' && o.p.part === shown && o.item.decision !== 'approved'
  );
  const topFindings = item =>
    (item.scanners || [])
      .flatMap(r => r.findings)
      .filter(f => f.effectiveSeverity !== 'info')
      .slice(0, 4)
      .map(
        f =>
          `${f.scanner} ${f.ruleId} ${f.severity}→${f.effectiveSeverity}${f.note ? ` (${f.note})` : ''} at ${f.path}${f.line ? `:${f.line}` : ''}`
      )
      .join('; ');
  console.log(`\nMalware approved (${shown} part): ${misses.length}`);
  for (const o of misses)
    console.log(
      `- ${o.p.name} ${o.p.version}: approved; counted findings: ${topFindings(o.item) || 'none'}`
    );
  console.log(`\nBenign not approved (${shown} part): ${falses.length}`);
  for (const o of falses)
    console.log(
      `- ${o.p.ecosystem}:${o.p.name} ${o.p.version}: ${o.item.decision}: ${(o.item.reason || '').slice(0, 400)}`
    );
  summary.misses = misses.map(o => o.p.name);
  summary.falseRefusals = falses.map(o => `${o.p.ecosystem}:${o.p.name}`);
  summary.wallSeconds = Math.round((Date.now() - started) / 1000);
  console.log('\n' + JSON.stringify(summary));
})().catch(error => {
  console.error(error);
  process.exit(2);
});
