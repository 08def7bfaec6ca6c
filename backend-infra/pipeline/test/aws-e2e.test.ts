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
 *
 * Then the Studio side, from the same synth (context enableStudio): the
 * Studio stack's lifecycle script runs as a JupyterLab space starts (HOME of
 * its own; its pip install fails, no index) and writes the deployment
 * contract and the server config; the contract's request repo is pointed at
 * the double (same path, the double's origin), nothing else is changed. A
 * real `jupyter server` (support/studio.ts) starts from it with only
 * AWS_ENDPOINT_URL (moto), fake keys and GIT_SSL_CAINFO (the test CA, git's
 * own variable) added, and the one thing moto lacks, CodePipeline's state,
 * answered as botocore's Stubber does (support/studio_server_config.py). Its
 * GitHub credential is the contract's read-token secret (in moto), a token
 * the double lets read and never write; the pipeline's token is never in
 * its environment. Its REST API lists both requests with their decisions
 * and serves each report from S3; a kernel it starts installs the approved
 * package from the private mirror (real pip, attestation verified with the
 * KMS key the contract names) and imports it; the refused one is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
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
import { runStageCommand, startMotoServer, synthesizeApp } from './support/aws-stages';
import {
  PYTHON,
  kernelEnvironment,
  openKernel,
  runLifecycleScript,
  startStudioServer,
  type ICell,
  type IStudioServer
} from './support/studio';

const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
/** The Studio side's GitHub token (the contract's read-token secret): read only, on the double too. */
const READ_TOKEN = `github_pat_${randomBytes(18).toString('hex')}`;
const READ_BASIC = Buffer.from(`x-access-token:${READ_TOKEN}`).toString('base64');
const SECRETS = [TOKEN, BASIC, READ_TOKEN, READ_BASIC];
const exec = promisify(execFile);
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

describe('AWS mode end to end (emulators: moto server, GitHub double over HTTPS on 127.0.0.1): clean approved and mirrored, refused not, results, S3 reports, SES mails; the Studio server from the synthesized contract shows both and a kernel installs the approved one', () => {
  const double = new GitHubDouble({ token: TOKEN, readToken: READ_TOKEN });
  let moto: { endpoint: string; stop: () => void };
  let loopback = '127.0.0.1';
  let org = '';
  let requestRepoUrl = '';
  let projects: ReturnType<typeof synthesizeApp>['projects'];
  let synthesized: ReturnType<typeof synthesizeApp>;
  let readSecretArn = '';
  let tokenSecretArn = '';
  let executionId = '';
  /** Set once the pipeline part passed: the Studio part reads what it left. */
  let pipelineDone = false;
  let studio: IStudioServer | undefined;
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
    // The Studio stack's read-only token secret (JSON {"token": ...}, as its README says).
    readSecretArn = (
      await new SecretsManagerClient(aws()).send(
        new CreateSecretCommand({
          Name: 'repoguard/studio-read-token',
          SecretString: JSON.stringify({ token: READ_TOKEN })
        })
      )
    ).ARN!;
    // One synth, with the Studio stack: the stage projects and the lifecycle script.
    synthesized = synthesizeApp(
      {
        GitHubToken: (tokenSecretArn = secret.ARN!),
        StoreReports: REPORTS,
        StoreArtifacts: ARTIFACTS,
        AttestationKey: signingKeyArn,
        ReadToken: readSecretArn
      },
      { enableStudio: true }
    );
    projects = synthesized.projects;
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
      ['clean-pkg', kernelReadyFiles(cleanPackageFiles('clean-pkg'))],
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
    await studio?.stop();
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
    executionId = `exec-${randomBytes(4).toString('hex')}`;
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
    for (const secret of SECRETS) {
      assert.ok(!everything.includes(secret), 'the GitHub token leaked');
    }
    pipelineDone = true;
  });

  it('the Studio side, started from the synthesized deployment contract: lists both decisions, reads the reports from S3, a kernel installs the approved one (attestation verified) and is refused the other, with the read token only', async t => {
    assert.ok(pipelineDone, 'the pipeline part above passed (this part reads what it left)');
    const started = Date.now();
    const home = await tempDir('rg-awse2e-studio-');
    assert.ok(synthesized.lifecycleScript, 'the Studio stack synthesized a lifecycle script');
    const lifecycle = await runLifecycleScript(synthesized.lifecycleScript, home);
    assert.match(lifecycle.stderr, /could not install/); // no index: logged, the space still starts
    const contract = JSON.parse(await readFile(lifecycle.contractFile, 'utf8')) as Record<
      string,
      unknown
    >;
    // The synthesized contract, whole: names and ARNs only, no secret.
    const repoPath = new URL(requestRepoUrl).pathname;
    assert.deepEqual(contract, {
      version: 1,
      mode: 'aws',
      region: REGION,
      pipelineName: 'repoguard-pipeline',
      requestRepoUrl: `https://github.com${repoPath}`,
      requestBranch: 'main',
      githubOrg: org,
      reportBucket: REPORTS,
      reportPrefix: 'reports/',
      inboxPrefix: 'inbox/',
      signingKeyArn,
      readTokenSecretArn: readSecretArn
    });
    assert.equal(lifecycle.serverConfig.RepoGuardApp.mode, 'aws');
    assert.ok(
      !JSON.stringify(contract).includes(tokenSecretArn),
      "the pipeline's token is not named"
    );
    // The one change: the request repo is on the double (same path, the double's origin).
    await writeFile(
      lifecycle.contractFile,
      JSON.stringify({ ...contract, requestRepoUrl }, null, 2) + '\n'
    );

    const kernelPython = await kernelEnvironment(path.join(home, 'kernel-env'), home, 'rg-e2e');
    // The space's environment: no GitHub token, no REPOGUARD_* setting; the emulators only.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      HOME: home,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      GIT_SSL_CAINFO: double.caFile,
      PIP_NO_INDEX: '1'
    };
    const seen = double.requests.length;
    const stages = synthesized.pipelineStages;
    assert.ok(stages.length >= 2, `the pipeline's stages: ${stages.join(', ')}`);
    const at = '2026-12-02T10:05:00Z';
    studio = await startStudioServer({
      home,
      env,
      codepipelineAnswers: {
        GetPipelineState: {
          pipeline: contract.pipelineName,
          response: {
            pipelineName: contract.pipelineName,
            pipelineVersion: 1,
            created: '2026-12-01T09:00:00Z',
            updated: at,
            stageStates: stages.map(stageName => ({
              stageName,
              latestExecution: { pipelineExecutionId: executionId, status: 'Succeeded' }
            }))
          }
        },
        ListPipelineExecutions: {
          pipeline: contract.pipelineName,
          response: {
            pipelineExecutionSummaries: [
              {
                pipelineExecutionId: executionId,
                status: 'Succeeded',
                startTime: '2026-12-02T10:02:00Z',
                lastUpdateTime: at,
                trigger: { triggerType: 'CloudWatchEvent' }
              }
            ]
          }
        }
      }
    });
    const phase = (what: string) =>
      t.diagnostic(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
    phase('lifecycle script, kernel environment, server up');
    const served: string[] = [];
    const getJson = async (route: string) => {
      const reply = await studio!.get(route);
      served.push(reply.body);
      assert.equal(reply.status, 200, `${route}: ${reply.body}\n${studio!.log()}`);
      return JSON.parse(reply.body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };

    // Health: the aws mode from the contract, its non-secret fields shown.
    const health = await getJson('/repoguard/health');
    assert.equal(health.mode, 'aws');
    assert.equal(health.ready, true, JSON.stringify(health));
    assert.equal(health.deployment.request_repo_url, requestRepoUrl);
    assert.equal(health.deployment.read_token_secret_arn, readSecretArn);

    // Both requests with their decisions, from the request repo on the double.
    const listed = (await getJson('/repoguard/requests')).requests as {
      request: { request_id: string; package_name: string };
      status: string;
      result: { decision: string; commit_sha: string } | null;
    }[];
    const byId = Object.fromEntries(listed.map(r => [r.request.request_id, r]));
    assert.deepEqual(Object.keys(byId).sort(), ['r-bad', 'r-clean']);
    assert.equal(byId['r-clean'].status, 'approved');
    assert.equal(byId['r-clean'].result!.commit_sha, shas.get('clean-pkg'));
    assert.equal(byId['r-bad'].status, 'refused');
    const approved = (await getJson('/repoguard/approved')).approved as { package_name: string }[];
    assert.deepEqual(
      approved.map(a => a.package_name),
      ['clean-pkg']
    );
    // The pipeline view: the template's stages, the execution that decided them.
    const pipeline = await getJson('/repoguard/pipeline');
    assert.deepEqual(pipeline.stages, stages);
    assert.equal(pipeline.executions[0].id, executionId);

    // Each result with its findings, each report read from S3 (moto) through the server.
    const bad = await getJson('/repoguard/results/r-bad');
    assert.equal(bad.decision, 'refused');
    assert.match(JSON.stringify(bad.findings), /B307/);
    assert.equal((await getJson('/repoguard/results/r-clean')).decision, 'approved');
    const s3 = new S3Client({ ...aws(), forcePathStyle: true });
    for (const id of ['r-clean', 'r-bad']) {
      const page = await studio.get(`/repoguard/reports/${id}/report.html`);
      assert.equal(page.status, 200, page.body);
      assert.match(page.type, /^text\/html/);
      const stored = await (
        await s3.send(new GetObjectCommand({ Bucket: REPORTS, Key: `reports/${id}/report.html` }))
      ).Body!.transformToString();
      assert.equal(page.body, stored, `${id}: the report as the pipeline stored it`);
      served.push(page.body);
    }
    s3.destroy();

    phase('REST API read');
    // A kernel the server starts (its environment: the server's, REPOGUARD_DEPLOYMENT set).
    const kernel = openKernel(studio, 'rg-e2e', env);
    const cells: ICell[] = [];
    const cell = async (code: string) => {
      const result = await kernel.run(code);
      cells.push(result);
      return result;
    };
    const shown = () => JSON.stringify(cells);
    let install: ICell;
    let use: ICell;
    let refused: ICell;
    try {
      assert.equal((await cell('%load_ext repoguard')).status, 'ok', shown());
      // The attestation is checked: with the refused request's envelope (signed by the same key)
      // in place of the approved one's, the approved row alone installs nothing.
      const attestation = (id: string) => ({
        Bucket: REPORTS,
        Key: `reports/${id}/attestation.dsse.json`
      });
      const s3admin = new S3Client({ ...aws(), forcePathStyle: true });
      const own = await (
        await s3admin.send(new GetObjectCommand(attestation('r-clean')))
      ).Body!.transformToString();
      const other = await (
        await s3admin.send(new GetObjectCommand(attestation('r-bad')))
      ).Body!.transformToString();
      await s3admin.send(new PutObjectCommand({ ...attestation('r-clean'), Body: other }));
      const forged = await cell('%repoguard install clean-pkg');
      await s3admin.send(new PutObjectCommand({ ...attestation('r-clean'), Body: own }));
      s3admin.destroy();
      assert.equal(forged.status, 'error', shown());
      assert.match(
        forged.evalue ?? '',
        /nothing installed: clean-pkg: not installed: the attestation is for request 'r-bad'/,
        shown()
      );
      install = await cell('%repoguard install clean-pkg');
      use = await cell(
        'import sys, clean_pkg\nprint(clean_pkg.mean([1, 2, 3, 4]), clean_pkg.__file__.startswith(sys.prefix))'
      );
      refused = await cell('%repoguard install bad-pkg');
    } finally {
      await kernel.close();
    }
    phase('REST API read, kernel: installed, imported, refused');
    assert.equal(install.status, 'ok', `${shown()}\n${studio.log()}`);
    const bundle = install.bundles['application/vnd.repoguard.install+json']?.[0] as
      { ok: boolean; installed: { package: string; commit: string; status: string }[] } | undefined;
    assert.ok(bundle?.ok, shown());
    assert.deepEqual(
      bundle.installed.map(i => [i.package, i.status, i.commit]),
      [['clean-pkg', 'installed', shas.get('clean-pkg')]]
    );
    assert.equal(use.status, 'ok', shown());
    assert.equal(use.stdout.trim(), '2.5 True', shown());
    assert.equal(refused.status, 'error', shown());
    assert.equal(refused.ename, 'RepoGuardError', shown());
    assert.match(
      refused.evalue ?? '',
      /nothing installed: bad-pkg was refused \(.*bandit B307/,
      shown()
    );

    // In the kernel's environment: the mirror's commit, recorded as its source (PEP 610).
    const probe = await exec(kernelPython, [
      '-c',
      'import importlib.metadata as m, json, importlib.util as u\n' +
        'd = m.distribution("clean-pkg")\n' +
        'print(json.dumps([d.version, json.loads(d.read_text("direct_url.json")), u.find_spec("bad_pkg") is None]))'
    ]);
    const [version, source, noBad] = JSON.parse(probe.stdout) as [
      string,
      { url: string; vcs_info: { vcs: string; commit_id: string } },
      boolean
    ];
    assert.equal(version, '0.1.0');
    assert.equal(source.url, `${double.origin}/${org}/clean-pkg.git`);
    assert.deepEqual(
      [source.vcs_info.vcs, source.vcs_info.commit_id],
      ['git', shas.get('clean-pkg')]
    );
    assert.ok(noBad, 'bad-pkg is not in the kernel environment');
    // The server's own environment is unchanged.
    await assert.rejects(exec(PYTHON, ['-c', 'import clean_pkg']));

    // The Studio side used the read-only token alone: never the pipeline's, never a write.
    const studioCalls = double.requests.slice(seen);
    assert.ok(studioCalls.length > 0);
    assert.deepEqual(
      [...new Set(studioCalls.map(r => r.auth))],
      ['read'],
      JSON.stringify(studioCalls)
    );
    assert.ok(studioCalls.some(r => r.path === `/${org}/clean-pkg.git/git-upload-pack`));
    assert.ok(studioCalls.every(r => !r.path.includes('receive-pack')));
    // And that credential cannot append a row (a forged approval): the push is refused.
    const withReadToken = new GitLedger({
      url: requestRepoUrl,
      env: { ...gitAuthEnv(requestRepoUrl, READ_TOKEN), GIT_SSL_CAINFO: double.caFile }
    });
    try {
      await assert.rejects(
        withReadToken.append(RESULTS_FILE, RESULT_COLUMNS, [
          { ...byId['r-clean'].result, request_id: 'r-forged', decision: 'approved' }
        ] as unknown as Record<string, string>[]),
        /403|denied/
      );
    } finally {
      await withReadToken.close?.();
    }
    // No token in what the server logged, served or the kernel showed.
    const everything = [studio.log(), shown(), ...served].join('\n');
    for (const secret of SECRETS) {
      assert.ok(!everything.includes(secret), 'a GitHub token leaked on the Studio side');
    }
    t.diagnostic(`the Studio side took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});

/** The clean package without its numpy dependency: the kernel's environment has requests, not numpy. */
function kernelReadyFiles(files: Record<string, string>): Record<string, string> {
  const pyproject = files['pyproject.toml'];
  const without = pyproject.replace(/^ {4}"numpy[^\n]*\n/m, '');
  assert.notEqual(without, pyproject);
  return { ...files, 'pyproject.toml': without };
}
