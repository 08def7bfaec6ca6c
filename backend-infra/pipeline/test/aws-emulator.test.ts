/**
 * The AWS adapters against moto in server mode (an emulator started here on
 * 127.0.0.1; `moto[server]` from the python test extra): the SES role is
 * assumed through STS and the mail sent with its credentials (defect 4); the
 * mail's report link is https (defect 7); the KMS attestation signer signs
 * envelopes that the Python installer's verifier and node's verify accept.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from '@aws-sdk/client-s3';
import { CreateEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { CreateKeyCommand, KMSClient, VerifyCommand } from '@aws-sdk/client-kms';
import {
  AttestationError,
  KMS_RAW_LIMIT,
  kmsSigner,
  PAYLOAD_TYPE,
  signStatement,
  statementFor,
  verifyEnvelope,
  type IEnvelope
} from '../src/attest';
import { dsse } from '@sigstore/core';
import { parseRequests } from '../../../src/common';
import { drainInbox } from '../src/adapters/aws/inbox';
import { GitLedger } from '../src/ledger';
import { fakeAwsCredentials, makeWorkspace, requestRow } from './helpers';
import { startMotoServer } from './support/moto';
import { consoleReportLink, sesClient } from '../src/adapters/aws';
import { SesMailer } from '../src/adapters/aws/ses';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..');
/** Test secrets are made at run time, never committed. */
const KEYS = fakeAwsCredentials();

describe('SES through an assumed role (emulator: moto server on 127.0.0.1)', () => {
  let moto: { endpoint: string; stop: () => void };
  const saved = { ...process.env };
  before(async () => {
    moto = await startMotoServer();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
      AWS_REGION: 'eu-west-1'
    });
  });
  after(() => {
    moto?.stop();
    process.env = saved;
  });

  it('REPOGUARD_SES_ROLE_ARN is assumed (STS) and the mail is sent with its credentials', async () => {
    const env = {
      ...process.env,
      REPOGUARD_SES_ROLE_ARN: 'arn:aws:iam::333333333333:role/repoguard-mail-sender'
    };
    const client = sesClient(env);
    const credentials = await client.config.credentials();
    assert.notEqual(credentials.accessKeyId, KEYS.accessKeyId);
    assert.ok(credentials.sessionToken, 'temporary credentials from sts:AssumeRole');
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'repoguard@example.com' }));
    const id = await new SesMailer(client, 'repoguard@example.com').send({
      to: 'ds@example.com',
      key: 'r1',
      subject: 'approved',
      text: 'hello',
      html: '<p>hello</p>'
    });
    assert.ok(id);
  });

  it('without the variable the stage role itself sends', async () => {
    const env = { ...process.env };
    delete env.REPOGUARD_SES_ROLE_ARN;
    const credentials = await sesClient(env).config.credentials();
    assert.equal(credentials.accessKeyId, KEYS.accessKeyId);
  });
});

describe('request inbox in S3 (emulator: moto server on 127.0.0.1)', () => {
  let moto: { endpoint: string; stop: () => void };
  before(async () => {
    moto = await startMotoServer();
  });
  after(() => moto?.stop());

  it('moves each valid inbox object into one request row and drops malformed ones, naming the field', async () => {
    const client = new S3Client({
      endpoint: moto.endpoint,
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: KEYS.accessKeyId, secretAccessKey: KEYS.secretAccessKey }
    });
    await client.send(new CreateBucketCommand({ Bucket: 'reports' }));
    const put = (key: string, body: string) =>
      client.send(new PutObjectCommand({ Bucket: 'reports', Key: key, Body: body }));
    const good = requestRow({ request_id: 'rq-1', package_name: 'tidy' });
    await put('inbox/rq-1.json', JSON.stringify({ version: 1, request: good }));
    await put('inbox/rq-2.json', 'not json');
    await put(
      'inbox/rq-3.json',
      JSON.stringify({ version: 1, request: { ...good, request_id: 'rq-9' } })
    );
    await put(
      'inbox/rq-4.json',
      JSON.stringify({ version: 1, request: { ...good, request_id: 'rq-4', approved: 'yes' } })
    );
    const ws = await makeWorkspace();
    const ledger = GitLedger.local(ws.requestRepo);
    const lines: string[] = [];
    const drained = await drainInbox(
      { client, bucket: 'reports', prefix: 'inbox/', log: l => lines.push(l) },
      ledger
    );
    assert.deepEqual(drained, { appended: 1, dropped: 3 });
    const rows = parseRequests((await ledger.read()).requests).rows.map(r => r.values);
    assert.deepEqual(
      rows.map(r => [r.request_id, r.package_name]),
      [['rq-1', 'tidy']]
    );
    const left = await client.send(
      new ListObjectsV2Command({ Bucket: 'reports', Prefix: 'inbox/' })
    );
    assert.equal(left.KeyCount ?? 0, 0);
    assert.ok(
      lines.some(l => /rq-2\.json: object is not JSON/.test(l)),
      lines.join('\n')
    );
    assert.ok(lines.some(l => /rq-3\.json: request_id does not match/.test(l)));
    assert.ok(lines.some(l => /rq-4\.json: approved is not a request column/.test(l)));
    await ledger.close?.();
  });
});

describe('report link in the mail', () => {
  it('is an https S3 console link of the report object, not s3://', () => {
    const link = consoleReportLink('s3://rg-reports-1/reports/r1/report.html', 'eu-west-1');
    assert.equal(
      link,
      'https://eu-west-1.console.aws.amazon.com/s3/object/rg-reports-1?region=eu-west-1&bucketType=general&prefix=reports%2Fr1%2Freport.html'
    );
  });
});

/** The Python installer's verifier (repoguard.attestation) on an envelope: its decision, or the refusal. */
function pythonVerify(envelope: IEnvelope, publicKeyPem: string): string {
  const program = [
    'import sys, json',
    'from repoguard.attestation import verify_envelope, AttestationError',
    'data = json.load(sys.stdin)',
    'try:',
    '    d = verify_envelope(data["envelope"].encode(), data["key"].encode())',
    '    print(d.decision, d.commit_sha)',
    'except AttestationError as e:',
    '    print("refused:", e)'
  ].join('\n');
  return execFileSync(path.join(ROOT, '.venv', 'bin', 'python'), ['-c', program], {
    cwd: ROOT,
    input: JSON.stringify({ envelope: JSON.stringify(envelope), key: publicKeyPem }),
    encoding: 'utf8'
  }).trim();
}

describe('KMS attestation signer against moto (server on 127.0.0.1)', () => {
  let moto: { endpoint: string; stop: () => void };
  let client: KMSClient;
  before(async () => {
    moto = await startMotoServer();
    client = new KMSClient({
      endpoint: moto.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: KEYS.accessKeyId, secretAccessKey: KEYS.secretAccessKey }
    });
  });
  after(() => moto?.stop());

  const sha = 'c'.repeat(40);
  const approved = statementFor(
    {
      request: {
        request_id: 'rq-kms',
        package_name: 'tidy',
        repo_url: 'https://github.com/example/tidy',
        ref: 'main',
        requester_email: 'ds@example.com',
        justification: '',
        requested_at: '2026-12-01T00:00:00Z'
      },
      row: 2,
      key: 'rq-kms',
      commitSha: sha,
      decision: 'approved',
      privateRepoUrl: 'https://github.com/acme-mirrors/tidy.git'
    },
    'exec-kms'
  );

  it('signs with an ECC_NIST_P256 key (RAW); node, KMS Verify and the Python verifier accept it', async () => {
    const key = await client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
    );
    const arn = key.KeyMetadata!.Arn!;
    const signer = kmsSigner(client, arn);
    const envelope = await signStatement(approved, signer);
    const pem = await signer.publicKeyPem();
    assert.match(pem, /BEGIN PUBLIC KEY/);
    assert.equal(verifyEnvelope(envelope, pem).subject[0].digest.gitCommit, sha);
    // KMS itself agrees: the signature is over the DSSE PAE.
    const pae = dsse.preAuthEncoding(PAYLOAD_TYPE, Buffer.from(envelope.payload, 'base64'));
    assert.ok(pae.length <= KMS_RAW_LIMIT);
    const verified = await client.send(
      new VerifyCommand({
        KeyId: arn,
        Message: pae,
        MessageType: 'RAW',
        Signature: Buffer.from(envelope.signatures[0].sig, 'base64'),
        SigningAlgorithm: 'ECDSA_SHA_256'
      })
    );
    assert.equal(verified.SignatureValid, true);
    assert.equal(pythonVerify(envelope, pem), `approved ${sha}`);
    // A changed statement does not verify, in node or in Python.
    const forged = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    forged.subject[0].digest.gitCommit = 'd'.repeat(40);
    const tampered = {
      ...envelope,
      payload: Buffer.from(JSON.stringify(forged)).toString('base64')
    };
    assert.throws(() => verifyEnvelope(tampered, pem), AttestationError);
    assert.match(pythonVerify(tampered, pem), /^refused: .*does not verify/);
    // Another KMS key's envelope does not verify with this key.
    const other = await client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
    );
    const foreign = await signStatement(approved, kmsSigner(client, other.KeyMetadata!.Arn!));
    assert.throws(() => verifyEnvelope(foreign, pem), AttestationError);
    assert.match(pythonVerify(foreign, pem), /^refused: /);
  });

  it('refuses a key that is not ECC_NIST_P256 / SIGN_VERIFY', async () => {
    const rsa = await client.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })
    );
    await assert.rejects(
      signStatement(approved, kmsSigner(client, rsa.KeyMetadata!.Arn!)),
      /RSA_2048\/SIGN_VERIFY, not ECC_NIST_P256/
    );
  });

  it('sends a PAE over 4,096 bytes as its SHA-256 digest (MessageType DIGEST)', async () => {
    // moto 5.2 ignores MessageType (it would hash the digest again), so this one records the
    // Sign request and answers as KMS does: an ECDSA_SHA_256 signature over the digest given.
    const { generateKeyPairSync, sign, createHash } = await import('node:crypto');
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sent: Record<string, unknown>[] = [];
    let signedData: Buffer | undefined;
    const fake = {
      send: async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
        if (command.constructor.name === 'GetPublicKeyCommand') {
          return {
            KeySpec: 'ECC_NIST_P256',
            KeyUsage: 'SIGN_VERIFY',
            SigningAlgorithms: ['ECDSA_SHA_256'],
            PublicKey: pair.publicKey.export({ format: 'der', type: 'spki' })
          };
        }
        sent.push(command.input);
        // The digest KMS receives must be sha256 of the PAE this test signs below.
        assert.deepEqual(command.input.Message, createHash('sha256').update(signedData!).digest());
        return { Signature: sign('sha256', signedData!, pair.privateKey) };
      }
    };
    const big = structuredClone(approved);
    big.predicate.reason = 'x'.repeat(KMS_RAW_LIMIT);
    signedData = dsse.preAuthEncoding(PAYLOAD_TYPE, Buffer.from(JSON.stringify(big), 'utf8'));
    const signer = kmsSigner(fake as unknown as KMSClient, 'alias/repoguard-attestation');
    const envelope = await signStatement(big, signer);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].MessageType, 'DIGEST');
    assert.equal(sent[0].SigningAlgorithm, 'ECDSA_SHA_256');
    assert.equal(
      verifyEnvelope(envelope, await signer.publicKeyPem()).predicate.reason.length,
      4096
    );
  });
});
