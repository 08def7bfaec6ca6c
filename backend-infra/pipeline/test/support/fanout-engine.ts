/**
 * Support of the fan-out's offline runs (pipeline/test/fanout-asl.test.ts and
 * bench/fanout-aws.js): the Step Functions definition and the two CodeBuild
 * projects (list, request) taken from the synthesized CDK template, moto's
 * Step Functions interpreter (emulator, moto server on 127.0.0.1, with
 * CodeBuild's `startBuild.sync` added by moto_sfn_codebuild.py) and a
 * CodeBuild double on 127.0.0.1 that runs each project's buildspec command
 * (the real `repoguard-pipeline list` / `one`) on an embedded workspace.
 *
 * The one substitution in a command: `--mode aws` becomes `--local WS` (the
 * embedded adapters: the request repo, the mirrors and the mail are local),
 * and `repoguard-pipeline` is this checkout's CLI, every build on the one
 * workspace (`one` works in a folder of its own request). Nothing listens
 * beyond 127.0.0.1.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand
} from '@aws-sdk/client-sfn';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { fakeAwsCredentials, tempDir, PIPELINE_CLI } from '../helpers';
import { pipelineResources, stageProjects, type IStageProject } from './aws-stages';
import { freePort } from './moto';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** backend-infra/ (source tree), from dist/backend-infra/pipeline/test/support. */
const BACKEND = path.resolve(__dirname, '..', '..', '..', '..', '..');
const ROOT = path.resolve(BACKEND, '..');
export const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const HARNESS = path.join(BACKEND, 'pipeline', 'test', 'support', 'moto_sfn_codebuild.py');
export const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** A CodeBuild project of the template. */
export type IProject = IStageProject;

export interface IFanOutTemplate {
  /** The state machine's definition, references resolved to the test's names. */
  definition: string;
  projects: Map<string, IProject>;
}

/**
 * Synthesize the app as `cdk synth` does (cdk.json's context plus `context`)
 * and take the fan-out's state machine and projects from the pipeline stack.
 * `names` maps a referenced resource (logical id prefix, e.g. `StoreArtifacts`)
 * to the name the test gives it; a project reference becomes its project name.
 */
export function synthesizeFanOut(
  names: Record<string, string>,
  context: Record<string, unknown> = {}
): IFanOutTemplate {
  const resources = pipelineResources(context);
  const projectName = new Map<string, string>();
  for (const [id, r] of resources) {
    if (r.Type === 'AWS::CodeBuild::Project') projectName.set(id, String(r.Properties.Name));
  }
  const resolve = (value: any, strict: boolean): string => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && 'Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, unknown[]];
      return parts.map(p => resolve(p, strict)).join(sep);
    }
    const ref = (value as { Ref?: string } | undefined)?.Ref;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return REGION;
    if (ref === 'AWS::AccountId') return ACCOUNT;
    if (ref && projectName.has(ref)) return projectName.get(ref)!;
    const named = Object.entries(names).find(([prefix]) => ref?.startsWith(prefix));
    if (named) return named[1];
    if (strict) throw new Error(`no test name for ${JSON.stringify(value)}`);
    return `unresolved-${ref ?? 'value'}`;
  };
  const machines = resources.filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, got ${machines.length}`);
  const definition = resolve(machines[0][1].Properties.DefinitionString, true);

  const projects = stageProjects(resources, value => resolve(value, false));
  return { definition, projects };
}

/**
 * moto 5.2.5's ASL grammar takes ToleratedFailurePercentage as a decimal only
 * (an integer is a parse error): 10 and 10.0 are the same JSON number.
 */
export function forMoto(definition: string): string {
  return definition.replace(
    /"ToleratedFailurePercentage":(\d+)([,}])/g,
    '"ToleratedFailurePercentage":$1.0$2'
  );
}

/**
 * A stand-in `semgrep` (a node script, run in the scanner sandbox as any
 * scanner): hangs when the scanned tree holds a file named HANG, else waits
 * `sleepMs` and writes an empty SARIF log (and semgrep's JSON beside it).
 * Any other scanner of the folder is a link to the real pinned tool.
 */
export async function scannerFolder(
  options: { real?: string[]; sleepMs?: number } = {}
): Promise<string> {
  const root = await tempDir('rg-fanout-tools-');
  const bin = path.join(root, 'bin');
  await mkdir(bin);
  for (const tool of options.real ?? []) {
    const file = path.join(TOOLS_BIN, tool);
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run scripts/install-scanners.sh (README setup)`);
    }
    // To the tool itself: the sandbox binds what one link names (a link to .tools/bin's link fails).
    await symlink(realpathSync(file), path.join(bin, tool));
  }
  // gitleaks reads its pinned config beside its binary (../scanner-config).
  await symlink(path.join(ROOT, '.tools', 'scanner-config'), path.join(root, 'scanner-config'));
  const file = path.join(bin, 'semgrep');
  await writeFile(
    file,
    `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
let sarif = null;
let json = null;
for (const a of args) {
  if (a.startsWith('--sarif-output=')) sarif = a.slice('--sarif-output='.length);
  if (a.startsWith('--json-output=')) json = a.slice('--json-output='.length);
}
if (args.some(a => fs.existsSync(path.join(a, 'HANG')))) setInterval(() => {}, 1e6);
else setTimeout(() => {
  fs.writeFileSync(sarif, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'semgrep', rules: [] } }, results: [] }] }));
  if (json) fs.writeFileSync(json, JSON.stringify({ results: [], errors: [], paths: { scanned: [], skipped: [] } }));
}, ${Number(options.sleepMs ?? 0)});
`
  );
  await chmod(file, 0o755);
  return bin;
}

export type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';

export interface IBuild {
  id: string;
  project: string;
  buildStatus: BuildStatus;
  timeoutInMinutes: number;
  /** The environment overrides of StartBuild. */
  env: Record<string, string>;
  startedAt: number;
  endedAt?: number;
  child: ChildProcess;
  output: string;
}

export interface ICodeBuildDoubleOptions {
  projects: Map<string, IProject>;
  /** The embedded workspace the commands run on (`--local`). */
  workspace: string;
  /** Environment of every build beyond the project's own (the emulator's endpoint, credentials). */
  env: () => NodeJS.ProcessEnv;
  /**
   * When a build of `project` is stopped as TIMED_OUT, in real milliseconds
   * (default its project's TimeoutInMinutes): a test runs a long limit on a
   * shorter clock. The build still reports the project's TimeoutInMinutes.
   */
  limitMs?: (project: IProject) => number;
}

/**
 * CodeBuild's JSON API on 127.0.0.1, StartBuild and BatchGetBuilds only: a
 * build runs its project's buildspec command with the project's environment
 * and the overrides, and ends SUCCEEDED (exit 0), FAILED, or TIMED_OUT (its
 * process group killed) when it outlives its limit.
 */
export function codeBuildDouble(options: ICodeBuildDoubleOptions) {
  const builds = new Map<string, IBuild>();
  const argv = (project: IProject): string[] => {
    const match = /^repoguard-pipeline (\w+) --mode aws$/.exec(project.command);
    if (!match) throw new Error(`${project.name}: unexpected buildspec command ${project.command}`);
    return [process.execPath, PIPELINE_CLI, match[1], '--local', options.workspace];
  };
  const start = (input: any): IBuild => {
    const project = options.projects.get(String(input.projectName));
    if (!project) throw Object.assign(new Error('no such project'), { code: 400 });
    const overrides: Record<string, string> = {};
    for (const v of input.environmentVariablesOverride ?? []) overrides[v.name] = v.value;
    const id = `${project.name}:${randomBytes(8).toString('hex')}`;
    const [cmd, ...args] = argv(project);
    const child = spawn(cmd, args, {
      env: {
        ...options.env(),
        ...project.env,
        // No packet leaves the machine, whatever the project allows.
        REPOGUARD_OSV_ONLINE: '0',
        ...overrides,
        CODEBUILD_BUILD_ID: id
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    });
    const build: IBuild = {
      id,
      project: project.name,
      buildStatus: 'IN_PROGRESS',
      timeoutInMinutes: project.timeoutMinutes,
      env: overrides,
      startedAt: Date.now(),
      child,
      output: ''
    };
    const keep = (d: Buffer) => (build.output = (build.output + String(d)).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const end = (status: BuildStatus) => {
      if (build.buildStatus !== 'IN_PROGRESS') return;
      build.buildStatus = status;
      build.endedAt = Date.now();
    };
    const timer = setTimeout(
      () => {
        end('TIMED_OUT');
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      options.limitMs ? options.limitMs(project) : project.timeoutMinutes * 60_000
    );
    child.on('exit', code => {
      clearTimeout(timer);
      end(code === 0 ? 'SUCCEEDED' : 'FAILED');
    });
    builds.set(id, build);
    return build;
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', c => (body += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(value));
      };
      try {
        const input = JSON.parse(body || '{}');
        if (target === 'CodeBuild_20161006.StartBuild') {
          const build = start(input);
          return reply(200, { build: { id: build.id, buildStatus: build.buildStatus } });
        }
        if (target === 'CodeBuild_20161006.BatchGetBuilds') {
          const found = (input.ids as string[]).map(i => builds.get(i));
          return reply(200, {
            builds: found.filter(Boolean).map(b => ({
              id: b!.id,
              projectName: b!.project,
              buildStatus: b!.buildStatus,
              timeoutInMinutes: b!.timeoutInMinutes
            })),
            buildsNotFound: (input.ids as string[]).filter((_, i) => !found[i])
          });
        }
        return reply(400, { __type: 'InvalidInputException', message: `not doubled: ${target}` });
      } catch (error) {
        return reply(400, { __type: 'InvalidInputException', message: String(error) });
      }
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
      for (const b of builds.values()) {
        if (b.buildStatus === 'IN_PROGRESS') {
          try {
            process.kill(-b.child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      server.close();
    }
  };
}

/** A moto server with CodeBuild's `.sync` integration, on a free port of 127.0.0.1. */
export async function startMoto(codebuildEndpoint: string) {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run the README setup (python test extra)`);
  }
  const credentials = fakeAwsCredentials();
  const port = await freePort();
  const awsEnv = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION
  };
  const proc = spawn(PYTHON, [HARNESS, '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      ...awsEnv,
      MOTO_PORT: String(port),
      CODEBUILD_ENDPOINT: codebuildEndpoint
    },
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let stderr = '';
  proc.stderr!.on('data', d => (stderr = (stderr + String(d)).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) break;
    try {
      await fetch(`${endpoint}/moto-api/`);
      const sfn = new SFNClient({ endpoint, region: REGION, credentials, maxAttempts: 2 });
      return {
        endpoint,
        /** What the builds need to reach moto (S3) as the AWS SDK does in CodeBuild. */
        env: { ...awsEnv, AWS_ENDPOINT_URL: endpoint },
        sfn,
        stderr: () => stderr,
        stop: () => {
          sfn.destroy();
          proc.kill('SIGTERM');
        }
      };
    } catch {
      await sleep(200);
    }
  }
  proc.kill('SIGKILL');
  throw new Error(`moto did not start: ${stderr}`);
}

export type Moto = Awaited<ReturnType<typeof startMoto>>;

/** Create an S3 bucket in moto (path-style, as the items file is read). */
export async function createBucket(moto: Moto, bucket: string): Promise<void> {
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: moto.env.AWS_REGION,
    forcePathStyle: true,
    credentials: {
      accessKeyId: moto.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY
    }
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    s3.destroy();
  }
}

/** Create the state machine in moto; returns its ARN. */
export async function createStateMachine(moto: Moto, definition: string): Promise<string> {
  const { stateMachineArn } = await moto.sfn.send(
    new CreateStateMachineCommand({
      name: `repoguard-fan-out-${randomBytes(3).toString('hex')}`,
      definition: forMoto(definition),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/repoguard-fan-out`
    })
  );
  return stateMachineArn!;
}

/** Start an execution named `name` (the run's execution id) as the pipeline or the sweep does. */
export async function startExecution(
  moto: Moto,
  stateMachineArn: string,
  name: string,
  trigger: 'push' | 'sweep'
): Promise<string> {
  const { executionArn } = await moto.sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ trigger }) })
  );
  return executionArn!;
}

/** Wait until the execution ends; returns DescribeExecution's answer. */
export async function waitForExecution(moto: Moto, executionArn: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await moto.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING' || Date.now() > deadline) return described;
    await sleep(250);
  }
}
