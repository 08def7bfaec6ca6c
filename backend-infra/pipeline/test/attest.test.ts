/**
 * Signed decisions: a DSSE envelope around an in-toto Statement v1, signed by
 * the workspace's Ed25519 key; tampering, another key or another statement
 * type never verify.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  archiveSha256,
  AttestationError,
  localSigner,
  signStatement,
  statementFor,
  verifyEnvelope
} from '../src/attest';
import type { IManifestItem } from '../src/types';
import { tempDir } from './helpers';

const SHA = 'a'.repeat(40);

function item(decision: 'approved' | 'refused'): IManifestItem {
  return {
    request: {
      request_id: 'rq-1',
      package_name: 'tidy',
      repo_url: 'https://github.com/example/tidy',
      ref: 'main',
      requester_email: 'ds@example.com',
      justification: '',
      requested_at: '2026-12-01T00:00:00Z'
    },
    row: 2,
    key: 'rq-1',
    commitSha: SHA,
    decision,
    privateRepoUrl: 'file:///ws/private/tidy.git',
    counts: { critical: 0, high: 0, medium: 0, low: 1 }
  };
}

describe('attestations (in-toto Statement v1 in DSSE, Ed25519)', () => {
  it('signs a decision that verifies with the public key only, the private key kept 0600', async () => {
    const keys = path.join(await tempDir('rg-keys-'), 'keys');
    const signer = localSigner(keys);
    const envelope = await signStatement(statementFor(item('approved'), 'exec-1'), signer);
    const pem = await readFile(path.join(keys, 'attestation-ed25519.pub.pem'), 'utf8');
    const statement = verifyEnvelope(envelope, pem);
    assert.equal(statement.subject[0].digest.gitCommit, SHA);
    assert.equal(statement.predicate.decision, 'approved');
    assert.equal((await stat(path.join(keys, 'attestation-ed25519.pem'))).mode & 0o777, 0o600);
    // The same workspace signs with the same key next time.
    assert.equal(await localSigner(keys).publicKeyPem(), pem);
  });

  it('refuses a tampered payload, another key and a swapped payload type', async () => {
    const signer = localSigner(path.join(await tempDir('rg-keys-'), 'keys'));
    const other = localSigner(path.join(await tempDir('rg-keys-'), 'keys'));
    const pem = await signer.publicKeyPem();
    const envelope = await signStatement(statementFor(item('refused'), 'exec-1'), signer);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.decision = 'approved';
    const tampered = {
      ...envelope,
      payload: Buffer.from(JSON.stringify(statement)).toString('base64')
    };
    assert.throws(() => verifyEnvelope(tampered, pem), AttestationError);
    const foreign = await signStatement(statementFor(item('approved'), 'exec-1'), other);
    assert.throws(() => verifyEnvelope(foreign, pem), /no signature verifies/);
    assert.throws(
      () => verifyEnvelope({ ...envelope, payloadType: 'text/plain' }, pem),
      /not an in-toto DSSE envelope/
    );
  });

  it('digests the exact tree of a commit (git archive)', async () => {
    const repo = await tempDir('rg-archive-');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: repo
      })
        .toString()
        .trim();
    git('init', '-q');
    await writeFile(path.join(repo, 'a.py'), 'A = 1\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    const first = git('rev-parse', 'HEAD');
    await writeFile(path.join(repo, 'a.py'), 'A = 2\n');
    git('commit', '-qam', 'two');
    const one = await archiveSha256(repo, first);
    assert.match(one, /^[0-9a-f]{64}$/);
    assert.equal(await archiveSha256(repo, first), one);
    assert.notEqual(await archiveSha256(repo, 'HEAD'), one);
  });
});
