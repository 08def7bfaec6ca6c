#!/usr/bin/env node
// Benchmark: one new request on top of 1,000 processed rows (and 1,000 commits
// of history) against the same request on an empty ledger. Must be <= 1.1x.
//   node backend-infra/bench/history.js [--reps 5] [--fake-scanners]
// With --fake-scanners the scanners are instant stand-ins, so the figure is the
// pipeline's own overhead (ingest, record) without scanner noise.
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { runner, helpers, common, median } = require('./common');

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 5;
const fake = args.includes('--fake-scanners');

async function seedHistory(ws, rows) {
  // 1,000 commits of history, then the 1,000 request rows and their results.
  const clone = path.join(ws.root, 'seed-clone');
  execFileSync('git', ['clone', '--quiet', ws.requestRepo, clone]);
  const id = {
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@x',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@x'
  };
  let stream = '';
  for (let i = 0; i < rows; i++) {
    const line = `row ${i}\n`;
    stream += `commit refs/heads/main\ncommitter b <b@x> ${1700000000 + i} +0000\ndata 4\nseed\n${i === 0 ? 'from refs/heads/main^0\n' : ''}M 100644 inline history.log\ndata ${line.length}\n${line}\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: clone, input: stream });
  execFileSync('git', ['checkout', '--quiet', '-f', 'main'], { cwd: clone });
  const requests = [];
  const results = [];
  for (let i = 0; i < rows; i++) {
    const r = {
      request_id: `old-${i}`,
      package_name: `old${i}`,
      repo_url: `https://github.com/o/old${i}`,
      ref: 'v1',
      requester_email: 'a@example.com',
      justification: 'x',
      requested_at: '2026-01-01T00:00:00Z'
    };
    requests.push(r);
    results.push({
      ...r,
      commit_sha: 'f'.repeat(40),
      decision: i % 3 ? 'approved' : 'refused',
      max_severity: 'low',
      critical: '0',
      high: '0',
      medium: '0',
      low: '1',
      private_repo_url: `file:///x/old${i}.git`,
      report_url: `reports/old-${i}/report.html`,
      scanned_at: '2026-01-01T00:00:00Z',
      execution_id: 'e',
      reason: '',
      dependencies: 'requests >=2'
    });
  }
  const fs = require('node:fs');
  fs.writeFileSync(
    path.join(clone, common.REQUESTS_FILE),
    common.appendRows('', common.REQUEST_COLUMNS, requests)
  );
  fs.writeFileSync(
    path.join(clone, common.RESULTS_FILE),
    common.appendRows('', common.RESULT_COLUMNS, results)
  );
  execFileSync('git', ['commit', '--quiet', '-am', 'seed 1000 rows'], {
    cwd: clone,
    env: { ...process.env, ...id }
  });
  execFileSync('git', ['push', '--quiet', 'origin', 'main'], { cwd: clone });
}

async function timeOne(ws, repo, n) {
  await helpers.addRequests(ws, [
    helpers.requestRow({ request_id: `new-${n}`, package_name: 'statlite', repo_url: repo.url })
  ]);
  const t0 = process.hrtime.bigint();
  const manifest = await runner.runOnce({
    mode: 'local',
    workspace: ws.root,
    write: () => undefined
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (manifest.items.length !== 1)
    throw new Error(`expected 1 pending request, got ${manifest.items.length}`);
  return ms;
}

(async () => {
  helpers.useVenvScanners();
  const bin = fake ? await helpers.fakeScanners({ semgrep: 'ok', bandit: 'ok' }) : undefined;
  const empty = await helpers.makeWorkspace(bin ? { scannerBinDir: bin } : {});
  const full = await helpers.makeWorkspace(bin ? { scannerBinDir: bin } : {});
  await seedHistory(full, 1000);
  const repoE = await helpers.makeRepo(
    path.join(empty.sourcesDir, 'statlite'),
    helpers.cleanPackageFiles('statlite')
  );
  const repoF = await helpers.makeRepo(
    path.join(full.sourcesDir, 'statlite'),
    helpers.cleanPackageFiles('statlite')
  );
  // Warm-up (file cache, scanner startup), then alternate to spread machine noise.
  await timeOne(empty, repoE, 'warm');
  const e = [];
  const f = [];
  for (let i = 0; i < reps; i++) {
    e.push(await timeOne(empty, repoE, i));
    f.push(await timeOne(full, repoF, i));
  }
  const me = median(e);
  const mf = median(f);
  const ratio = mf / me;
  console.log(
    JSON.stringify({
      benchmark: 'history',
      scanners: fake ? 'stand-ins' : 'semgrep+bandit',
      reps,
      emptyMs: e.map(Math.round),
      fullMs: f.map(Math.round),
      medianEmptyMs: Math.round(me),
      median1000Ms: Math.round(mf),
      ratio: Number(ratio.toFixed(3)),
      target: 1.1,
      pass: ratio <= 1.1
    })
  );
  process.exit(ratio <= 1.1 ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(2);
});
