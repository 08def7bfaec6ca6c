/**
 * End to end in the embedded mode, on a fresh workspace, through real git and
 * the real scanners (semgrep with this repo's rules, bandit): a clean package
 * approved and published, a package with a medium finding refused, hostile
 * rows refused with reasons while the rest of the batch goes on, emails in
 * the outbox, run state files, and a rerun that does nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import type { IResultRow } from '../../../src/common';
import { ATTESTATION_FILE, verifyEnvelope } from '../src/attest';
import { runOnce } from '../src/runner';
import { findExecutable } from '../src/scanners/run';
import type { IManifest } from '../src/types';
import type { Workspace } from '../src/workspace';
import {
  addRequests,
  cleanPackageFiles,
  collector,
  gitSync,
  makeRepo,
  makeWorkspace,
  mediumFindingFiles,
  requestRow,
  results,
  tempDir,
  useVenvScanners
} from './helpers';

describe('embedded pipeline, end to end with real git and real scanners', () => {
  let ws: Workspace;
  let clean: { url: string; sha: string };
  let first: IManifest;
  let rows: IResultRow[];
  const out = collector();
  const byId = (id: string) => rows.find(r => r.request_id === id)!;

  before(async () => {
    useVenvScanners();
    for (const bin of ['semgrep', 'bandit']) {
      assert.ok(
        await findExecutable(bin),
        `${bin} must be installed (on PATH or in the repo's .venv)`
      );
    }
    ws = await makeWorkspace({ maxRepoSizeMB: 1 });
    clean = await makeRepo(
      path.join(ws.sourcesDir, 'statlite'),
      cleanPackageFiles('statlite'),
      'v0.1.0'
    );
    // Later commits on main must not leak into the private repo: only the tag is requested.
    await writeFile(path.join(ws.sourcesDir, 'statlite', 'later.py'), 'X = 1\n');
    gitSync(path.join(ws.sourcesDir, 'statlite'), 'add', '-A');
    gitSync(path.join(ws.sourcesDir, 'statlite'), 'commit', '--quiet', '-m', 'after the tag');

    const medium = await makeRepo(path.join(ws.sourcesDir, 'calc'), mediumFindingFiles('calc'));
    const big = await makeRepo(path.join(ws.sourcesDir, 'big'), {
      'setup.py': 'from setuptools import setup\nsetup(name="big")\n',
      'data.bin': 'x'.repeat(1_300_000)
    });
    const outside = await makeRepo(
      path.join(await tempDir('rg-outside-'), 'elsewhere'),
      cleanPackageFiles('elsewhere')
    );
    await mkdir(path.join(ws.sourcesDir, 'links'), { recursive: true });
    await symlink(new URL(outside.url).pathname, path.join(ws.sourcesDir, 'links', 'escape'));

    await addRequests(ws, [
      requestRow({
        request_id: 'r-clean',
        package_name: 'statlite',
        repo_url: clean.url,
        ref: 'v0.1.0'
      }),
      requestRow({
        request_id: 'r-http',
        package_name: 'plain',
        repo_url: 'http://github.com/a/b'
      }),
      requestRow({
        request_id: 'r-creds',
        package_name: 'creds',
        repo_url: 'https://user:secret@github.com/a/b'
      }),
      requestRow({
        request_id: 'r-optref',
        package_name: 'optref',
        repo_url: clean.url,
        ref: '--upload-pack=touch /tmp/pwned'
      }),
      requestRow({
        request_id: 'r-ext',
        package_name: 'ext',
        repo_url: 'ext::sh -c touch% /tmp/pwned'
      }),
      requestRow({
        request_id: 'r-host',
        package_name: 'host',
        repo_url: 'https://gitlab.example.org/a/b'
      }),
      requestRow({
        request_id: 'r-dns',
        package_name: 'dns',
        repo_url: 'https://evil.invalid/a/b'
      }),
      requestRow({ request_id: 'r-outside', package_name: 'outside', repo_url: outside.url }),
      requestRow({
        request_id: 'r-dotdot',
        package_name: 'dotdot',
        repo_url: `file://${ws.sourcesDir}/../requests.git`
      }),
      requestRow({
        request_id: 'r-symlink',
        package_name: 'symlink',
        repo_url: `file://${ws.sourcesDir}/links/escape`
      }),
      requestRow({ request_id: 'r-name', package_name: '../../etc/passwd', repo_url: clean.url }),
      requestRow({ request_id: '=HYPERLINK("x")', package_name: 'formula', repo_url: clean.url }),
      requestRow({
        request_id: 'r-shell',
        package_name: 'shell',
        repo_url: clean.url,
        requester_email: 'a@b.com; rm -rf /'
      }),
      requestRow({ request_id: 'r-big', package_name: 'big', repo_url: big.url }),
      requestRow({
        request_id: 'r-noref',
        package_name: 'noref',
        repo_url: clean.url,
        ref: 'no-such-branch'
      }),
      requestRow({
        request_id: 'r-medium',
        package_name: 'calc',
        repo_url: medium.url,
        requester_email: 'owner@example.com'
      })
    ]);
    first = await runOnce({ mode: 'local', workspace: ws.root, write: out.write });
    rows = await results(ws);
  });

  it('records one results row per request, in the contract columns', () => {
    assert.equal(rows.length, 16);
    assert.equal(new Set(rows.map(r => r.request_id)).size, 16);
    for (const row of rows) {
      assert.match(row.decision, /^(approved|refused|error)$/);
      assert.equal(row.execution_id, first.executionId);
    }
  });

  it('approves the clean package and publishes exactly the scanned commit, tagged with the request id', async () => {
    const row = byId('r-clean');
    assert.equal(row.decision, 'approved', row.reason);
    assert.equal(row.commit_sha, clean.sha);
    assert.equal(row.reason, '');
    // The contract's dependency cell keeps environment markers (`name spec | marker`).
    assert.equal(
      row.dependencies,
      "requests >=2.31; numpy >=1.24,<3; importlib-metadata >=6 | python_version < '3.10'"
    );
    const bare = path.join(ws.privateDir, 'statlite.git');
    assert.equal(row.private_repo_url, `file://${bare}`);
    assert.equal(row.report_url, 'reports/r-clean/report.html');
    const refs = gitSync(bare, 'for-each-ref', '--format=%(refname) %(objectname)')
      .trim()
      .split('\n');
    assert.deepEqual(refs.sort(), [
      `refs/heads/main ${clean.sha}`,
      `refs/tags/r-clean ${clean.sha}`
    ]);
    const files = gitSync(bare, 'ls-tree', '-r', '--name-only', clean.sha).trim().split('\n');
    assert.ok(!files.includes('later.py'), 'a commit after the requested tag was published');
    assert.deepEqual(await readdir(ws.privateDir), ['statlite.git']);
  });

  it('signs each decision: the approval verifies with the workspace key and names the published commit', async () => {
    const pem = await readFile(path.join(ws.keysDir, 'attestation-ed25519.pub.pem'), 'utf8');
    const read = async (id: string) =>
      verifyEnvelope(
        JSON.parse(await readFile(path.join(ws.reportsDir, id, ATTESTATION_FILE), 'utf8')),
        pem
      );
    const approved = await read('r-clean');
    assert.equal(approved.predicate.decision, 'approved');
    assert.equal(approved.subject[0].digest.gitCommit, clean.sha);
    assert.match(approved.subject[0].digest.sha256, /^[0-9a-f]{64}$/);
    assert.equal(approved.predicate.privateRepoUrl, byId('r-clean').private_repo_url);
    assert.deepEqual(
      approved.predicate.scanners.map(s => s.status),
      approved.predicate.scanners.map(() => 'ok')
    );
    assert.equal((await read('r-medium')).predicate.decision, 'refused');
  });

  it('refuses the package with a medium finding, naming the finding', () => {
    const row = byId('r-medium');
    assert.equal(row.decision, 'refused');
    assert.equal(row.max_severity, 'medium');
    assert.ok(Number(row.medium) >= 1);
    assert.match(row.reason, /at or above medium/);
    assert.match(row.reason, /calc\.py:5/);
    assert.equal(row.private_repo_url, '');
    assert.equal(row.dependencies, 'click >=8');
    assert.ok(!existsSync(path.join(ws.privateDir, 'calc.git')));
  });

  it('refuses each hostile row with a reason that names the field', () => {
    const expected: Record<string, RegExp> = {
      'r-http': /^repo_url: must use https/,
      'r-creds': /^repo_url: must not contain credentials/,
      'r-optref': /^ref: must not start with "-"/,
      'r-ext': /^repo_url: /,
      'r-host': /^repo_url: host gitlab\.example\.org is not on the allow list/,
      'r-dns': /^repo_url: host evil\.invalid does not resolve/,
      'r-outside': /^repo_url: a file:\/\/ source must lie under/,
      'r-dotdot': /^repo_url: /,
      'r-symlink': /^repo_url: a file:\/\/ source must lie under .* \(it resolves to /,
      'r-name': /^package_name: /,
      '=HYPERLINK("x")': /^request_id: /,
      'r-shell': /^requester_email: /,
      'r-big': /^repo_url: repository is 1\.2 MB, over the limit of 1 MB/,
      'r-noref': /^ref: no-such-branch was not found/
    };
    for (const [id, reason] of Object.entries(expected)) {
      const row = byId(id);
      assert.equal(row.decision, 'refused', `${id}: ${row.reason}`);
      assert.match(row.reason, reason, id);
      assert.equal(row.private_repo_url, '');
    }
    assert.ok(!existsSync('/tmp/pwned'));
  });

  it('prints one line per stage per request with the elapsed time', () => {
    for (const stage of ['ingest', 'scan', 'decide', 'publish', 'record', 'notify']) {
      assert.ok(
        out.lines.some(l => new RegExp(`^${stage}\\s+r-clean\\s+ok \\d+\\.\\d\\ds`).test(l)),
        `no ${stage} line for r-clean in:\n${out.lines.join('\n')}`
      );
    }
    assert.equal(out.lines.filter(l => /^ingest\s+r-medium /.test(l)).length, 1);
    assert.equal(out.lines.filter(l => /^scan\s+r-medium /.test(l)).length, 1);
  });

  it('writes the run state of each request atomically, ending with its decision', async () => {
    const state = JSON.parse(await readFile(path.join(ws.stateDir, 'r-clean.json'), 'utf8'));
    assert.equal(state.request_id, 'r-clean');
    assert.equal(state.stage, 'done');
    assert.equal(state.status, 'approved');
    assert.equal(state.execution_id, first.executionId);
    assert.ok(Date.parse(state.started_at) <= Date.parse(state.updated_at));
    const refused = JSON.parse(await readFile(path.join(ws.stateDir, 'r-medium.json'), 'utf8'));
    assert.equal(refused.status, 'refused');
    const names = await readdir(ws.stateDir);
    assert.ok(!names.some(n => n.endsWith('.tmp')), names.join(','));
    assert.ok(!names.some(n => n.includes('HYPERLINK')), 'a hostile request id named a file');
  });

  it('stores the report (merged SARIF, Markdown, HTML) beside the results', async () => {
    const dir = path.join(ws.reportsDir, 'r-medium');
    const sarif = JSON.parse(await readFile(path.join(dir, 'report.sarif'), 'utf8'));
    assert.equal(sarif.version, '2.1.0');
    assert.deepEqual(
      sarif.runs.map((r: { tool: { driver: { name: string } } }) => r.tool.driver.name).sort(),
      [
        'Bandit',
        'Checkov',
        'GuardDog',
        'RepoGuard dynamic (bubblewrap + strace)',
        'RepoGuard licence',
        'Semgrep OSS',
        'gitleaks',
        'osv-scanner',
        'picklescan'
      ]
    );
    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, /B307/);
    const md = await readFile(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /\*\*refused\*\*/);
    // The SCA scan's advisory data (install-scanners.sh's .tools/osv-db): source and date.
    assert.match(md, /^- Advisory data: .+, dated \d{4}-\d{2}-\d{2}.*; offline$/m);
    assert.match(html, /<li>Advisory data: .+, dated \d{4}-\d{2}-\d{2}/);
  });

  it('mails each requester a multipart text+HTML message with the decision and the install command', async () => {
    const eml = await readFile(path.join(ws.outboxDir, 'r-clean.eml'));
    const mail = await simpleParser(eml);
    assert.equal(mail.subject, '[RepoGuard] statlite: approved');
    assert.match(mail.text ?? '', /%repoguard install statlite/);
    assert.match(String(mail.html), /%repoguard install statlite/);
    assert.match(eml.toString(), /multipart\/alternative/);
    const refused = await simpleParser(await readFile(path.join(ws.outboxDir, 'r-medium.eml')));
    assert.equal((refused.to as { text: string }).text, 'owner@example.com');
    // The finding that refused it: eval of an environment value at import (a
    // code-injection sink; bandit's B307, the capability, is reported beside it).
    assert.match(refused.text ?? '', /repoguard\.python\.eval-environment/);
    assert.match(refused.text ?? '', /calc\.py:5/);
    assert.doesNotMatch(refused.text ?? '', /%repoguard install/);
  });

  it('does nothing on a rerun: no new row, no new repo, no new mail', async () => {
    const before = await readdir(ws.outboxDir);
    const tip = gitSync(ws.requestRepo, 'rev-parse', 'main');
    const again = collector();
    const manifest = await runOnce({ mode: 'local', workspace: ws.root, write: again.write });
    assert.equal(manifest.items.length, 0);
    assert.match(again.lines.join('\n'), /nothing pending/);
    assert.equal((await results(ws)).length, 16);
    assert.equal(gitSync(ws.requestRepo, 'rev-parse', 'main'), tip);
    assert.deepEqual(await readdir(ws.outboxDir), before);
    assert.deepEqual(await readdir(ws.privateDir), ['statlite.git']);
  });
});
