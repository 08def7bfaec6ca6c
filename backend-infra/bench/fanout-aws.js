#!/usr/bin/env node
// Benchmark: the AWS fan-out, simulated offline. The state machine synthesized
// by CDK (lib/constructs/fan-out.ts, Distributed Map, one CodeBuild build per
// request) runs in moto's Step Functions interpreter (moto server on
// 127.0.0.1, CodeBuild's startBuild.sync added by
// pipeline/test/support/moto_sfn_codebuild.py); each build is answered by the
// loopback CodeBuild double of pipeline/test/support/fanout-engine.ts, which
// runs the project's own buildspec command (`repoguard-pipeline list` / `one`)
// on an embedded workspace. N small clean requests are pending, one of them
// (r1, so it starts in the first wave) hangs past its build's limit; one
// execution; then it checks that N-1 rows are decided and the hung one is
// `error` with the build's TIMED_OUT as the reason, and compares the wall time
// with ceil(N / concurrency) x the median request build time of the same run.
//   node backend-infra/bench/fanout-aws.js [--count 200] [--concurrency 10] [--limit-ms 60000]
//        [--sleep-ms 2000] [--real gitleaks]
// What is real: the synthesized ASL and moto's interpreter of it (Map,
// MaxConcurrency, Catch, the failure-recording build), the S3 items file,
// every stage of `repoguard-pipeline one` (git clone of a real local repo,
// scanner sandbox, decide, publish to a bare mirror, record with optimistic
// concurrency, mail to the outbox). Scanners: by default only a stand-in
// `semgrep` (a node script that waits --sleep-ms, then writes an empty SARIF
// log, and hangs on the source holding a HANG file), so one request's time is
// dominated by the orchestration and stays stable on a shared 2-core machine;
// --real gitleaks[,bandit] adds real pinned scanners from .tools/bin.
// The double runs the request project's 60-minute limit on --limit-ms of real
// time (and reports the template's minutes). Loopback only: nothing listens or
// connects beyond 127.0.0.1; REPOGUARD_OSV_ONLINE=0 in every build.
// Prints the load average before and after: the machine is shared.
const os = require('node:os');
const path = require('node:path');
const { helpers, median } = require('./common');

const DIST = path.join(__dirname, '..', 'dist');
const engine = require(
  path.join(DIST, 'backend-infra', 'pipeline', 'test', 'support', 'fanout-engine.js')
);

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const count = Number(opt('--count', '200'));
const concurrency = Number(opt('--concurrency', '10'));
const limitMs = Number(opt('--limit-ms', '60000'));
const sleepMs = Number(opt('--sleep-ms', '2000'));
const real = opt('--real', '').split(',').filter(Boolean);
const BUCKET = 'repoguard-artifacts';
const load = () =>
  os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(' ');
process.env.REPOGUARD_OSV_ONLINE = '0';

/** The most request builds (not recording builds) that ran at once. */
function peak(builds) {
  const events = [];
  for (const b of builds) {
    events.push([b.startedAt, 1], [b.endedAt ?? Date.now(), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}

(async () => {
  if (!(count >= 2 && concurrency >= 1 && limitMs > 0)) throw new Error('bad options');
  console.log(
    `fanout-aws: ${count} requests, concurrency ${concurrency}, request limit ${limitMs} ms, ` +
      `scanners ${[...real, `semgrep (stand-in, ${sleepMs} ms)`].join(', ')}, ${os.cpus().length} cores`
  );
  console.log(`load average before: ${load()}`);
  const template = engine.synthesizeFanOut(
    { StoreArtifacts: BUCKET },
    { fanOutMaxConcurrency: concurrency, maxRequestsPerRun: Math.max(count, 200) }
  );
  const map = JSON.parse(template.definition).States.EachRequest;
  if (map.MaxConcurrency !== concurrency) {
    throw new Error(`synthesized MaxConcurrency ${map.MaxConcurrency}, wanted ${concurrency}`);
  }
  const ws = await helpers.makeWorkspace({
    scannerBinDir: await engine.scannerFolder({ real, sleepMs }),
    scanners: [...real, 'semgrep'],
    // Longer than the build's limit: the build times out, not the scanner.
    scanTimeoutSeconds: Math.max(900, Math.ceil(limitMs / 1000) * 2)
  });
  const t0Seed = Date.now();
  const rows = [];
  for (let i = 1; i <= count; i++) {
    const files = helpers.cleanPackageFiles(`p${i}`);
    if (i === 1) files.HANG = 'the stand-in semgrep hangs on this source\n';
    const repo = await helpers.makeRepo(path.join(ws.sourcesDir, `p${i}`), files);
    rows.push(
      helpers.requestRow({
        request_id: `r${i}`,
        package_name: `p${i}`,
        repo_url: repo.url,
        requested_at: new Date(Date.UTC(2026, 10, 24, 10, 0, i)).toISOString().replace('.000', '')
      })
    );
  }
  await helpers.addRequests(ws, rows);
  console.log(`  seeded ${count} requests in ${((Date.now() - t0Seed) / 1000).toFixed(1)} s`);

  let env = {};
  const double = engine.codeBuildDouble({
    projects: template.projects,
    workspace: ws.root,
    env: () => ({ ...process.env, ...env }),
    limitMs: p => (p.name.endsWith('-request') ? limitMs : p.timeoutMinutes * 60_000)
  });
  const moto = await engine.startMoto(await double.listen());
  env = moto.env;
  let failed = false;
  try {
    await engine.createBucket(moto, BUCKET);
    const arn = await engine.createStateMachine(moto, template.definition);

    const t0 = Date.now();
    const execution = await engine.startExecution(moto, arn, 'bench-1', 'push');
    const described = await engine.waitForExecution(moto, execution, 6 * 3600_000);
    const wall = (Date.now() - t0) / 1000;

    const builds = [...double.builds.values()];
    const list = builds.filter(b => b.project.endsWith('-list'));
    const requests = builds.filter(
      b => b.project.endsWith('-request') && !b.env.REPOGUARD_CHILD_FAILURE
    );
    const recording = builds.filter(b => b.env.REPOGUARD_CHILD_FAILURE);
    const hung = requests.find(b => b.env.REPOGUARD_REQUEST_ID === 'r1');
    const normal = requests.filter(b => b !== hung && b.buildStatus === 'SUCCEEDED');
    const seconds = b => ((b.endedAt ?? Date.now()) - b.startedAt) / 1000;
    const one = median(normal.map(seconds));
    const predicted = Math.ceil(count / concurrency) * one;

    const recorded = await helpers.results(ws);
    const byId = new Map();
    for (const r of recorded) byId.set(r.request_id, [...(byId.get(r.request_id) ?? []), r]);
    const decided = recorded.filter(r => r.decision === 'approved' || r.decision === 'refused');
    const errors = recorded.filter(r => r.decision === 'error');
    const duplicates = [...byId.values()].filter(v => v.length > 1).length;
    const hungRow = (byId.get('r1') ?? [])[0];
    const reasonOk =
      !!hungRow &&
      hungRow.decision === 'error' &&
      /ended TIMED_OUT after its \d+ min limit before a decision/.test(hungRow.reason);

    console.log(`  execution: ${described.status} in ${wall.toFixed(1)} s (wall)`);
    console.log(
      `  builds: ${list.length} list, ${requests.length} request, ${recording.length} recording; ` +
        `peak request builds at once ${peak(requests)}`
    );
    console.log(
      `  rows: ${recorded.length} recorded, ${decided.length} decided ` +
        `(${recorded.filter(r => r.decision === 'approved').length} approved), ` +
        `${errors.length} error, ${duplicates} duplicated, ${count - byId.size} missing`
    );
    console.log(
      `  hung r1: build ${hung ? hung.buildStatus : 'none'}, row ${hungRow ? hungRow.decision : 'none'}: ${hungRow ? hungRow.reason : ''}`
    );
    for (const r of errors.filter(r => r.request_id !== 'r1').slice(0, 3)) {
      console.log(`  unexpected error ${r.request_id}: ${r.reason}`);
    }
    console.log(
      `  one request's build (median of ${normal.length}, in this run): ${one.toFixed(2)} s ` +
        `(min ${Math.min(...normal.map(seconds)).toFixed(2)}, max ${Math.max(...normal.map(seconds)).toFixed(2)})`
    );
    console.log(
      `  ceil(${count}/${concurrency}) x ${one.toFixed(2)} s = ${predicted.toFixed(1)} s; ` +
        `wall / that = ${(wall / predicted).toFixed(2)}`
    );
    console.log(`load average after:  ${load()}`);
    failed = !(
      described.status === 'SUCCEEDED' &&
      decided.length === count - 1 &&
      errors.length === 1 &&
      reasonOk &&
      duplicates === 0 &&
      byId.size === count &&
      peak(requests) <= concurrency
    );
    if (failed) {
      console.log(`FAILED: ${JSON.stringify(described).slice(0, 2000)}`);
      for (const b of builds.filter(b => b.buildStatus === 'FAILED').slice(0, 2)) {
        console.log(`${b.id} ${b.buildStatus}\n${b.output}`);
      }
      console.log(moto.stderr());
    } else {
      console.log('ok: all other requests recorded, the hung one error with its reason');
    }
  } finally {
    double.close();
    moto.stop();
  }
  process.exitCode = failed ? 1 : 0;
})().catch(error => {
  console.error(error);
  process.exit(2);
});
