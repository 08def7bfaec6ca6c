#!/usr/bin/env node
// Benchmark: 50 concurrent appends to the request repo (25 request rows and
// 25 result rows) with real git lose no row. Also runs the same without the
// local advisory lock (pure optimistic retries on non-fast-forward pushes).
//   node backend-infra/bench/concurrent-appends.js [--writers 50]
const { ledger, common, helpers } = require('./common');

const args = process.argv.slice(2);
const writers = Number(args[args.indexOf('--writers') + 1]) || 50;

async function round(lock) {
  const ws = await helpers.makeWorkspace();
  const t0 = Date.now();
  const outcomes = await Promise.all(
    Array.from({ length: writers }, (_, i) => {
      const l = ledger.GitLedger.local(ws.requestRepo, { lock });
      return i % 2 === 0
        ? l.append(common.REQUESTS_FILE, common.REQUEST_COLUMNS, [
            helpers.requestRow({ request_id: `q-${i}` })
          ])
        : l.append(
            common.RESULTS_FILE,
            common.RESULT_COLUMNS,
            [{ request_id: `s-${i}`, decision: 'refused' }],
            { uniqueBy: 'request_id' }
          );
    })
  );
  const ms = Date.now() - t0;
  const snap = await ledger.GitLedger.local(ws.requestRepo).read();
  const rows =
    common.parseRequests(snap.requests).rows.length + common.parseResults(snap.results).rows.length;
  return {
    lock,
    writers,
    ms,
    rows,
    lost: writers - rows,
    attempts: outcomes.reduce((a, o) => a + o.attempts, 0)
  };
}

(async () => {
  const withLock = await round(true);
  const optimistic = await round(false);
  const pass = withLock.lost === 0 && optimistic.lost === 0;
  console.log(
    JSON.stringify({ benchmark: 'concurrent-appends', withLock, optimisticOnly: optimistic, pass })
  );
  process.exit(pass ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(2);
});
