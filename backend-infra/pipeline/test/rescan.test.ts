/**
 * Re-scan and revocation, end to end in the embedded mode with the real
 * osv-scanner: a package is approved against one advisory set; an advisory
 * for the exact version it pins is then added to the local advisory data;
 * `rescan` revokes it (results row, signed attestation, mail to the
 * requester and InfoSec), and a second re-scan changes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ATTESTATION_FILE, verifyEnvelope } from '../src/attest';
import { INFOSEC_EMAIL_ENV, infosecAddress, rescanOnce } from '../src/rescan';
import { runOnce } from '../src/runner';
import type { Workspace } from '../src/workspace';
import {
  addRequests,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir,
  useVenvScanners
} from './helpers';

const ADVISORIES = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'pipeline',
  'advisories',
  'PyPI'
);

/** An osv-scanner offline database holding the bundled advisories plus `extra` records. */
async function advisoryDb(extra: object[]): Promise<string> {
  const db = await tempDir('rg-osv-');
  const folder = path.join(db, 'osv-scalibr', 'PyPI');
  await mkdir(folder, { recursive: true });
  const records = path.join(db, 'records');
  await mkdir(records);
  for (const name of await readdir(ADVISORIES)) {
    if (name.endsWith('.json')) {
      await writeFile(path.join(records, name), await readFile(path.join(ADVISORIES, name)));
    }
  }
  for (const [i, record] of extra.entries()) {
    await writeFile(path.join(records, `EXTRA-${i}.json`), JSON.stringify(record));
  }
  execFileSync('python3', [
    '-c',
    'import sys, zipfile, pathlib\n' +
      'with zipfile.ZipFile(sys.argv[1], "w") as z:\n' +
      '    for p in sorted(pathlib.Path(sys.argv[2]).glob("*.json")): z.write(p, p.name)',
    path.join(folder, 'all.zip'),
    records
  ]);
  return db;
}

const NEW_ADVISORY = {
  id: 'PYSEC-2099-1',
  modified: '2026-12-01T00:00:00Z',
  published: '2026-12-01T00:00:00Z',
  summary: 'Remote code execution in rg-pinned-dep (test advisory)',
  details: 'A test advisory added after the approval.',
  affected: [
    {
      package: { ecosystem: 'PyPI', name: 'rg-pinned-dep', purl: 'pkg:pypi/rg-pinned-dep' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.1' }] }],
      versions: ['1.0.0']
    }
  ],
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }]
};

describe('rescan: approvals revisited against new advisories', () => {
  let ws: Workspace;
  let sha: string;
  const saved = process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
  const quiet = () => undefined;

  before(async () => {
    useVenvScanners();
    ws = await makeWorkspace({ scanners: ['osv'] });
    const config = JSON.parse(await readFile(ws.configFile, 'utf8'));
    config.mail = { ...config.mail, infosec: 'infosec@example.com' };
    await writeFile(ws.configFile, JSON.stringify(config, null, 2));
    const repo = await makeRepo(path.join(ws.sourcesDir, 'pinned'), {
      'setup.py': 'from setuptools import setup\nsetup(name="pinned", version="1.0")\n',
      'requirements.txt': 'rg-pinned-dep==1.0.0\n'
    });
    sha = repo.sha;
    await addRequests(ws, [
      requestRow({ request_id: 'r-pinned', package_name: 'pinned', repo_url: repo.url })
    ]);
    process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = await advisoryDb([]);
    await runOnce({ mode: 'local', workspace: ws.root, write: quiet });
  });
  after(() => {
    if (saved === undefined) delete process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
    else process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = saved;
  });

  it('keeps an approval the current advisories do not fail', async () => {
    const [row] = await results(ws);
    assert.equal(row.decision, 'approved', row.reason);
    const outcome = await rescanOnce({ workspace: ws.root, write: quiet });
    assert.deepEqual(
      { checked: outcome.checked, revoked: outcome.revoked, failed: outcome.failed },
      { checked: 1, revoked: [], failed: [] }
    );
    assert.equal((await results(ws)).length, 1);
  });

  it('revokes it once an advisory names the version it pins: row, signed decision, mails', async () => {
    process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = await advisoryDb([NEW_ADVISORY]);
    const before = (await readdir(ws.outboxDir)).length;
    const outcome = await rescanOnce({ workspace: ws.root, write: quiet });
    assert.equal(outcome.revoked.length, 1, JSON.stringify(outcome));
    const rows = await results(ws);
    const revoked = rows.find(r => r.decision === 'revoked')!;
    assert.ok(revoked, JSON.stringify(rows));
    assert.equal(revoked.request_id, 'r-pinned-revoked-1');
    assert.equal(revoked.package_name, 'pinned');
    assert.equal(revoked.commit_sha, sha);
    assert.equal(revoked.private_repo_url, '');
    assert.match(revoked.reason, /^revoked on re-scan: refused by the vulnerability gate/);
    assert.match(revoked.reason, /PYSEC-2099-1/);
    const pem = await readFile(path.join(ws.keysDir, 'attestation-ed25519.pub.pem'), 'utf8');
    const statement = verifyEnvelope(
      JSON.parse(
        await readFile(path.join(ws.reportsDir, 'r-pinned-revoked-1', ATTESTATION_FILE), 'utf8')
      ),
      pem
    );
    assert.equal(statement.predicate.decision, 'revoked');
    assert.equal(statement.predicate.requestId, 'r-pinned');
    assert.equal(statement.subject[0].digest.gitCommit, sha);
    assert.ok(statement.predicate.revokes);
    const mails = (await readdir(ws.outboxDir)).sort();
    assert.equal(mails.length - before, 2, mails.join(', '));
    const texts = await Promise.all(
      mails
        .filter(m => m.startsWith('r-pinned-revoked-1'))
        .map(m => readFile(path.join(ws.outboxDir, m), 'utf8'))
    );
    assert.equal(texts.length, 2);
    assert.ok(texts.some(t => /^To: ds@example\.com/m.test(t)));
    assert.ok(texts.some(t => /^To: infosec@example\.com/m.test(t)));
    assert.ok(texts.every(t => /pinned: approval revoked/.test(t)));
  });

  it('does nothing more on the next re-scan: a revoked commit is not checked again', async () => {
    const outcome = await rescanOnce({ workspace: ws.root, write: quiet });
    assert.equal(outcome.checked, 0);
    assert.equal((await results(ws)).filter(r => r.decision === 'revoked').length, 1);
  });
});

describe('rescan: InfoSec address from the deployment (REPOGUARD_INFOSEC_EMAIL)', () => {
  let ws: Workspace;
  const savedDb = process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
  const savedInfosec = process.env[INFOSEC_EMAIL_ENV];
  const quiet = () => undefined;

  before(async () => {
    useVenvScanners();
    // No mail.infosec in the config: the AWS deployment sets none, only the project's env.
    ws = await makeWorkspace({ scanners: ['osv'] });
    const config = JSON.parse(await readFile(ws.configFile, 'utf8'));
    assert.equal(config.mail.infosec, undefined);
    const repo = await makeRepo(path.join(ws.sourcesDir, 'pinned-env'), {
      'setup.py': 'from setuptools import setup\nsetup(name="pinned-env", version="1.0")\n',
      'requirements.txt': 'rg-pinned-dep==1.0.0\n'
    });
    await addRequests(ws, [
      requestRow({ request_id: 'r-env', package_name: 'pinned-env', repo_url: repo.url })
    ]);
    process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = await advisoryDb([]);
    await runOnce({ mode: 'local', workspace: ws.root, write: quiet });
    assert.equal((await results(ws))[0].decision, 'approved');
  });
  after(() => {
    for (const [name, value] of [
      ['OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY', savedDb],
      [INFOSEC_EMAIL_ENV, savedInfosec]
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('with the variable set and no mail.infosec, the revocation mail goes to that address too', async () => {
    process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = await advisoryDb([NEW_ADVISORY]);
    process.env[INFOSEC_EMAIL_ENV] = 'secops@example.com';
    const outcome = await rescanOnce({ workspace: ws.root, write: quiet });
    assert.equal(outcome.revoked.length, 1, JSON.stringify(outcome));
    const mails = (await readdir(ws.outboxDir)).filter(m => m.startsWith('r-env-revoked-1'));
    const texts = await Promise.all(mails.map(m => readFile(path.join(ws.outboxDir, m), 'utf8')));
    const to = texts.map(t => /^To: (.*)$/m.exec(t)?.[1]?.trim()).sort();
    assert.deepEqual(to, ['ds@example.com', 'secops@example.com']);
    assert.ok(texts.every(t => /pinned-env: approval revoked/.test(t)));
  });

  it('the variable wins over mail.infosec; a value that is not one address is reported, not used', () => {
    const lines: string[] = [];
    const write = (line: string) => void lines.push(line);
    const mail = { infosec: 'config@example.com' };
    assert.equal(
      infosecAddress({ [INFOSEC_EMAIL_ENV]: 'env@example.com' }, mail, write),
      'env@example.com'
    );
    assert.equal(infosecAddress({}, mail, write), 'config@example.com');
    assert.equal(infosecAddress({}, undefined, write), undefined);
    assert.deepEqual(lines, []);
    const bad = 'a@example.com, b@example.com';
    assert.equal(infosecAddress({ [INFOSEC_EMAIL_ENV]: bad }, mail, write), 'config@example.com');
    assert.equal(
      infosecAddress({ [INFOSEC_EMAIL_ENV]: 'x@y\r\nBcc: z@w' }, undefined, write),
      undefined
    );
    assert.equal(lines.length, 2);
    assert.match(lines[0], /REPOGUARD_INFOSEC_EMAIL is not one email address/);
  });
});
