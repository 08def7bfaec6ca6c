/**
 * The AWS adapters against moto in server mode (an emulator started here on
 * 127.0.0.1; `moto[server]` from the python test extra): the SES role is
 * assumed through STS and the mail sent with its credentials (defect 4); the
 * mail's report link is https (defect 7).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from '@aws-sdk/client-s3';
import { CreateEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { parseRequests } from '../../../src/common';
import { drainInbox } from '../src/adapters/aws/inbox';
import { GitLedger } from '../src/ledger';
import { fakeAwsCredentials, makeWorkspace, requestRow } from './helpers';
import { consoleReportLink, sesClient } from '../src/adapters/aws';
import { SesMailer } from '../src/adapters/aws/ses';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..');
const MOTO = path.join(ROOT, '.venv', 'bin', 'moto_server');
/** Test secrets are made at run time, never committed. */
const KEYS = fakeAwsCredentials();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** moto_server on loopback; resolves once it answers. */
export async function startMoto(): Promise<{ endpoint: string; stop: () => void }> {
  assert.ok(existsSync(MOTO), `${MOTO} is missing: install the python test extra (moto[server])`);
  const port = await freePort();
  const child: ChildProcess = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore'
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise(r => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('moto_server did not start');
}

describe('SES through an assumed role (emulator: moto server on 127.0.0.1)', () => {
  let moto: { endpoint: string; stop: () => void };
  const saved = { ...process.env };
  before(async () => {
    moto = await startMoto();
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
    moto = await startMoto();
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
