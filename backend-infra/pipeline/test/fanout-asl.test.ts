/**
 * The fan-out's state machine as synthesized by CDK (not a copy), executed
 * by an ASL interpreter: moto's Step Functions (emulator: moto server on
 * 127.0.0.1, CodeBuild's `startBuild.sync` added by support/moto_sfn_codebuild.py).
 * The items file is written to moto's S3 by the list build (ingest's
 * listPending) and read by the Distributed Map's S3 ItemReader; each
 * CodeBuild build is answered by a loopback CodeBuild double running the
 * project's own buildspec command (`repoguard-pipeline list` / `one`, the
 * per-request stage code) on an embedded workspace: real git repos (request
 * repo, sources, mirrors), real bandit and gitleaks, mail over SMTP to a real
 * smtp-server on 127.0.0.1. The one stand-in is `semgrep`, which hangs on
 * the request whose source holds a HANG file, so that request's build
 * outlives its limit. The double runs the request project's 60-minute limit
 * on a short clock (REQUEST_LIMIT_MS) and reports the template's minutes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { runOne } from '../src/runner';
import type { Workspace } from '../src/workspace';
import {
  addRequests,
  cleanPackageFiles,
  gitSync,
  makeRepo,
  makeWorkspace,
  requestRow,
  results
} from './helpers';
import {
  codeBuildDouble,
  createBucket,
  createStateMachine,
  scannerFolder,
  startExecution,
  startMoto,
  synthesizeFanOut,
  waitForExecution,
  type IFanOutTemplate,
  type Moto
} from './support/fanout-engine';

const BUCKET = 'repoguard-artifacts';
/** The request project's limit on the double's clock: the others finish well within it on a loaded machine. */
const REQUEST_LIMIT_MS = 45_000;

describe('fan-out state machine in moto Step Functions (emulator, 127.0.0.1): synthesized ASL, CodeBuild double running the per-request stage', () => {
  let template: IFanOutTemplate;
  let ws: Workspace;
  let moto: Moto;
  let double: ReturnType<typeof codeBuildDouble>;
  let smtp: SMTPServer;
  let stateMachineArn: string;
  const sources = new Map<string, string>();
  /** Mails received, by request id (the X-RepoGuard-Request header). */
  const mails: string[] = [];

  before(async () => {
    // maxRequestsPerRun 4 of 5 pending: the fifth is not reached by the first run.
    template = synthesizeFanOut({ StoreArtifacts: BUCKET }, { maxRequestsPerRun: 4 });
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        let raw = '';
        stream.on('data', c => (raw += String(c)));
        stream.on('end', () => {
          mails.push(/^X-RepoGuard-Request: (.*)$/im.exec(raw)?.[1].trim() ?? '?');
          callback();
        });
      }
    });
    await new Promise<void>(resolve => smtp.listen(0, '127.0.0.1', () => resolve()));
    ws = await makeWorkspace({
      scannerBinDir: await scannerFolder({ real: ['bandit', 'gitleaks'] }),
      scanners: ['bandit', 'gitleaks', 'semgrep'],
      // Longer than the build's limit: the build times out, not the scanner.
      scanTimeoutSeconds: 900,
      mail: {
        transport: 'smtp',
        from: 'repoguard@example.com',
        host: '127.0.0.1',
        port: (smtp.server.address() as AddressInfo).port,
        ignoreTLS: true
      }
    });
    const rows = [];
    for (const i of [1, 2, 3, 4, 5]) {
      const files = cleanPackageFiles(`p${i}`);
      if (i === 3) files.HANG = 'the stand-in semgrep hangs on this source\n';
      const repo = await makeRepo(path.join(ws.sourcesDir, `p${i}`), files);
      sources.set(`p${i}`, repo.sha);
      rows.push(
        requestRow({
          request_id: `r${i}`,
          package_name: `p${i}`,
          repo_url: repo.url,
          requested_at: `2026-11-24T10:0${i}:00Z`
        })
      );
    }
    await addRequests(ws, rows);
    let env: NodeJS.ProcessEnv = {};
    double = codeBuildDouble({
      projects: template.projects,
      workspace: ws.root,
      env: () => ({ ...process.env, ...env }),
      limitMs: p => (p.name.endsWith('-request') ? REQUEST_LIMIT_MS : p.timeoutMinutes * 60_000)
    });
    moto = await startMoto(await double.listen());
    env = moto.env;
    await createBucket(moto, BUCKET);
    stateMachineArn = await createStateMachine(moto, template.definition);
  });

  after(async () => {
    double?.close();
    moto?.stop();
    await new Promise<void>(resolve => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  /** request → how many rows, and the decision/reason/execution of the (first) row. */
  async function ledger() {
    const rows = await results(ws);
    const count = new Map<string, number>();
    for (const r of rows) count.set(r.request_id, (count.get(r.request_id) ?? 0) + 1);
    return { rows, count, byId: new Map(rows.map(r => [r.request_id, r])) };
  }

  /** The tags of each mirror (embedded org), and its main commit. */
  async function mirrors(): Promise<Map<string, { tags: string[]; main: string }>> {
    const out = new Map<string, { tags: string[]; main: string }>();
    if (!existsSync(ws.privateDir)) return out;
    for (const entry of (await readdir(ws.privateDir)).filter(e => e.endsWith('.git'))) {
      const bare = path.join(ws.privateDir, entry);
      out.set(entry.replace(/\.git$/, ''), {
        tags: gitSync(bare, 'tag', '--list').split('\n').filter(Boolean),
        main: gitSync(bare, 'rev-parse', 'refs/heads/main').trim()
      });
    }
    return out;
  }

  function buildsSince(index: number): string[] {
    return [...double.builds.values()]
      .slice(index)
      .map(
        b =>
          `${b.project}:${b.env.REPOGUARD_REQUEST_ID ?? ''}${b.env.REPOGUARD_CHILD_FAILURE ? ':failure' : ''}`
      )
      .sort();
  }

  async function run(names: Array<[string, 'push' | 'sweep']>) {
    const arns = await Promise.all(
      names.map(([name, trigger]) => startExecution(moto, stateMachineArn, name, trigger))
    );
    for (const arn of arns) {
      const described = await waitForExecution(moto, arn, 150_000);
      const outputs = [...double.builds.values()].map(b => `${b.id} ${b.buildStatus}\n${b.output}`);
      assert.equal(
        described.status,
        'SUCCEEDED',
        `${arn}: ${JSON.stringify(described)}\n${outputs.join('\n')}\n${moto.stderr()}`
      );
    }
  }

  it('a push run: one build per listed request, each recorded once; the hung one times out and is recorded error with the reason; the one beyond the max stays pending', async () => {
    assert.match(template.definition, /"Mode":"DISTRIBUTED"/);
    assert.match(template.definition, /arn:aws:states:::codebuild:startBuild\.sync/);
    const map = (JSON.parse(template.definition) as { States: Record<string, any> }).States
      .EachRequest;
    assert.equal(map.ItemReader.Resource, 'arn:aws:states:::s3:getObject');
    assert.deepEqual(map.ItemReader.ReaderConfig, { InputType: 'JSON', MaxItems: 4 });
    assert.equal(map.ItemReader.Parameters.Bucket, BUCKET);
    const t0 = Date.now();
    await run([['push-1', 'push']]);

    const { rows, count, byId } = await ledger();
    assert.deepEqual(
      rows.map(r => [r.request_id, r.decision, r.execution_id]).sort(),
      [
        ['r1', 'approved', 'push-1'],
        ['r2', 'approved', 'push-1'],
        ['r3', 'error', 'push-1'],
        ['r4', 'approved', 'push-1']
      ],
      JSON.stringify(rows.map(r => [r.request_id, r.reason]))
    );
    assert.deepEqual([...count.values()], [1, 1, 1, 1]);
    assert.match(
      byId.get('r3')!.reason,
      /^the request's build repoguard-request:[0-9a-f]+ ended TIMED_OUT after its 60 min limit before a decision \(States\.TaskFailed\); not approved$/
    );
    assert.ok(!byId.has('r5'), 'r5 was beyond maxRequestsPerRun: it stays pending');

    // The list build, one build per listed request, one recording build for the hung one.
    assert.deepEqual(buildsSince(0), [
      'repoguard-list:',
      'repoguard-request:r1',
      'repoguard-request:r2',
      'repoguard-request:r3',
      'repoguard-request:r3:failure',
      'repoguard-request:r4'
    ]);
    const hung = [...double.builds.values()].find(
      b => b.env.REPOGUARD_REQUEST_ID === 'r3' && !b.env.REPOGUARD_CHILD_FAILURE
    )!;
    assert.equal(hung.buildStatus, 'TIMED_OUT');
    assert.ok(Date.now() - t0 >= REQUEST_LIMIT_MS, 'the run waited for the hung build');
    for (const b of double.builds.values()) {
      if (b !== hung) assert.equal(b.buildStatus, 'SUCCEEDED', `${b.id}\n${b.output}`);
    }

    assert.deepEqual([...mails].sort(), ['r1', 'r2', 'r3', 'r4']);
    const published = await mirrors();
    assert.deepEqual([...published.keys()].sort(), ['p1', 'p2', 'p4']);
    for (const [name, mirror] of published) {
      const id = `r${name.slice(1)}`;
      assert.deepEqual(mirror.tags, [id]);
      assert.equal(mirror.main, sources.get(name));
    }
  });

  it('after a child crashed after publishing, two runs at once (push and sweep) and a later sweep: no duplicate row, mirror or mail', async () => {
    // A child of an earlier run died after publishing r5 (before recording it).
    await runOne({
      mode: 'local',
      workspace: ws.root,
      requestId: 'r5',
      executionId: 'crashed-1',
      stopAfter: 'publish',
      write: () => undefined
    });
    assert.deepEqual((await mirrors()).get('p5')?.tags, ['r5']);
    assert.ok(!(await ledger()).byId.has('r5'));

    const before = double.builds.size;
    await run([
      ['push-2', 'push'],
      ['sweep-2', 'sweep']
    ]);
    // Both runs listed r5 (the only pending request) and each ran a build for it.
    assert.deepEqual(buildsSince(before), [
      'repoguard-list:',
      'repoguard-list:',
      'repoguard-request:r5',
      'repoguard-request:r5'
    ]);
    const afterTwo = double.builds.size;
    await run([['sweep-3', 'sweep']]);
    assert.deepEqual(buildsSince(afterTwo), ['repoguard-list:'], 'nothing left pending');

    const { rows, count, byId } = await ledger();
    assert.equal(rows.length, 5);
    assert.deepEqual([...count.values()], [1, 1, 1, 1, 1]);
    assert.equal(byId.get('r5')!.decision, 'approved');
    assert.match(byId.get('r5')!.execution_id, /^(push|sweep)-2$/);
    assert.deepEqual([...mails].sort(), ['r1', 'r2', 'r3', 'r4', 'r5']);
    const published = await mirrors();
    assert.deepEqual([...published.keys()].sort(), ['p1', 'p2', 'p4', 'p5']);
    assert.deepEqual(published.get('p5'), { tags: ['r5'], main: sources.get('p5') });
  });
});
