/**
 * The per-request path shared by the embedded worker pool and a fan-out
 * child build: requests processed N at a time, at most `max` per run with
 * the rest left pending, nothing duplicated when two runs take the same
 * requests, and the `one` / `list` subcommands a child and the state
 * machine's list step run (real git, stand-in scanner executables).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { localAdapters } from '../src/adapters/local';
import type { IAdapters } from '../src/adapters/types';
import { record } from '../src/stages/record';
import type { Workspace } from '../src/workspace';
import { SilentProgress } from '../src/progress';
import { GitLedger } from '../src/ledger';
import { failureReason, runOnce } from '../src/runner';
import {
  addRequests,
  cleanPackageFiles,
  collector,
  fakeScanners,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir,
  PIPELINE_CLI
} from './helpers';

const execFileP = promisify(execFile);
const BIN = PIPELINE_CLI;

/** A workspace with `n` clean requests r1..rn (one source repo each). */
async function workspaceWith(n: number, binDir: string, extra: Record<string, unknown> = {}) {
  const ws = await makeWorkspace({ scannerBinDir: binDir, scanners: ['semgrep'], ...extra });
  const rows = [];
  for (let i = 1; i <= n; i++) {
    const repo = await makeRepo(path.join(ws.sourcesDir, `p${i}`), cleanPackageFiles(`p${i}`));
    rows.push(requestRow({ request_id: `r${i}`, package_name: `p${i}`, repo_url: repo.url }));
  }
  await addRequests(ws, rows);
  return ws;
}

/** A line writer that keeps when each scan ended and how long it took (from the progress lines). */
function scanTimes(): { write: (line: string) => void; intervals: Array<[number, number]> } {
  const intervals: Array<[number, number]> = [];
  return {
    intervals,
    write: line => {
      const m = /^scan\s+\S+\s+ok (\d+\.\d+)s/.exec(line);
      if (m) intervals.push([Date.now() - Number(m[1]) * 1000, Date.now()]);
    }
  };
}

/** Most scans in flight at once (10 ms slack for the printing). */
function maxOverlap(intervals: Array<[number, number]>): number {
  const events = intervals
    .flatMap(([start, end]) => [
      { t: start + 10, d: 1 },
      { t: end, d: -1 }
    ])
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

async function outbox(ws: { outboxDir: string }): Promise<string[]> {
  return existsSync(ws.outboxDir)
    ? (await readdir(ws.outboxDir)).filter(f => f.endsWith('.eml'))
    : [];
}

/** The workspace's own adapters, with every mail sent also counted per request key. */
async function countingAdapters(ws: Workspace, sent: Map<string, number>): Promise<IAdapters> {
  const adapters = localAdapters(ws, await ws.config());
  return {
    ...adapters,
    mailer: {
      send: async message => {
        sent.set(message.key, (sent.get(message.key) ?? 0) + 1);
        return adapters.mailer.send(message);
      }
    }
  };
}

describe('worker pool (embedded runner)', () => {
  it('--concurrency 2 runs two requests at once, 1 runs them one by one; all are recorded', async () => {
    for (const concurrency of [1, 2]) {
      const bin = await fakeScanners({ semgrep: 'sleep:700' });
      const ws = await workspaceWith(4, bin);
      const times = scanTimes();
      await runOnce({ mode: 'local', workspace: ws.root, write: times.write, concurrency });
      assert.equal(times.intervals.length, 4);
      assert.equal(maxOverlap(times.intervals), concurrency, `concurrency ${concurrency}`);
      const rows = await results(ws);
      assert.deepEqual(rows.map(r => r.request_id).sort(), ['r1', 'r2', 'r3', 'r4']);
      assert.ok(rows.every(r => r.decision === 'approved'));
      assert.equal((await outbox(ws)).length, 4);
    }
  });

  it('--max 2 records two requests; the others stay pending (no error row) and the next run takes them', async () => {
    const bin = await fakeScanners({ semgrep: 'ok' });
    const ws = await workspaceWith(3, bin);
    const out = collector();
    await runOnce({ mode: 'local', workspace: ws.root, write: out.write, max: 2 });
    // The two workers may record in either order: the first two requests, whichever finishes first.
    assert.deepEqual((await results(ws)).map(r => r.request_id).sort(), ['r1', 'r2']);
    assert.match(
      out.lines.join('\n'),
      /1 more pending request\(s\) left for the next run \(max 2\)/
    );
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined, max: 2 });
    const rows = await results(ws);
    assert.deepEqual(rows.map(r => r.request_id).slice(2), ['r3']); // the one left pending comes last
    assert.deepEqual(rows.map(r => r.request_id).sort(), ['r1', 'r2', 'r3']);
    assert.ok(rows.every(r => r.decision === 'approved'));
  });

  it('the config key maxRequestsPerRun caps a run the same way', async () => {
    const bin = await fakeScanners({ semgrep: 'ok' });
    const ws = await workspaceWith(2, bin, { maxRequestsPerRun: 1 });
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
    assert.deepEqual(
      (await results(ws)).map(r => r.request_id),
      ['r1']
    );
  });

  it('two runs taking the same requests at once: one row, one mirror, one mail per request', async () => {
    const bin = await fakeScanners({ semgrep: 'sleep:300' });
    const ws = await workspaceWith(3, bin);
    const sent = new Map<string, number>();
    const run = async () =>
      runOnce({
        mode: 'local',
        workspace: ws.root,
        write: () => undefined,
        concurrency: 2,
        adapters: await countingAdapters(ws, sent)
      });
    await Promise.all([run(), run()]);
    const rows = await results(ws);
    assert.deepEqual(rows.map(r => r.request_id).sort(), ['r1', 'r2', 'r3']);
    assert.deepEqual((await readdir(ws.privateDir)).sort(), ['p1.git', 'p2.git', 'p3.git']);
    assert.deepEqual([...sent].sort(), [
      ['r1', 1],
      ['r2', 1],
      ['r3', 1]
    ]);
  });
});

describe('record: a request not reached stays pending', () => {
  it('an undecided item is not written as a final error', async () => {
    const ws = await makeWorkspace();
    await addRequests(ws, [requestRow({ request_id: 'r1' })]);
    const ledger = GitLedger.local(ws.requestRepo);
    const manifest = {
      version: 1 as const,
      mode: 'local' as const,
      executionId: 'x',
      createdAt: new Date().toISOString(),
      ledgerSha: '',
      items: [{ request: requestRow({ request_id: 'r1' }), row: 2, key: 'r1' }]
    };
    await record(
      { manifest, dir: ws.root, config: await ws.config(), progress: new SilentProgress() },
      { ledger, reports: { put: async () => 'unused' } }
    );
    assert.deepEqual(await results(ws), []);
    assert.equal((manifest.items[0] as { decision?: string }).decision, undefined);
  });
});

describe('child build commands (what the fan-out state machine runs)', () => {
  it('`one` processes only the request named by REPOGUARD_REQUEST_ID, and a rerun does nothing', async () => {
    const bin = await fakeScanners({ semgrep: 'ok' });
    const ws = await workspaceWith(2, bin);
    const env = { ...process.env, REPOGUARD_REQUEST_ID: 'r2', REPOGUARD_EXECUTION_ID: 'exec-1' };
    await execFileP('node', [BIN, 'one', '--local', ws.root], { env });
    let rows = await results(ws);
    assert.deepEqual(
      rows.map(r => [r.request_id, r.decision, r.execution_id]),
      [['r2', 'approved', 'exec-1']]
    );
    const again = await execFileP('node', [BIN, 'one', '--local', ws.root], { env });
    assert.match(again.stdout, /r2: not pending/);
    rows = await results(ws);
    assert.equal(rows.length, 1);
    assert.equal((await outbox(ws)).length, 1);
  });

  it('`one` with REPOGUARD_CHILD_FAILURE records error with the failed build as the reason', async () => {
    const bin = await fakeScanners({ semgrep: 'ok' });
    const ws = await workspaceWith(1, bin);
    const failure = JSON.stringify({
      Error: 'States.TaskFailed',
      BuildId: 'repoguard-request:0b1c',
      BuildStatus: 'TIMED_OUT',
      TimeoutInMinutes: 60
    });
    await execFileP('node', [BIN, 'one', '--local', ws.root], {
      env: { ...process.env, REPOGUARD_REQUEST_ID: 'r1', REPOGUARD_CHILD_FAILURE: failure }
    });
    const [row] = await results(ws);
    assert.equal(row.decision, 'error');
    assert.equal(
      row.reason,
      "the request's build repoguard-request:0b1c ended TIMED_OUT after its 60 min limit before a decision (States.TaskFailed); not approved"
    );
    assert.deepEqual(await readdir(ws.privateDir), []);
    assert.equal((await outbox(ws)).length, 1);
  });

  it('`list` writes the pending ids (at most --max) as the items file, nothing cloned', async () => {
    const bin = await fakeScanners({ semgrep: 'ok' });
    const ws = await workspaceWith(3, bin);
    const items = path.join(await tempDir('rg-items-'), 'items.json');
    await execFileP('node', [BIN, 'list', '--local', ws.root, '--items', items, '--max', '2']);
    assert.deepEqual(JSON.parse(await readFile(items, 'utf8')), [
      { request_id: 'r1', row: 1 },
      { request_id: 'r2', row: 2 }
    ]);
    assert.deepEqual(await results(ws), []);
  });

  it('failureReason: any other failure names the error and is never an approval', () => {
    assert.equal(
      failureReason(JSON.stringify({ Error: 'States.Timeout' })),
      "the request's build did not complete (States.Timeout); not approved"
    );
  });
});
