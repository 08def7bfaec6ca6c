#!/usr/bin/env node
// Benchmark: a full scan of a ~50k-line Python package (the jedi 0.19.1 sdist
// from PyPI, cached like the corpus), every known scanner in parallel, then the
// policy, through the real scan + decide stages. Target: under 2 minutes.
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
  const { item, ms, scanMs } = await harness.scanAndDecide(dir, { name });
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
