#!/usr/bin/env node
// Benchmark: the embedded runner's worker pool. N small requests (clean real
// git repos in a fresh workspace, every stage for real: clone, scan, decide,
// publish, record, mail to the outbox), once with --concurrency 1 and once
// with --concurrency 2; the target is <= 0.6x.
//   node backend-infra/bench/fanout-embedded.js [--n 50] [--scanners gitleaks,bandit] [--reps 1] [--tools DIR]
// Scanners: real ones from .tools/bin (or --tools DIR; default gitleaks,bandit: the fast ones).
// Prints the load average before and after: the machine is shared.
const os = require('node:os');
const path = require('node:path');
const { runner, helpers, median } = require('./common');

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const n = Number(opt('--n', '50'));
const reps = Number(opt('--reps', '1'));
const scanners = opt('--scanners', 'gitleaks,bandit').split(',');
const root = path.resolve(__dirname, '..', '..');
const tools = path.resolve(opt('--tools', path.join(root, '.tools', 'bin')));
process.env.REPOGUARD_OSV_ONLINE = '0';

async function workspace() {
  const ws = await helpers.makeWorkspace({
    scanners,
    scanTimeoutSeconds: 300,
    scannerBinDir: tools
  });
  const rows = [];
  for (let i = 1; i <= n; i++) {
    const repo = await helpers.makeRepo(
      path.join(ws.sourcesDir, `p${i}`),
      helpers.cleanPackageFiles(`p${i}`)
    );
    rows.push(
      helpers.requestRow({ request_id: `r${i}`, package_name: `p${i}`, repo_url: repo.url })
    );
  }
  await helpers.addRequests(ws, rows);
  return ws;
}

async function once(concurrency) {
  const ws = await workspace();
  const t0 = process.hrtime.bigint();
  await runner.runOnce({ mode: 'local', workspace: ws.root, write: () => undefined, concurrency });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rows = await helpers.results(ws);
  const decided = rows.filter(r => r.decision === 'approved').length;
  if (decided < n)
    console.log(`    not approved: ${rows.find(r => r.decision !== 'approved').reason}`);
  if (rows.length !== n)
    throw new Error(`concurrency ${concurrency}: ${rows.length}/${n} recorded`);
  return { seconds, decided };
}

(async () => {
  console.log(
    `fanout-embedded: ${n} requests, scanners ${scanners.join(',')}, ${os.cpus().length} cores`
  );
  console.log(
    `load average before: ${os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' ')}`
  );
  const times = { 1: [], 2: [] };
  for (let r = 0; r < reps; r++) {
    for (const c of [1, 2]) {
      const { seconds, decided } = await once(c);
      times[c].push(seconds);
      console.log(`  --concurrency ${c}: ${seconds.toFixed(1)} s (${decided}/${n} approved)`);
    }
  }
  const ratio = median(times[2]) / median(times[1]);
  console.log(
    `load average after:  ${os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' ')}`
  );
  console.log(
    `median: c1 ${median(times[1]).toFixed(1)} s, c2 ${median(times[2]).toFixed(1)} s, ratio ${ratio.toFixed(2)} (target <= 0.60)`
  );
  process.exitCode = ratio <= 0.6 ? 0 : 1;
})().catch(error => {
  console.error(error);
  process.exit(2);
});
