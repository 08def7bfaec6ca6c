/**
 * The AWS mode end to end, offline (issue 13): one clean and one refused
 * request go from their request rows to a private mirror, results rows, a
 * report in S3 and a mail in SES's sent messages, through the production
 * adapters (adapters/aws: GitLedger over HTTPS with the token as a header,
 * GitHubPublisher via octokit + git push, S3ReportStore, SesMailer, the KMS
 * signer, the token from Secrets Manager) against emulators on loopback only:
 *
 * - moto in server mode (127.0.0.1): S3, Secrets Manager, SESv2, KMS (no STS:
 *   the template sets no REPOGUARD_SES_ROLE_ARN, so the stage role sends);
 * - the GitHub double over HTTPS (support/github-double.ts, test CA): the
 *   org's REST calls, the private request repo, the public source repos
 *   https://github.com/someone/{clean-pkg,bad-pkg} and the mirrors.
 *
 * The stage commands and their environments are the synthesized template's
 * (the list and request projects of the fan-out), run in order as the state
 * machine runs them: list, then one per item of the items file in S3. Added
 * to each project's environment: the emulator endpoint and credentials
 * (AWS_ENDPOINT_URL), the double's request repo URL and API URL, the test CA
 * for git (GIT_SSL_CAINFO), the pipeline config (REPOGUARD_CONFIG: the cheap
 * real scanners bandit and gitleaks) and REPOGUARD_OSV_ONLINE=0. The commands
 * run in this process (support/aws-stages.ts): the source clone's test seam
 * (github.com answers a public address the SSRF guard checks, git is then
 * pinned to the double) is a code option, never an environment variable.
 * octokit's fetch trusts the test CA for the double's origin only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  SESv2Client
} from '@aws-sdk/client-sesv2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  REQUEST_COLUMNS,
  REQUESTS_FILE,
  RESULT_COLUMNS,
  RESULTS_FILE,
  parseResults
} from '../../../src/common';
import { gitAuthEnv } from '../src/adapters/aws/secrets';
import { kmsSigner, verifyEnvelope, type IEnvelope } from '../src/attest';
import { git } from '../src/git';
import { GitLedger } from '../src/ledger';
import type { Resolver } from '../src/net';
import {
  cleanPackageFiles,
  fakeAwsCredentials,
  gitSync,
  makeRepo,
  mediumFindingFiles,
  requestRow,
  tempDir
} from './helpers';
import { scannerFolder } from './support/fanout-engine';
import { GitHubDouble, fetchTrusting } from './support/github-double';
import { runStageCommand, startMotoServer, synthesizeProjects } from './support/aws-stages';

const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const KEYS = fakeAwsCredentials();
const REGION = 'us-east-1';
const REPORTS = 'repoguard-reports-e2e';
const ARTIFACTS = 'repoguard-artifacts-e2e';
// What github.com resolves to in production (a public unicast address the guard accepts).
const GITHUB_PUBLIC = '140.82.112.3';
const resolver: Resolver = async host => {
  if (host === 'github.com') return [GITHUB_PUBLIC];
  throw Object.assign(new Error(`no test DNS for ${host}`), { code: 'ENOTFOUND' });
};

describe('AWS mode end to end (emulators: moto server, GitHub double over HTTPS on 127.0.0.1): clean approved and mirrored, refused not, results, S3 reports, SES mails', () => {
  const double = new GitHubDouble({ token: TOKEN });
  let moto: { endpoint: string; stop: () => void };
  let loopback = '127.0.0.1';
  let org = '';
  let requestRepoUrl = '';
  let projects: ReturnType<typeof synthesizeProjects>;
  let configFile = '';
  let signingKeyArn = '';
  let scannerBin = '';
  const shas = new Map<string, string>();
  const captured: string[] = [];
  /** The addresses the SSRF guard accepted before git was pinned to the double. */
  const pinned: string[] = [];
  const realFetch = globalThis.fetch;
  const aws = () => ({
    endpoint: moto.endpoint,
    region: REGION,
    credentials: { accessKeyId: KEYS.accessKeyId, secretAccessKey: KEYS.secretAccessKey }
  });

  before(async () => {
    await double.start();
    const candidate = `127.${1 + (randomBytes(1)[0] % 250)}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0] % 250)}`;
    // github.com's face: port 443 on a random 127/8 address. Request rows may not name a port
    // (validateRequest), so unlike aws-github-https.test.ts there is no other-port fallback.
    try {
      await double.listenAlso(candidate, 443);
    } catch (error) {
      throw new Error(
        `this test serves https://github.com on ${candidate}:443: run it as root or with ` +
          `sysctl net.ipv4.ip_unprivileged_port_start=443 (${String(error)})`
      );
    }
    loopback = candidate;
    // octokit (global fetch) trusts the test CA for the double's origin only.
    const trusting = fetchTrusting(double.ca);
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return url.startsWith(`${double.origin}/`) ? trusting(input, init) : realFetch(input, init);
    }) as typeof fetch;

    moto = await startMotoServer();
    const s3 = new S3Client({ ...aws(), forcePathStyle: true });
    for (const Bucket of [REPORTS, ARTIFACTS]) await s3.send(new CreateBucketCommand({ Bucket }));
    s3.destroy();
    const secret = await new SecretsManagerClient(aws()).send(
      new CreateSecretCommand({
        Name: 'repoguard/github-token',
        SecretString: JSON.stringify({ token: TOKEN })
      })
    );
    const key = await new KMSClient(aws()).send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
    );
    signingKeyArn = key.KeyMetadata!.Arn!;
    projects = synthesizeProjects({
      GitHubToken: secret.ARN!,
      StoreReports: REPORTS,
      StoreArtifacts: ARTIFACTS,
      AttestationKey: signingKeyArn
    });
    const request = projects.get('repoguard-request')!;
    org = request.env.REPOGUARD_GITHUB_ORG;
    const ses = new SESv2Client(aws());
    await ses.send(
      new CreateEmailIdentityCommand({ EmailIdentity: request.env.REPOGUARD_MAIL_FROM })
    );
    await ses.send(
      new CreateConfigurationSetCommand({
        ConfigurationSetName: request.env.REPOGUARD_SES_CONFIGURATION_SET
      })
    );

    // The public sources on the double.
    const root = await tempDir('rg-awse2e-');
    for (const [name, files] of [
      ['clean-pkg', cleanPackageFiles('clean-pkg')],
      ['bad-pkg', mediumFindingFiles('bad-pkg')]
    ] as const) {
      const repo = await makeRepo(path.join(root, name), files);
      shas.set(name, repo.sha);
      await double.addPublicRepo('someone', name, path.join(root, name));
    }
    // The private request repo of the org, on the double: created through the API, then pushed.
    const repoName = new URL(request.env.REPOGUARD_REQUEST_REPO_URL).pathname
      .split('/')
      .pop()!
      .replace(/\.git$/, '');
    const created = await trusting(`${double.apiUrl}/orgs/${org}/repos`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: repoName, private: true })
    });
    assert.equal(created.status, 201);
    requestRepoUrl = `${double.origin}/${org}/${repoName}.git`;
    const seed = path.join(root, 'requests');
    await makeRepo(seed, {
      [REQUESTS_FILE]: REQUEST_COLUMNS.join(',') + '\n',
      [RESULTS_FILE]: RESULT_COLUMNS.join(',') + '\n'
    });
    // Async git: the double answers in this process (a sync child would block it).
    await git(['push', '--quiet', requestRepoUrl, 'main'], {
      cwd: seed,
      env: { ...gitAuthEnv(requestRepoUrl, TOKEN), GIT_SSL_CAINFO: double.caFile }
    });
    const ledger = new GitLedger({ url: requestRepoUrl, env: gitAuthEnv(requestRepoUrl, TOKEN) });
    const saved = process.env.GIT_SSL_CAINFO;
    process.env.GIT_SSL_CAINFO = double.caFile;
    try {
      await ledger.append(REQUESTS_FILE, REQUEST_COLUMNS, [
        requestRow({
          request_id: 'r-clean',
          package_name: 'clean-pkg',
          repo_url: `https://github.com/someone/clean-pkg`,
          ref: 'main',
          requester_email: 'alice@example.com',
          requested_at: '2026-12-02T10:00:00Z'
        }),
        requestRow({
          request_id: 'r-bad',
          package_name: 'bad-pkg',
          repo_url: `https://github.com/someone/bad-pkg`,
          ref: 'main',
          requester_email: 'bob@example.com',
          requested_at: '2026-12-02T10:01:00Z'
        })
      ] as unknown as Record<string, string>[]);
    } finally {
      if (saved === undefined) delete process.env.GIT_SSL_CAINFO;
      else process.env.GIT_SSL_CAINFO = saved;
      await ledger.close?.();
    }

    scannerBin = await scannerFolder({ real: ['bandit', 'gitleaks'] });
    configFile = path.join(root, 'repoguard.config.json');
    await writeFile(
      configFile,
      JSON.stringify({ allowedHosts: ['github.com'], scanners: ['bandit', 'gitleaks'] })
    );
  });

  after(async () => {
    globalThis.fetch = realFetch;
    moto?.stop();
    await double.stop();
  });

  /** A project's command with its template environment, the emulators' and the overrides. */
  async function build(project: string, overrides: Record<string, string>): Promise<void> {
    const p = projects.get(project);
    assert.ok(p, `${project} in the template`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...p.env,
      // The emulators: moto for AWS, the double for GitHub (its request repo and API).
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      REPOGUARD_REQUEST_REPO_URL: requestRepoUrl,
      REPOGUARD_GITHUB_API_URL: double.apiUrl,
      GIT_SSL_CAINFO: double.caFile,
      REPOGUARD_CONFIG: configFile,
      REPOGUARD_SCANNER_BIN_DIR: scannerBin,
      // No packet leaves the machine, whatever the project allows.
      REPOGUARD_OSV_ONLINE: '0',
      ...overrides,
      CODEBUILD_BUILD_ID: `${project}:${randomBytes(4).toString('hex')}`
    };
    for (const name of ['GITHUB_TOKEN', 'REPOGUARD_SIGNING_KEY_ARN'] as const) {
      if (!(name in p.env) && !(name in overrides)) delete env[name];
    }
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const tap =
      (to: typeof out) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        captured.push(String(chunk));
        return (to as (...a: unknown[]) => boolean)(chunk, ...rest);
      };
    process.stdout.write = tap(out) as typeof process.stdout.write;
    process.stderr.write = tap(err) as typeof process.stderr.write;
    try {
      await runStageCommand(p.command, env, await tempDir('rg-awse2e-build-'), {
        resolve: resolver,
        testNetwork: {
          connect: checked => {
            pinned.push(checked);
            return loopback;
          },
          caFile: double.caFile
        },
        write: line => captured.push(line)
      });
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
  }

  it('list then one per item (the template commands): approved + mirrored, refused + no mirror, rows, S3 reports, SES mails, no token anywhere', async t => {
    const started = Date.now();
    const executionId = `exec-${randomBytes(4).toString('hex')}`;
    const itemsKey = `fan-out/${executionId}/items.json`;
    await build('repoguard-list', {
      REPOGUARD_ITEMS_KEY: itemsKey,
      REPOGUARD_EXECUTION_ID: executionId
    });
    const s3 = new S3Client({ ...aws(), forcePathStyle: true });
    const itemsBody = await (
      await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: itemsKey }))
    ).Body!.transformToString();
    const items = JSON.parse(itemsBody) as { request_id: string }[];
    assert.deepEqual(
      items.map(i => i.request_id),
      ['r-clean', 'r-bad']
    );
    for (const item of items) {
      await build('repoguard-request', {
        REPOGUARD_REQUEST_ID: item.request_id,
        REPOGUARD_EXECUTION_ID: executionId
      });
    }
    t.diagnostic(`stages took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Two results rows in the request repo on the double.
    const ledger = new GitLedger({ url: requestRepoUrl, env: gitAuthEnv(requestRepoUrl, TOKEN) });
    process.env.GIT_SSL_CAINFO = double.caFile;
    let rows;
    try {
      rows = parseResults((await ledger.read()).results).rows.map(r => r.values);
    } finally {
      delete process.env.GIT_SSL_CAINFO;
      await ledger.close?.();
    }
    t.diagnostic(`https://github.com/someone/* pinned to ${loopback}:443`);
    assert.equal(rows.length, 2, JSON.stringify(rows));
    const clean = rows.find(r => r.request_id === 'r-clean')!;
    const bad = rows.find(r => r.request_id === 'r-bad')!;
    assert.equal(clean.decision, 'approved', JSON.stringify(clean));
    assert.equal(clean.commit_sha, shas.get('clean-pkg'));
    assert.equal(clean.execution_id, executionId);
    assert.equal(clean.private_repo_url, `${double.origin}/${org}/clean-pkg.git`);
    assert.equal(bad.decision, 'refused', JSON.stringify(bad));
    assert.equal(bad.commit_sha, shas.get('bad-pkg'));
    assert.match(
      String((bad as Record<string, string>).reason ?? ''),
      /bandit B307 \(medium\) at calc\.py:5/
    );
    assert.equal(bad.medium, '1');
    assert.equal(bad.private_repo_url, '');

    // The mirror: a private repo of the org with main + the request's tag at the scanned sha.
    const mirror = gitSync(
      double.repoDir(org, 'clean-pkg'),
      'for-each-ref',
      '--format=%(refname) %(objectname)'
    ).trim();
    assert.equal(
      mirror,
      [`refs/heads/main ${clean.commit_sha}`, `refs/tags/r-clean ${clean.commit_sha}`].join('\n')
    );
    const repo = await globalThis.fetch(`${double.apiUrl}/repos/${org}/clean-pkg`, {
      headers: { authorization: `token ${TOKEN}` }
    });
    assert.equal(((await repo.json()) as { private: boolean }).private, true);
    const none = await globalThis.fetch(`${double.apiUrl}/repos/${org}/bad-pkg`, {
      headers: { authorization: `token ${TOKEN}` }
    });
    assert.equal(none.status, 404);
    assert.deepEqual([...new Set(pinned)], [GITHUB_PUBLIC]);
    // The sources were fetched anonymously from https://github.com/someone/* through the pin.
    assert.ok(
      double.requests.some(
        r => r.path === '/someone/clean-pkg/git-upload-pack' && r.host.startsWith('github.com')
      )
    );
    assert.ok(
      double.requests.filter(r => r.path.startsWith('/someone/')).every(r => r.auth === 'none')
    );

    // The reports in S3: report, attestation, findings.json for each request.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: REPORTS, Prefix: 'reports/' }));
    const keys = (listed.Contents ?? []).map(o => o.Key!);
    for (const id of ['r-clean', 'r-bad']) {
      for (const file of ['report.html', 'attestation.dsse.json', 'findings.json']) {
        assert.ok(keys.includes(`reports/${id}/${file}`), `${id}/${file} in ${keys.join(', ')}`);
      }
    }
    assert.equal(clean.report_url, `s3://${REPORTS}/reports/r-clean/report.html`);
    const texts: string[] = [];
    const objects = new Map<string, string>();
    for (const k of keys) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: REPORTS, Key: k }))).Body!;
      objects.set(k, await body.transformToString());
      texts.push(objects.get(k)!);
    }
    s3.destroy();
    assert.match(objects.get('reports/r-bad/findings.json')!, /B307/);
    // The attestations are signed by the template's KMS key (moto): each verifies with its public key.
    const pem = await kmsSigner(new KMSClient(aws()), signingKeyArn).publicKeyPem();
    for (const [id, decision, sha] of [
      ['r-clean', 'approved', clean.commit_sha],
      ['r-bad', 'refused', bad.commit_sha]
    ]) {
      const envelope = JSON.parse(objects.get(`reports/${id}/attestation.dsse.json`)!) as IEnvelope;
      const statement = verifyEnvelope(envelope, pem);
      assert.equal(statement.predicate.decision, decision);
      assert.equal(statement.subject[0].digest.gitCommit, sha);
    }

    // Two mails in SES's sent messages, to the requesters.
    const data = (await (await realFetch(`${moto.endpoint}/moto-api/data.json`)).json()) as {
      ses?: { RawMessage?: { destinations: string[]; raw_data: string }[] };
    };
    const mails = data.ses?.RawMessage ?? [];
    assert.equal(mails.length, 2, JSON.stringify(data.ses));
    const to = (who: string) => mails.find(m => m.destinations.some(d => d.includes(who)))!;
    assert.ok(to('alice@example.com'), 'mail to the clean package requester');
    assert.ok(to('bob@example.com'), 'mail to the refused package requester');
    assert.match(to('alice@example.com').raw_data, /^X-RepoGuard-Request: r-clean$/im);
    assert.match(to('bob@example.com').raw_data, /^X-RepoGuard-Request: r-bad$/im);
    assert.match(to('alice@example.com').raw_data, /^Subject: \[RepoGuard\] clean-pkg: approved$/m);
    assert.match(to('alice@example.com').raw_data, /%repoguard install clean-pkg/);
    assert.match(to('bob@example.com').raw_data, /^Subject: \[RepoGuard\] bad-pkg: refused$/m);
    assert.doesNotMatch(to('bob@example.com').raw_data, /%repoguard install/);

    // The token in no mail, report, log line or captured output.
    const everything = [...mails.map(m => m.raw_data), ...texts, ...captured].join('\n');
    assert.ok(captured.length > 0, 'the stages wrote their progress');
    for (const secret of [TOKEN, BASIC]) {
      assert.ok(!everything.includes(secret), 'the GitHub token leaked');
    }
  });
});
