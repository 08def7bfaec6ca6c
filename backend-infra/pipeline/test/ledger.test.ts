/** The request repo as a ledger: optimistic concurrency with real git. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  REQUEST_COLUMNS,
  REQUESTS_FILE,
  RESULT_COLUMNS,
  RESULTS_FILE,
  parseRequests,
  parseResults
} from '../../../src/common';
import { GitLedger } from '../src/ledger';
import { pendingRequests } from '../src/stages/ingest';
import { gitSync, makeWorkspace, requestRow } from './helpers';

function resultRow(id: string): Record<string, string> {
  return {
    request_id: id,
    package_name: `p-${id}`,
    repo_url: 'https://github.com/o/r',
    decision: 'refused',
    reason: 'test'
  };
}

describe('git ledger (real git)', () => {
  it('loses no row when 50 writers append at once (25 requests and 25 results)', async () => {
    const ws = await makeWorkspace();
    const writers = Array.from({ length: 50 }, (_, i) => {
      const ledger = GitLedger.local(ws.requestRepo); // one per writer, as separate processes would have
      return i % 2 === 0
        ? ledger.append(REQUESTS_FILE, REQUEST_COLUMNS, [
            requestRow({ request_id: `q-${i}` }) as unknown as Record<string, string>
          ])
        : ledger.append(RESULTS_FILE, RESULT_COLUMNS, [resultRow(`s-${i}`)], {
            uniqueBy: 'request_id'
          });
    });
    const outcomes = await Promise.all(writers);
    assert.ok(outcomes.every(o => o.appended === 1));
    const snapshot = await GitLedger.local(ws.requestRepo).read();
    const requests = parseRequests(snapshot.requests);
    const results = parseResults(snapshot.results);
    assert.deepEqual(requests.errors, []);
    assert.deepEqual(results.errors, []);
    assert.deepEqual(
      requests.rows.map(r => r.values.request_id).sort(),
      Array.from({ length: 25 }, (_, k) => `q-${k * 2}`).sort()
    );
    assert.deepEqual(
      results.rows.map(r => r.values.request_id).sort(),
      Array.from({ length: 25 }, (_, k) => `s-${k * 2 + 1}`).sort()
    );
    // 50 appends on top of the seed commit, a linear history.
    assert.equal(gitSync(ws.requestRepo, 'rev-list', '--count', 'main').trim(), '51');
  });

  it('groups the appends of one process that queue up into fewer commits, each caller told of its own rows', async () => {
    const ws = await makeWorkspace();
    const ledger = GitLedger.local(ws.requestRepo); // one instance: the embedded runner's worker pool
    const ids = Array.from({ length: 20 }, (_, i) => `g-${i}`);
    // Twenty workers record at once; g-3 twice (a retried record), and g-5 is already there.
    await ledger.append(RESULTS_FILE, RESULT_COLUMNS, [resultRow('g-5')], {
      uniqueBy: 'request_id'
    });
    const before = Number(gitSync(ws.requestRepo, 'rev-list', '--count', 'main').trim());
    const outcomes = await Promise.all(
      [...ids, 'g-3'].map(id =>
        ledger.append(RESULTS_FILE, RESULT_COLUMNS, [resultRow(id)], {
          uniqueBy: 'request_id',
          message: `Record ${id}`
        })
      )
    );
    const appended = outcomes.map(o => o.appended);
    // g-5 was recorded before, and of the two g-3 appends only the first counts.
    assert.equal(appended[5], 0);
    assert.equal(appended[3] + appended[20], 1);
    assert.equal(
      appended.reduce((a, b) => a + b, 0),
      19
    );
    const results = parseResults((await ledger.read()).results);
    assert.deepEqual(results.errors, []);
    assert.deepEqual(results.rows.map(r => r.values.request_id).sort(), [...ids].sort());
    const commits = Number(gitSync(ws.requestRepo, 'rev-list', '--count', 'main').trim()) - before;
    assert.ok(commits >= 1 && commits < 19, `${commits} commits for 19 new rows`);
    // Each grouped commit names the records it carries.
    const log = gitSync(ws.requestRepo, 'log', '--format=%B', 'main');
    for (const id of ids.filter(i => i !== 'g-5')) assert.match(log, new RegExp(`Record ${id}\\b`));
    await ledger.close();
  });

  it('shares a queued read between callers, each getting its own copy', async () => {
    const ws = await makeWorkspace();
    const ledger = GitLedger.local(ws.requestRepo);
    const [a, b, c] = await Promise.all([ledger.read(), ledger.read(), ledger.read()]);
    assert.equal(a.sha, b.sha);
    assert.equal(b.sha, c.sha);
    assert.notEqual(a, b);
    // A read asked once an append returned sees it (it never joins an older read).
    const slow = ledger.read();
    await ledger.append(RESULTS_FILE, RESULT_COLUMNS, [resultRow('after')], {
      uniqueBy: 'request_id'
    });
    const later = ledger.read();
    await slow;
    assert.match((await later).results, /after/);
    await ledger.close();
  });

  it('retries rejected (non-fast-forward) pushes: 10 writers without the local lock lose no row', async () => {
    const ws = await makeWorkspace();
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        GitLedger.local(ws.requestRepo, { lock: false }).append(
          RESULTS_FILE,
          RESULT_COLUMNS,
          [resultRow(`u-${i}`)],
          {
            uniqueBy: 'request_id'
          }
        )
      )
    );
    assert.ok(
      outcomes.some(o => o.attempts > 1),
      'no writer was rejected: the writers never raced'
    );
    const ids = parseResults((await GitLedger.local(ws.requestRepo).read()).results).rows.map(
      r => r.values.request_id
    );
    assert.deepEqual(ids.sort(), Array.from({ length: 10 }, (_, i) => `u-${i}`).sort());
    assert.ok(!existsSync(path.join(ws.requestRepo, 'repoguard-append.lock')));
  });

  it('does not append a result whose request_id is already recorded (idempotent)', async () => {
    const ws = await makeWorkspace();
    const ledger = GitLedger.local(ws.requestRepo);
    const first = await ledger.append(RESULTS_FILE, RESULT_COLUMNS, [resultRow('dup')], {
      uniqueBy: 'request_id'
    });
    const second = await ledger.append(
      RESULTS_FILE,
      RESULT_COLUMNS,
      [resultRow('dup'), resultRow('new')],
      { uniqueBy: 'request_id' }
    );
    assert.equal(first.appended, 1);
    assert.equal(second.appended, 1);
    const rows = parseResults((await ledger.read()).results).rows.map(r => r.values.request_id);
    assert.deepEqual(rows, ['dup', 'new']);
  });

  it('keeps a CRLF file with a BOM as it is when appending', async () => {
    const ws = await makeWorkspace();
    const ledger = GitLedger.local(ws.requestRepo);
    gitSync(ws.root, 'clone', '--quiet', ws.requestRepo, 'crlf-clone');
    const clone = `${ws.root}/crlf-clone`;
    const header = '\uFEFF' + REQUEST_COLUMNS.join(',') + '\r\n';
    await writeFile(`${clone}/${REQUESTS_FILE}`, header);
    gitSync(clone, 'commit', '--quiet', '-am', 'crlf');
    gitSync(clone, 'push', '--quiet', 'origin', 'HEAD:main');
    await ledger.append(REQUESTS_FILE, REQUEST_COLUMNS, [
      requestRow({ request_id: 'crlf-1' }) as unknown as Record<string, string>
    ]);
    const text = (await ledger.read()).requests;
    assert.ok(text.startsWith('\uFEFF'));
    assert.equal(text.split('\r\n').length, 3);
    assert.equal(parseRequests(text).rows[0].values.request_id, 'crlf-1');
  });

  it('pending = request rows without a result row, first occurrence of an id only', () => {
    const requests = [
      REQUEST_COLUMNS.join(','),
      'a,pa,https://github.com/o/a,,,,',
      'b,pb,https://github.com/o/b,,,,',
      'a,pa2,https://github.com/o/a2,,,,',
      'c,pc,https://github.com/o/c,,,,'
    ].join('\n');
    const results = [
      RESULT_COLUMNS.join(','),
      'b,pb,https://github.com/o/b,,,approved,,0,0,0,0,,,,,,'
    ].join('\n');
    const { pending, skipped } = pendingRequests(requests, results);
    assert.deepEqual(
      pending.map(p => `${p.values.request_id}:${p.values.package_name}`),
      ['a:pa', 'c:pc']
    );
    assert.equal(skipped.length, 1);
    assert.match(skipped[0], /repeats an earlier row/);
  });
});
