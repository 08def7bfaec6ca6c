#!/usr/bin/env node
// Benchmark: re-scanning N approved packages against a changed advisory set
// costs at most the SCA step per package (no re-clone, no dynamic run).
//   node backend-infra/bench/rescan.js [--count 1000] [--reps 3]
// Seeds a workspace with N approved commits (N private mirrors, N results
// rows), times `rescanOnce` with the real osv-scanner, and compares the time
// per package with one osv-scanner run alone on the same tree (median of --reps).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { helpers, common, median } = require('./common');
const { rescanOnce } = require(
  path.join(__dirname, '..', 'dist', 'backend-infra', 'pipeline', 'src', 'rescan.js')
);
const { osv } = require(
  path.join(__dirname, '..', 'dist', 'backend-infra', 'pipeline', 'src', 'scanners', 'osv.js')
);
const { runScanner } = require(
  path.join(__dirname, '..', 'dist', 'backend-infra', 'pipeline', 'src', 'scanners', 'run.js')
);
const { GitLedger } = require(
  path.join(__dirname, '..', 'dist', 'backend-infra', 'pipeline', 'src', 'ledger.js')
);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const count = opt('--count', 1000);
const reps = opt('--reps', 3);

async function main() {
  helpers.useVenvScanners();
  const ws = await helpers.makeWorkspace({ scanners: ['osv'] });
  const src = path.join(ws.sourcesDir, 'pkg');
  const { sha } = await helpers.makeRepo(src, {
    'setup.py': 'from setuptools import setup\nsetup(name="pkg", version="1.0")\n',
    'requirements.txt': 'requests==2.32.4\nclick==8.1.7\n'
  });
  const t0 = Date.now();
  const rows = [];
  for (let i = 0; i < count; i++) {
    const name = `pkg-${i}`;
    const bare = path.join(ws.privateDir, `${name}.git`);
    execFileSync('git', ['init', '--quiet', '--bare', bare]);
    execFileSync('git', ['push', '--quiet', bare, `HEAD:refs/heads/main`], { cwd: src });
    rows.push({
      ...Object.fromEntries(common.RESULT_COLUMNS.map(c => [c, ''])),
      request_id: `r-${i}`,
      package_name: name,
      repo_url: `https://github.com/example/${name}`,
      commit_sha: sha,
      decision: 'approved',
      private_repo_url: `file://${bare}`,
      scanned_at: '2026-11-01T00:00:00Z',
      execution_id: 'seed'
    });
  }
  await GitLedger.local(ws.requestRepo).append(common.RESULTS_FILE, common.RESULT_COLUMNS, rows);
  console.log(`seeded ${count} approved packages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const alone = [];
  for (let r = 0; r < reps; r++) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-bench-osv-'));
    const s = Date.now();
    const run = await runScanner(osv(), { target: src, outDir: out, timeoutMs: 300_000 });
    if (run.status !== 'ok') throw new Error(run.message);
    alone.push(Date.now() - s);
    fs.rmSync(out, { recursive: true, force: true });
  }
  const s = Date.now();
  const outcome = await rescanOnce({ workspace: ws.root, write: () => undefined });
  const total = Date.now() - s;
  const per = total / Math.max(1, outcome.checked);
  console.log(
    `rescan of ${outcome.checked} approved packages: ${(total / 1000).toFixed(1)} s, ` +
      `${per.toFixed(0)} ms per package; osv-scanner alone on one tree: ${median(alone).toFixed(0)} ms ` +
      `(median of ${reps}); ratio ${(per / median(alone)).toFixed(2)} (target <= 1 + export overhead); ` +
      `${outcome.revoked.length} revoked, ${outcome.failed.length} failed; load ${os.loadavg()[0].toFixed(1)}`
  );
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
