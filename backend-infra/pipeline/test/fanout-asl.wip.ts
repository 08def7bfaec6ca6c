/**
 * WORK IN PROGRESS (not yet a `.test.ts`: the last run on a machine at load ~28 executed the
 * definition to SUCCEEDED, but recorded `error` where `approved` was expected; see the issue-14 note).
 *
 * The fan-out state machine's synthesized ASL definition, executed offline
 * by moto's Step Functions interpreter (emulator: moto server on 127.0.0.1,
 * with the CodeBuild `.sync` integration of test/support/moto_sfn_codebuild.py),
 * the items file in moto's S3, and each CodeBuild build answered by a
 * loopback CodeBuild double that runs the real child command
 * (`repoguard-pipeline list` / `one`) on an embedded workspace. One request
 * hangs past its build's time limit: the others are recorded, it is recorded
 * `error` with the build's status as the reason.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildRepoGuardApp } from '../../lib/app';
import { loadConfig } from '../../lib/config';
import {
  addRequests,
  cleanPackageFiles,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir
} from './helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const HARNESS = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'pipeline',
  'test',
  'support',
  'moto_sfn_codebuild.py'
);
const BIN = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'pipeline',
  'bin',
  'repoguard-pipeline.js'
);
const CREDS = {
  AWS_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('hex'),
  AWS_REGION: 'us-east-1'
};

/** The synthesized definition of the fan-out, CloudFormation references replaced by test names. */
export function synthesizedDefinition(names: Record<string, string>): string {
  const cdkJson = path.resolve(__dirname, '..', '..', '..', '..', 'cdk.json');
  const context = (
    JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }
  ).context;
  const app = new App({ analyticsReporting: false, context });
  const stacks = buildRepoGuardApp(app, loadConfig(app.node), { nag: false });
  const template = app.synth().getStackByName(stacks.pipeline.stackName).template as {
    Resources: Record<string, { Type: string; Properties: any }>;
  };
  const sm = Object.values(template.Resources).find(
    r => r.Type === 'AWS::StepFunctions::StateMachine'
  )!;
  const body = sm.Properties.DefinitionString;
  const parts: unknown[] = body['Fn::Join'] ? body['Fn::Join'][1] : [body];
  return parts
    .map(p => {
      if (typeof p === 'string') return p;
      const ref = (p as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return 'aws';
      const name = Object.entries(names).find(([prefix]) => ref?.startsWith(prefix));
      if (!name) throw new Error(`no test name for ${JSON.stringify(p)}`);
      return name[1];
    })
    .join('');
}

/** A stand-in scanner: writes an empty SARIF log, or hangs when the source holds a HANG file. */
async function scannerThatHangsOn(): Promise<string> {
  const dir = await tempDir('rg-asl-bin-');
  const file = path.join(dir, 'semgrep');
  await writeFile(
    file,
    `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
let out = null;
for (const a of args) if (a.startsWith('--sarif-output=')) out = a.slice(15);
if (args.some(a => fs.existsSync(path.join(a, 'HANG')))) setTimeout(() => {}, 1e9);
else fs.writeFileSync(out, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'semgrep', rules: [] } }, results: [] }] }));
`
  );
  await chmod(file, 0o755);
  return dir;
}

interface IBuild {
  id: string;
  buildStatus: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  timeoutInMinutes: number;
  env: Record<string, string>;
  child: ChildProcess;
}

/**
 * CodeBuild's JSON API on loopback, only StartBuild and BatchGetBuilds: a
 * build runs its project's command (what the buildspec runs) with the
 * environment overrides, and ends TIMED_OUT when it outlives its limit.
 */
export function codeBuildDouble(
  commands: Record<string, (env: Record<string, string>) => string[]>,
  baseEnv: () => NodeJS.ProcessEnv,
  limitMs: number
) {
  const builds = new Map<string, IBuild>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', c => (body += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const input = JSON.parse(body || '{}');
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(value));
      };
      if (target.endsWith('.StartBuild')) {
        const command = commands[input.projectName];
        if (!command) return reply(400, { __type: 'ResourceNotFoundException' });
        const env: Record<string, string> = {};
        for (const v of input.environmentVariablesOverride ?? []) env[v.name] = v.value;
        const id = `${input.projectName}:${randomBytes(4).toString('hex')}`;
        const [cmd, ...args] = command(env);
        const child = spawn(cmd, args, {
          env: { ...baseEnv(), ...env, CODEBUILD_BUILD_ID: id },
          stdio: 'ignore',
          detached: true
        });
        const build: IBuild = {
          id,
          buildStatus: 'IN_PROGRESS',
          timeoutInMinutes: limitMs / 60_000,
          env,
          child
        };
        builds.set(id, build);
        const timer = setTimeout(() => {
          build.buildStatus = 'TIMED_OUT';
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, limitMs);
        child.on('exit', code => {
          clearTimeout(timer);
          if (build.buildStatus === 'IN_PROGRESS')
            build.buildStatus = code === 0 ? 'SUCCEEDED' : 'FAILED';
        });
        return reply(200, { build: { id, buildStatus: 'IN_PROGRESS' } });
      }
      if (target.endsWith('.BatchGetBuilds')) {
        return reply(200, {
          builds: (input.ids as string[])
            .map(i => builds.get(i))
            .filter(Boolean)
            .map(b => ({
              id: b!.id,
              buildStatus: b!.buildStatus,
              timeoutInMinutes: b!.timeoutInMinutes
            }))
        });
      }
      return reply(400, { __type: 'InvalidInputException', message: `not doubled: ${target}` });
    });
  });
  return {
    builds,
    listen: () =>
      new Promise<string>(resolve =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
        )
      ),
    close: () => {
      for (const b of builds.values()) if (b.buildStatus === 'IN_PROGRESS') b.child.kill('SIGKILL');
      server.close();
    }
  };
}

/** moto server with the CodeBuild `.sync` integration, on a free loopback port. */
export async function startMoto(codebuildEndpoint: string) {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run the README setup (python test extra)`);
  const port = await new Promise<number>(resolve => {
    const probe = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const proc = spawn(PYTHON, [HARNESS, '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      ...CREDS,
      MOTO_PORT: String(port),
      CODEBUILD_ENDPOINT: codebuildEndpoint
    },
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let stderr = '';
  proc.stderr!.on('data', d => (stderr = (stderr + String(d)).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, stop: () => proc.kill('SIGTERM'), stderr: () => stderr };
    } catch {
      await new Promise(r => setTimeout(r, 200));
    }
  }
  proc.kill('SIGKILL');
  throw new Error(`moto did not start: ${stderr}`);
}

/** An AWS JSON 1.0 call (Step Functions) to moto. */
export async function sfn(endpoint: string, action: string, input: unknown): Promise<any> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AWSStepFunctions.${action}`,
      authorization: `AWS4-HMAC-SHA256 Credential=${CREDS.AWS_ACCESS_KEY_ID}/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0`
    },
    body: JSON.stringify(input)
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${action}: ${response.status} ${text}`);
  return JSON.parse(text);
}

describe('fan-out state machine in an ASL interpreter (emulator: moto server on 127.0.0.1)', () => {
  let moto: Awaited<ReturnType<typeof startMoto>>;
  let double: ReturnType<typeof codeBuildDouble>;
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  const BUCKET = 'repoguard-items';

  before(async () => {
    const bin = await scannerThatHangsOn();
    ws = await makeWorkspace({
      scannerBinDir: bin,
      scanners: ['semgrep'],
      scanTimeoutSeconds: 600
    });
    const rows = [];
    for (const i of [1, 2, 3, 4]) {
      const files = cleanPackageFiles(`p${i}`);
      if (i === 3) files.HANG = 'this source makes the stand-in scanner hang\n';
      const repo = await makeRepo(path.join(ws.sourcesDir, `p${i}`), files);
      rows.push(requestRow({ request_id: `r${i}`, package_name: `p${i}`, repo_url: repo.url }));
    }
    await addRequests(ws, rows);
    let endpoint = '';
    const env = () => ({ ...process.env, ...CREDS, AWS_ENDPOINT_URL: endpoint });
    double = codeBuildDouble(
      {
        list: e => [
          'node',
          BIN,
          'list',
          '--local',
          ws.root,
          '--items',
          `s3://${BUCKET}/${e.REPOGUARD_ITEMS_KEY}`
        ],
        request: () => ['node', BIN, 'one', '--local', ws.root]
      },
      env,
      // The hung request's build limit; the others finish well within it even on a loaded machine.
      90_000
    );
    moto = await startMoto(await double.listen());
    endpoint = moto.endpoint;
    await fetch(`${endpoint}/${BUCKET}`, { method: 'PUT' });
  });

  after(() => {
    double?.close();
    moto?.stop();
  });

  it('runs the synthesized definition: one build per request, the hung one recorded error with its reason', async () => {
    const definition = synthesizedDefinition({
      ListStageProject: 'list',
      RequestStageProject: 'request',
      StoreArtifacts: BUCKET
    });
    assert.match(definition, /"Mode":"DISTRIBUTED"/);
    // moto 5.2.5's ASL grammar takes ToleratedFailurePercentage as a decimal only (an integer is
    // a parse error) and ignores it when running; 10 and 10.0 are the same JSON number.
    const forMoto = definition.replace(
      /"ToleratedFailurePercentage":(\d+)([,}])/,
      '"ToleratedFailurePercentage":$1.0$2'
    );
    assert.match(definition, /codebuild:startBuild\.sync/);
    const { stateMachineArn } = await sfn(moto.endpoint, 'CreateStateMachine', {
      name: 'repoguard-fan-out',
      definition: forMoto,
      roleArn: 'arn:aws:iam::123456789012:role/repoguard-fan-out'
    });
    const { executionArn } = await sfn(moto.endpoint, 'StartExecution', {
      stateMachineArn,
      name: 'push-1',
      input: JSON.stringify({ trigger: 'push' })
    });
    let status = 'RUNNING';
    let described: any;
    for (let i = 0; i < 600 && status === 'RUNNING'; i++) {
      await new Promise(r => setTimeout(r, 500));
      described = await sfn(moto.endpoint, 'DescribeExecution', { executionArn });
      status = described.status;
    }
    assert.equal(status, 'SUCCEEDED', `${JSON.stringify(described)}\n${moto.stderr()}`);

    const rows = await results(ws);
    assert.deepEqual(rows.map(r => [r.request_id, r.decision, r.execution_id]).sort(), [
      ['r1', 'approved', 'push-1'],
      ['r2', 'approved', 'push-1'],
      ['r3', 'error', 'push-1'],
      ['r4', 'approved', 'push-1']
    ]);
    const hung = rows.find(r => r.request_id === 'r3')!;
    assert.match(
      hung.reason,
      /^the request's build request:[0-9a-f]+ ended TIMED_OUT after its .* min limit before a decision \(States\.TaskFailed\); not approved$/
    );
    // The list build, one build per request, and one recording build for the hung request.
    const projects = [...double.builds.values()].map(
      b =>
        `${b.id.split(':')[0]}:${b.env.REPOGUARD_REQUEST_ID ?? ''}${b.env.REPOGUARD_CHILD_FAILURE ? ':failure' : ''}`
    );
    assert.deepEqual(projects.sort(), [
      'list:',
      'request:r1',
      'request:r2',
      'request:r3',
      'request:r3:failure',
      'request:r4'
    ]);
  });
});
