#!/usr/bin/env node
// Benchmark: a full scan of a ~50k-line Python package (the jedi 0.19.1 sdist
// from PyPI, cached like the corpus), every known scanner in parallel, then the
// policy, through the real scan + decide stages. Target: under 2 minutes,
// the dynamic scanner's observation included (wheel build, install, import
// of every installed module under coverage, on linux and emulated
// win32/darwin): its time and what it observed are printed.
//   node backend-infra/bench/large-scan.js [--package NAME==VERSION]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
require('./common'); // checks the build
const harness = require('../pipeline/corpus/harness');
const { fetchOne } = require('../pipeline/corpus/fetch');

const args = process.argv.slice(2);
const spec = args.includes('--package') ? args[args.indexOf('--package') + 1] : 'jedi==0.19.1';
const [name, version] = spec.split('==');
const LIMIT_MS = 120_000;

function wcLines(dir, exts) {
  const files = [];
  const walk = d => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.some(x => e.name.endsWith(x))) files.push(p);
    }
  };
  walk(dir);
  // wc -l on every file (in batches), summing the per-file counts.
  let total = 0;
  for (let i = 0; i < files.length; i += 500) {
    const out = execFileSync('wc', ['-l', ...files.slice(i, i + 500)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    total += out
      .filter(l => !/ total$/.test(l))
      .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
  }
  return { files: files.length, lines: total };
}

(async () => {
  harness.scannerEnvironment();
  const dir = await fetchOne({ ecosystem: 'pypi', name, version });
  const py = wcLines(dir, ['.py']);
  const all = wcLines(dir, ['.py', '.pyi']);
  // The harness's run folder (kept), to read the observation beside the dynamic SARIF.
  const mkdtemp = fs.mkdtempSync;
  let keep = '';
  fs.mkdtempSync = (prefix, options) => {
    const made = mkdtemp(prefix, options);
    if (String(prefix).includes('rg-corpus-run-')) keep = made;
    return made;
  };
  const { item, ms, scanMs } = await harness.scanAndDecide(dir, { name, keep: true });
  fs.mkdtempSync = mkdtemp;
  const dynamicRun = (item.scanners || []).find(s => s.name === 'dynamic');
  let observation = null;
  if (dynamicRun && dynamicRun.sarifFile) {
    try {
      const file = path.join(keep, path.dirname(dynamicRun.sarifFile), 'observed.json');
      observation = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      observation = null;
    }
  }
  if (keep) fs.rmSync(keep, { recursive: true, force: true });
  const observedFiles = observation ? Object.values(observation.files) : [];
  const runs = (item.scanners || []).map(s => ({
    scanner: s.name,
    status: s.status,
    seconds: Number((s.durationMs / 1000).toFixed(1)),
    findings: s.findings.length
  }));
  console.table(runs);
  const result = {
    benchmark: 'large-scan',
    package: spec,
    cores: os.cpus().length,
    pyFiles: py.files,
    pyLines: py.lines,
    pyAndPyiLines: all.lines,
    scanSeconds: Number((scanMs / 1000).toFixed(1)),
    scanAndDecideSeconds: Number((ms / 1000).toFixed(1)),
    slowest: runs.reduce((a, b) => (b.seconds > a.seconds ? b : a), runs[0]),
    dynamicSeconds: dynamicRun ? Number((dynamicRun.durationMs / 1000).toFixed(1)) : null,
    observed: observation && {
      ecosystems: observation.ecosystems,
      platforms: observation.platforms,
      installedFiles: observedFiles.filter(f => f.installed).length,
      linesRunAtImport: observedFiles.reduce((n, f) => n + f.import.length, 0),
      linesRunAtInstall: observedFiles.reduce((n, f) => n + f.install.length, 0),
      importFailures: observation.importFailures.length,
      stubbed: observation.stubbed.length
    },
    observedFindings: (item.scanners || []).flatMap(s => s.findings).filter(f => f.observed).length,
    decision: item.decision,
    reason: item.reason || '',
    limitSeconds: LIMIT_MS / 1000,
    pass: ms < LIMIT_MS && runs.every(r => r.status === 'ok')
  };
  console.log(JSON.stringify(result));
  process.exit(result.pass ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(2);
});
