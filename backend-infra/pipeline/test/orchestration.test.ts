import { randomBytes } from 'node:crypto';
/**
 * Orchestration with stand-in scanner executables (fast and scriptable):
 * fail-closed decisions, scanners in parallel, crash recovery without a second
 * repo or row, the stage subcommands with a manifest, and watch.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REQUESTS_FILE } from '../../../src/common';
import { localAdapters } from '../src/adapters/local';
import { runOnce, watch } from '../src/runner';
import { GitLedger } from '../src/ledger';
import {
  addRequests,
  cleanPackageFiles,
  collector,
  fakeScanners,
  gitSync,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir,
  PIPELINE_CLI
} from './helpers';

/** A token made at run time: it must never appear in the CLI's output. */
const NOT_PRINTED = `ghp_${randomBytes(18).toString('hex')}`;

const execFileP = promisify(execFile);
const BIN = PIPELINE_CLI;

async function workspaceWithCleanRequest(binDir: string, extra: Record<string, unknown> = {}) {
  const ws = await makeWorkspace({
    scannerBinDir: binDir,
    scanners: ['semgrep', 'bandit'],
    ...extra
  });
  const repo = await makeRepo(path.join(ws.sourcesDir, 'tidy'), cleanPackageFiles('tidy'));
  await addRequests(ws, [
    requestRow({ request_id: 'r1', package_name: 'tidy', repo_url: repo.url })
  ]);
  return { ws, repo };
}

describe('fail closed', () => {
  const cases: [string, Record<string, 'ok' | 'crash' | 'hang' | 'nosarif'>, RegExp][] = [
    ['a crashing scanner', { semgrep: 'ok', bandit: 'crash' }, /bandit failed \(exit 2\): boom/],
    ['a missing scanner', { semgrep: 'ok' }, /bandit is not installed/],
    [
      'a scanner that writes no SARIF',
      { semgrep: 'nosarif', bandit: 'ok' },
      /semgrep wrote no readable SARIF/
    ],
    ['a timed-out scanner', { semgrep: 'ok', bandit: 'hang' }, /bandit timed out after 1s/]
  ];
  for (const [name, behaviours, reason] of cases) {
    it(`${name} gives decision error, never approved, and publishes nothing`, async () => {
      const bin = await fakeScanners(behaviours);
      const { ws } = await workspaceWithCleanRequest(bin, { scanTimeoutSeconds: 1 });
      const t0 = Date.now();
      await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
      const [row] = await results(ws);
      assert.equal(row.decision, 'error');
      assert.match(row.reason, reason);
      assert.equal(row.private_repo_url, '');
      assert.deepEqual(await readdir(ws.privateDir), []);
      assert.ok(Date.now() - t0 < 20_000);
    });
  }

  it('an unknown scanner name in the config gives error', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const { ws } = await workspaceWithCleanRequest(bin, {
      scanners: ['semgrep', 'bandit', 'nosuchscanner']
    });
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
    const [row] = await results(ws);
    assert.equal(row.decision, 'error');
    assert.match(row.reason, /unknown scanner nosuchscanner/);
  });
});

describe('scanners run in parallel', () => {
  it('two 1.5 s scanners take well under 1.3 x 1.5 s together', async () => {
    const bin = await fakeScanners({ semgrep: 'sleep:1500', bandit: 'sleep:1500' });
    const { ws } = await workspaceWithCleanRequest(bin);
    const out = collector();
    await runOnce({ mode: 'local', workspace: ws.root, write: out.write });
    const line = out.lines.find(l => /^scan\s+r1/.test(l))!;
    const seconds = Number(/ok (\d+\.\d+)s/.exec(line)![1]);
    assert.ok(seconds >= 1.5, line);
    assert.ok(seconds < 1.3 * 1.5 + 0.5, `scan took ${seconds}s: ${line}`);
    assert.equal((await results(ws))[0].decision, 'approved');
  });
});

describe('idempotent reruns', () => {
  it('a crash after publish and before record creates no second repo and no second row on rerun', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const { ws, repo } = await workspaceWithCleanRequest(bin);
    await runOnce({
      mode: 'local',
      workspace: ws.root,
      write: () => undefined,
      stopAfter: 'publish'
    });
    assert.deepEqual(await results(ws), []);
    const bare = path.join(ws.privateDir, 'tidy.git');
    const refsBefore = gitSync(bare, 'for-each-ref');
    assert.match(refsBefore, /refs\/tags\/r1/);

    const out = collector();
    await runOnce({ mode: 'local', workspace: ws.root, write: out.write });
    assert.match(out.lines.join('\n'), /already published/);
    assert.doesNotMatch(out.lines.join('\n'), /new repo/);
    const rows = await results(ws);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].decision, 'approved');
    assert.equal(rows[0].commit_sha, repo.sha);
    assert.deepEqual(await readdir(ws.privateDir), ['tidy.git']);
    assert.equal(gitSync(bare, 'for-each-ref'), refsBefore);
  });

  it('a second request for an approved name from another source is refused', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const { ws } = await workspaceWithCleanRequest(bin);
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
    const other = await makeRepo(path.join(ws.sourcesDir, 'impostor'), cleanPackageFiles('tidy'));
    await addRequests(ws, [
      requestRow({ request_id: 'r2', package_name: 'tidy', repo_url: other.url })
    ]);
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
    const row = (await results(ws)).find(r => r.request_id === 'r2')!;
    assert.equal(row.decision, 'refused');
    assert.match(row.reason, /^package_name: tidy is already published from file:/);
  });
});

describe('legacy request file', () => {
  it('reads the seed format (BOM, archive URLs) and applies the SSRF guard to its hosts', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const ws = await makeWorkspace({ scannerBinDir: bin, scanners: ['semgrep', 'bandit'] });
    const clone = path.join(await tempDir(), 'req');
    gitSync(path.dirname(clone), 'clone', '--quiet', ws.requestRepo, clone);
    await writeFile(
      path.join(clone, REQUESTS_FILE),
      '\uFEFFPublicPackageRepoName,PublicPackageRepoUrl\r\nrequests,https://github.com/psf/requests/archive/refs/heads/main.zip\r\n'
    );
    gitSync(clone, 'commit', '--quiet', '-am', 'legacy request');
    gitSync(clone, 'push', '--quiet', 'origin', 'HEAD:main');
    // github.com "resolves" to a private address here: refused before any connection.
    const config = await ws.config();
    const adapters = { ...localAdapters(ws, config), resolve: async () => ['10.0.0.7'] };
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined, adapters });
    const [row] = await results(ws);
    assert.equal(row.request_id, 'legacy-1');
    assert.equal(row.repo_url, 'https://github.com/psf/requests');
    assert.equal(row.ref, 'main');
    assert.equal(row.decision, 'refused');
    assert.match(
      row.reason,
      /^repo_url: host github\.com resolves to 10\.0\.0\.7, a private address/
    );
  });
});

describe('stage subcommands with a manifest (as CodeBuild runs them)', () => {
  it('ingest, scan and finish through the CLI give the same result as run', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const { ws, repo } = await workspaceWithCleanRequest(bin);
    const work = await tempDir('rg-cb-');
    const manifest = path.join(work, 'manifest.json');
    const env = { ...process.env, REPOGUARD_EXECUTION_ID: 'exec-cli-1' };
    const ingestOut = await execFileP(
      'node',
      [BIN, 'ingest', '--local', ws.root, '--out', manifest],
      { env }
    );
    assert.match(ingestOut.stdout, /^ingest\s+r1\s+ok \d+\.\d\ds/m);
    const m1 = JSON.parse(await readFile(manifest, 'utf8'));
    assert.equal(m1.items[0].commitSha, repo.sha);
    assert.ok(existsSync(path.join(work, m1.items[0].source, 'pyproject.toml')));
    const scanOut = await execFileP('node', [BIN, 'scan', '--manifest', manifest], { env });
    assert.match(scanOut.stdout, /^scan\s+r1\s+ok/m);
    const finishOut = await execFileP('node', [BIN, 'finish', '--manifest', manifest], { env });
    for (const stage of ['decide', 'publish', 'record', 'notify']) {
      assert.match(finishOut.stdout, new RegExp(`^${stage}\\s+r1\\s+ok`, 'm'));
    }
    const [row] = await results(ws);
    assert.equal(row.decision, 'approved');
    assert.equal(row.execution_id, 'exec-cli-1');
    assert.equal(JSON.parse(await readFile(manifest, 'utf8')).items[0].recorded, true);
    // Rerunning a stage on the same manifest does not record twice.
    await execFileP('node', [BIN, 'record', '--manifest', manifest], { env });
    assert.equal((await results(ws)).length, 1);
  });

  it('in --mode aws, scan runs without credentials and finish fails clearly without its environment', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const { ws } = await workspaceWithCleanRequest(bin);
    const work = await tempDir('rg-cb-aws-');
    const manifest = path.join(work, 'manifest.json');
    await execFileP('node', [BIN, 'ingest', '--local', ws.root, '--out', manifest]);
    const m = JSON.parse(await readFile(manifest, 'utf8'));
    m.mode = 'aws';
    delete m.workspace;
    await writeFile(manifest, JSON.stringify(m));
    const clean: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REPOGUARD_SCANNER_BIN_DIR: bin
    };
    const scanned = await execFileP('node', [BIN, 'scan', '--manifest', manifest], { env: clean });
    assert.match(scanned.stdout, /^scan\s+r1\s+ok/m);
    await assert.rejects(
      execFileP('node', [BIN, 'finish', '--manifest', manifest], {
        env: { ...clean, GITHUB_TOKEN: NOT_PRINTED }
      }),
      (error: { stderr: string; stdout: string }) => {
        assert.match(error.stderr, /REPOGUARD_REQUEST_REPO_URL is required in --mode aws/);
        assert.ok(!`${error.stderr}${error.stdout}`.includes(NOT_PRINTED));
        return true;
      }
    );
    assert.deepEqual(await results(ws), []);
  });

  it('documents every subcommand in --help', async () => {
    const { stdout } = await execFileP('node', [BIN, '--help']);
    for (const command of [
      'init',
      'run',
      'watch',
      'ingest',
      'scan',
      'decide',
      'publish',
      'record',
      'notify',
      'finish'
    ]) {
      assert.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);
    }
  });
});

describe('watch', () => {
  it('processes a request pushed while it watches, then stops on abort', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const ws = await makeWorkspace({ scannerBinDir: bin, scanners: ['semgrep', 'bandit'] });
    const repo = await makeRepo(path.join(ws.sourcesDir, 'later'), cleanPackageFiles('later'));
    const controller = new AbortController();
    let runs = 0;
    const watching = watch({
      mode: 'local',
      workspace: ws.root,
      intervalMs: 100,
      signal: controller.signal,
      write: () => undefined,
      onRun: () => runs++
    });
    await new Promise(r => setTimeout(r, 300));
    await GitLedger.local(ws.requestRepo).append(REQUESTS_FILE, Object.keys(requestRow({})), [
      requestRow({
        request_id: 'w1',
        package_name: 'later',
        repo_url: repo.url
      }) as unknown as Record<string, string>
    ]);
    const deadline = Date.now() + 30_000;
    while ((await results(ws)).length === 0 && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 200));
    }
    controller.abort();
    await watching;
    const rows = await results(ws);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].decision, 'approved');
    assert.ok(runs >= 2, `watch ran ${runs} times`);
  });
});
