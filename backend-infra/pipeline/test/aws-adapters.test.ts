import { randomBytes } from 'node:crypto';
/**
 * Production adapters against recorded / spec-derived responses, never a real
 * host: octokit through its `request.fetch` seam (GitHub REST API docs'
 * response shapes), and the AWS SDK v3 clients (S3, SESv2, Secrets Manager)
 * against a local HTTP server on 127.0.0.1 answering as the service APIs do.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Octokit } from '@octokit/rest';
import { simpleParser } from 'mailparser';
import { GitHubPublisher } from '../src/adapters/aws/github';
import { retryDelayMs } from '../src/adapters/aws/retry';
import { S3ReportStore } from '../src/adapters/aws/s3';
import { gitAuthEnv, githubToken } from '../src/adapters/aws/secrets';
import { SesMailer } from '../src/adapters/aws/ses';
import { Progress } from '../src/progress';
import { errorMessage, redact } from '../src/redact';
import { gitSync, makeRepo, tempDir } from './helpers';

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined
};
// Test secrets are made at run time, never committed.
const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const ACCESS_KEY_ID = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
const ORG = 'acme-approved';
const CREDENTIALS = {
  accessKeyId: ACCESS_KEY_ID,
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
};

interface ICall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

/** A fetch stub answering from a queue of recorded responses per "METHOD path". */
function githubFetch(routes: Record<string, Reply[]>, calls: ICall[]) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    );
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]).forEach(
      (v, k) => (headers[k] = v)
    );
    const pathname = decodeURIComponent(url.pathname);
    calls.push({
      method,
      url: pathname,
      headers,
      body: typeof init?.body === 'string' ? init.body : ''
    });
    const queue = routes[`${method} ${pathname}`];
    const reply = queue && queue.length > 1 ? queue.shift()! : queue?.[0];
    if (!reply) {
      return new Response(JSON.stringify({ message: 'Not Found' }), { status: 404 });
    }
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...reply.headers }
    });
  };
}

const notFound = {
  message: 'Not Found',
  documentation_url: 'https://docs.github.com/rest/repos/repos#get-a-repository',
  status: '404'
};

/** Octokit as the publisher gets it, its requests answered by `githubFetch`. */
function octokitFor(routes: Record<string, Reply[]>, calls: ICall[]): Octokit {
  return new Octokit({ auth: TOKEN, log: quiet, request: { fetch: githubFetch(routes, calls) } });
}

function repository(name: string, cloneUrl: string) {
  // Trimmed from the "Create an organization repository" 201 example of the GitHub REST docs.
  return {
    id: 1296269,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name,
    full_name: `${ORG}/${name}`,
    owner: { login: ORG, id: 1, type: 'Organization' },
    private: true,
    visibility: 'private',
    html_url: `https://github.com/${ORG}/${name}`,
    clone_url: cloneUrl,
    default_branch: 'main',
    created_at: '2026-11-24T10:00:00Z'
  };
}

describe('GitHub publisher (octokit) against spec-derived GitHub REST responses via request.fetch', () => {
  let source: { url: string; sha: string };
  let sourceDir: string;
  let remote: string;

  before(async () => {
    const root = await tempDir('rg-gh-');
    sourceDir = path.join(root, 'src');
    source = await makeRepo(sourceDir, { 'pkg.py': 'X = 1\n' });
    remote = path.join(root, 'remote.git');
    gitSync(root, 'init', '--quiet', '--bare', remote);
  });

  it('creates the private repo in the org when it does not exist, then pushes the commit and the tag', async () => {
    const calls: ICall[] = [];
    const octokit = octokitFor(
      {
        'GET /repos/acme-approved/statlite': [{ status: 404, body: notFound }],
        'POST /orgs/acme-approved/repos': [
          { status: 201, body: repository('statlite', `file://${remote}`) }
        ]
      },
      calls
    );
    const publisher = new GitHubPublisher({ octokit, org: ORG, token: TOKEN });
    const result = await publisher.publish({
      packageName: 'statlite',
      source: sourceDir,
      commitSha: source.sha,
      tag: 'r-42',
      origin: 'https://github.com/someone/statlite'
    });
    assert.deepEqual(result, { url: `file://${remote}`, createdRepo: true, pushed: true });
    const create = calls.find(c => c.method === 'POST')!;
    const body = JSON.parse(create.body);
    assert.equal(body.name, 'statlite');
    assert.equal(body.private, true);
    assert.equal(body.auto_init, false);
    assert.equal(create.headers.authorization, `token ${TOKEN}`);
    const refs = gitSync(remote, 'for-each-ref', '--format=%(refname) %(objectname)')
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(refs, [`refs/heads/main ${source.sha}`, `refs/tags/r-42 ${source.sha}`]);
  });

  it("exports a mirror's commit for the re-scan: the clone URL from the API, exactly that commit, no history", async () => {
    const calls: ICall[] = [];
    const octokit = octokitFor(
      {
        'GET /repos/acme-approved/statlite': [
          { status: 200, body: repository('statlite', `file://${remote}`) }
        ]
      },
      calls
    );
    const publisher = new GitHubPublisher({ octokit, org: ORG, token: TOKEN });
    const dest = await tempDir('rg-gh-export-');
    await publisher.exportCommit('statlite', source.sha, dest);
    assert.deepEqual(await readdir(dest), ['pkg.py']);
    assert.equal(await readFile(path.join(dest, 'pkg.py'), 'utf8'), 'X = 1\n');
    assert.deepEqual(
      calls.map(c => `${c.method} ${c.url}`),
      ['GET /repos/acme-approved/statlite']
    );
    await assert.rejects(
      publisher.exportCommit('statlite', 'f'.repeat(40), await tempDir('rg-gh-export-')),
      /cannot|not our ref|couldn't find|unadvertised/i
    );
  });

  it('on a rerun finds the repo and the tag (GET 200s) and pushes nothing', async () => {
    const calls: ICall[] = [];
    const octokit = octokitFor(
      {
        'GET /repos/acme-approved/statlite': [
          { status: 200, body: repository('statlite', 'file:///nonexistent.git') }
        ],
        'GET /repos/acme-approved/statlite/git/ref/tags/r-42': [
          {
            status: 200,
            body: {
              ref: 'refs/tags/r-42',
              node_id: 'REF_x',
              url: 'https://api.github.com/…',
              object: { sha: source.sha, type: 'commit', url: 'https://api.github.com/…' }
            }
          }
        ]
      },
      calls
    );
    const result = await new GitHubPublisher({ octokit, org: ORG, token: TOKEN }).publish({
      packageName: 'statlite',
      source: sourceDir,
      commitSha: source.sha,
      tag: 'r-42',
      origin: 'x'
    });
    assert.deepEqual(result, { url: 'file:///nonexistent.git', createdRepo: false, pushed: false });
    assert.ok(!calls.some(c => c.method === 'POST'), 'no repo may be created on a rerun');
  });

  it('retries 502 and rate-limited 403 answers with backoff, then succeeds', async () => {
    const calls: ICall[] = [];
    const reset = String(Math.ceil(Date.now() / 1000));
    const octokit = octokitFor(
      {
        'GET /repos/acme-approved/retried': [
          { status: 502, body: { message: 'Server Error' } },
          {
            status: 403,
            body: {
              message: 'API rate limit exceeded for installation ID 1.',
              documentation_url:
                'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'
            },
            headers: {
              'x-ratelimit-limit': '5000',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': reset
            }
          },
          { status: 200, body: repository('retried', `file://${remote}`) }
        ]
      },
      calls
    );
    const publisher = new GitHubPublisher({
      octokit,
      org: ORG,
      token: TOKEN,
      retry: { minTimeoutMs: 10 }
    });
    const { cloneUrl, created } = await publisher.ensureRepo('retried', 'x');
    assert.equal(cloneUrl, `file://${remote}`);
    assert.equal(created, false);
    assert.equal(calls.length, 3);
  });

  it('does not retry a 401 and never shows the token in the error', async () => {
    const calls: ICall[] = [];
    const octokit = octokitFor(
      {
        'GET /repos/acme-approved/x': [
          {
            status: 401,
            body: {
              message: 'Bad credentials',
              documentation_url: 'https://docs.github.com/rest'
            }
          }
        ]
      },
      calls
    );
    await assert.rejects(
      new GitHubPublisher({ octokit, org: ORG, token: TOKEN }).ensureRepo('x', 'x'),
      (error: unknown) => {
        const text = `${errorMessage(error)} ${JSON.stringify(error, Object.getOwnPropertyNames(error as object))}`;
        assert.ok(!errorMessage(error).includes(TOKEN));
        assert.ok(!redact(text).includes(TOKEN));
        assert.equal((error as { status: number }).status, 401);
        return true;
      }
    );
    assert.equal(calls.length, 1);
  });

  it('computes retry delays from GitHub headers (retry-after, x-ratelimit-reset)', () => {
    assert.equal(
      retryDelayMs({ status: 429, response: { headers: { 'retry-after': '3' } } }),
      3000
    );
    assert.equal(
      retryDelayMs(
        {
          status: 403,
          response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' } }
        },
        95_000
      ),
      5000
    );
    assert.equal(retryDelayMs({ status: 503 }), 0);
    assert.equal(retryDelayMs({ status: 404 }), null);
    assert.equal(retryDelayMs({ status: 403, response: { headers: {} } }), null);
  });
});

/** A local HTTP server standing in for an AWS endpoint. */
async function awsStub(
  handler: (call: ICall, res: ServerResponse) => void
): Promise<{ server: Server; endpoint: string; calls: ICall[] }> {
  const calls: ICall[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c as Buffer));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
      const call = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        body: Buffer.concat(chunks).toString('utf8')
      };
      calls.push(call);
      handler(call, res);
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, calls };
}

describe('S3 report store against a local S3-compatible endpoint (spec-derived PutObject responses)', () => {
  let stub: Awaited<ReturnType<typeof awsStub>>;
  let failures = 1;
  before(async () => {
    stub = await awsStub((call, res) => {
      if (failures > 0) {
        failures--;
        res.writeHead(500, { 'content-type': 'application/xml', 'x-amz-request-id': 'REQ1' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>REQ1</RequestId></Error>'
        );
        return;
      }
      res.writeHead(200, {
        etag: '"9b2cf535f27731c974343645a3985328"',
        'x-amz-request-id': 'REQ2',
        'x-amz-server-side-encryption': 'aws:kms'
      });
      res.end();
    });
  });
  after(() => stub.server.close());

  it('puts the three report files under reports/<request_id>/ (retrying a 500) and returns the s3:// URL', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: stub.endpoint,
      forcePathStyle: true,
      credentials: CREDENTIALS,
      maxAttempts: 3
    });
    const store = new S3ReportStore(client, 'rg-reports');
    const url = await store.put('r-7', [
      { name: 'report.html', body: '<p>ok</p>', contentType: 'text/html; charset=utf-8' },
      { name: 'report.md', body: '# ok', contentType: 'text/markdown' },
      {
        name: 'report.sarif',
        body: '{"version":"2.1.0","runs":[]}',
        contentType: 'application/sarif+json'
      }
    ]);
    assert.equal(url, 's3://rg-reports/reports/r-7/report.html');
    const puts = stub.calls.filter(c => c.method === 'PUT');
    assert.equal(puts.length, 4, 'one retry after the 500, then three puts');
    assert.deepEqual(
      puts.slice(1).map(c => c.url.split('?')[0]),
      [
        '/rg-reports/reports/r-7/report.html',
        '/rg-reports/reports/r-7/report.md',
        '/rg-reports/reports/r-7/report.sarif'
      ]
    );
    assert.equal(puts[1].headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(puts[1].headers['x-amz-server-side-encryption'], 'aws:kms');
    assert.match(
      puts[1].headers.authorization,
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/`)
    );
    assert.match(puts[1].body, /<p>ok<\/p>/);
  });
});

describe('SES mailer (nodemailer SES transport, SESv2 client) against a local SESv2 endpoint', () => {
  let stub: Awaited<ReturnType<typeof awsStub>>;
  before(async () => {
    stub = await awsStub((call, res) => {
      assert.equal(call.url, '/v2/email/outbound-emails');
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'b2e2b1f0' });
      res.end(JSON.stringify({ MessageId: '0100018c-test-message-id-000000' }));
    });
  });
  after(() => stub.server.close());

  it('sends a raw multipart text+HTML message through SendEmail', async () => {
    const client = new SESv2Client({
      region: 'eu-west-1',
      endpoint: stub.endpoint,
      credentials: CREDENTIALS
    });
    const mailer = new SesMailer(client, 'RepoGuard <repoguard@example.com>');
    const id = await mailer.send({
      to: 'ds@example.com',
      key: 'r-9',
      subject: '[RepoGuard] statlite: approved',
      text: 'Install it with:\n\n    %repoguard install statlite\n',
      html: '<p>Install it with:</p><pre>%repoguard install statlite</pre>'
    });
    assert.match(id, /0100018c-test-message-id-000000/);
    const request = JSON.parse(stub.calls[0].body);
    const raw = Buffer.from(request.Content.Raw.Data, 'base64');
    const mail = await simpleParser(raw);
    assert.equal(mail.subject, '[RepoGuard] statlite: approved');
    assert.match(mail.text ?? '', /%repoguard install statlite/);
    assert.match(String(mail.html), /<pre>%repoguard install statlite<\/pre>/);
    assert.match(raw.toString(), /multipart\/alternative/);
    assert.equal(mail.headers.get('x-repoguard-request'), 'r-9');
  });
});

describe('GitHub token from Secrets Manager (local endpoint answering GetSecretValue) is never printed', () => {
  let stub: Awaited<ReturnType<typeof awsStub>>;
  before(async () => {
    stub = await awsStub((call, res) => {
      assert.equal(call.headers['x-amz-target'], 'secretsmanager.GetSecretValue');
      const { SecretId } = JSON.parse(call.body);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify({
          ARN: SecretId,
          Name: 'repoguard/github-token',
          VersionId: 'v1',
          SecretString: JSON.stringify({ token: TOKEN }),
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1.7e9
        })
      );
    });
  });
  after(() => stub.server.close());

  it('reads the token from the secret and masks it in every printed line', async () => {
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: stub.endpoint,
      credentials: CREDENTIALS
    });
    const arn =
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:repoguard/github-token-AbCdEf';
    const token = await githubToken({ REPOGUARD_GITHUB_TOKEN_SECRET_ARN: arn }, client);
    assert.equal(token, TOKEN);
    const lines: string[] = [];
    const progress = new Progress({ executionId: 'e', write: l => lines.push(l) });
    const header = gitAuthEnv('https://github.com/acme/requests.git', token).GIT_CONFIG_VALUE_0!;
    progress.log(`push failed with token ${token} and header ${header}`);
    assert.equal(lines.length, 1);
    assert.ok(!lines[0].includes(TOKEN), lines[0]);
    assert.ok(!lines[0].includes(header.split(' ').pop()!), lines[0]);
    assert.match(lines[0], /\*\*\*/);
  });

  it('keeps the token out of git arguments and URLs (an extraHeader scoped to the host)', () => {
    const env = gitAuthEnv('https://github.com/acme/requests.git', TOKEN);
    assert.equal(env.GIT_CONFIG_KEY_0, 'http.https://github.com/.extraHeader');
    assert.ok(!env.GIT_CONFIG_KEY_0!.includes(TOKEN));
    assert.equal(
      Buffer.from(env.GIT_CONFIG_VALUE_0!.split(' ').pop()!, 'base64').toString(),
      `x-access-token:${TOKEN}`
    );
  });
});
