#!/usr/bin/env node
// Benchmark: scanners in parallel. The scan wall time with semgrep and bandit
// together must be <= 1.3x the slowest scanner alone, on a real source tree.
//   node backend-infra/bench/scan-parallel.js [--reps 3] [--target DIR]
// Default target: a copy of a pure-Python package from the repo's .venv (rich).
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { scanners, helpers, median } = require('./common');

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 3;
const targetArg = args.includes('--target') ? args[args.indexOf('--target') + 1] : null;
const scratch = [];
process.once('exit', () => scratch.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
const tmp = prefix => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
};

function defaultTarget() {
  const lib = path.join(__dirname, '..', '..', '.venv', 'lib');
  const py = fs.readdirSync(lib).find(d => d.startsWith('python'));
  const src = path.join(lib, py, 'site-packages', 'rich');
  const dest = tmp('rg-bench-scan-');
  fs.cpSync(src, path.join(dest, 'rich'), {
    recursive: true,
    filter: p => !p.includes('__pycache__')
  });
  return dest;
}

(async () => {
  helpers.useVenvScanners();
  const target = targetArg ? path.resolve(targetArg) : defaultTarget();
  const known = scanners.registry.knownScanners();
  const options = () => ({ target, outDir: tmp('rg-bench-out-'), timeoutMs: 600_000 });
  const time = async names => {
    const t0 = process.hrtime.bigint();
    const runs = await scanners.run.runScanners(names, known, options());
    for (const r of runs)
      if (r.status !== 'ok') throw new Error(`${r.name}: ${r.status} ${r.message ?? ''}`);
    return {
      ms: Number(process.hrtime.bigint() - t0) / 1e6,
      findings: runs.map(r => `${r.name}:${r.findings.length}`)
    };
  };
  await time(['semgrep']); // warm-up
  const alone = { semgrep: [], bandit: [] };
  const both = [];
  let findings;
  for (let i = 0; i < reps; i++) {
    alone.semgrep.push((await time(['semgrep'])).ms);
    alone.bandit.push((await time(['bandit'])).ms);
    const b = await time(['semgrep', 'bandit']);
    both.push(b.ms);
    findings = b.findings;
  }
  const slowest = Math.max(median(alone.semgrep), median(alone.bandit));
  const ratio = median(both) / slowest;
  console.log(
    JSON.stringify({
      benchmark: 'scan-parallel',
      target,
      reps,
      semgrepAloneMs: Math.round(median(alone.semgrep)),
      banditAloneMs: Math.round(median(alone.bandit)),
      bothParallelMs: Math.round(median(both)),
      ratioToSlowest: Number(ratio.toFixed(3)),
      target_ratio: 1.3,
      pass: ratio <= 1.3,
      findings
    })
  );
  process.exit(ratio <= 1.3 ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(2);
});
