/**
 * Support of the offline AWS end-to-end harness (pipeline/test/aws-e2e.test.ts):
 *
 * - `synthesizeProjects`: the CodeBuild projects of the synthesized pipeline
 *   stack (as `cdk synth` does, cdk.json's context), each with its buildspec
 *   command and its environment variables, `Ref` / `Fn::GetAtt` / `Fn::Join`
 *   resolved to the names the test gave the emulated resources;
 * - `synthesizeApp`: the same, plus (context `enableStudio`) the Studio
 *   stack's lifecycle script with its references resolved the same way
 *   (`Fn::ImportValue` through the pipeline stack's exports), from one synth;
 * - `runStageCommand`: one buildspec command (`repoguard-pipeline list|one
 *   --mode aws`) run in this process as cli.ts runs it, on an environment:
 *   the source clone's test seam (clone.ts `testNetwork`) is a code option,
 *   so it cannot reach a child process; this is the one reason it runs here;
 * - `startMotoServer`: `.venv/bin/moto_server` on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildRepoGuardApp } from '../../../lib/app';
import { loadConfig } from '../../../lib/config';
import { listToItems, runOne, type IRunnerOptions } from '../../src/runner';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** backend-infra/ (source tree), from dist/backend-infra/pipeline/test/support. */
const BACKEND = path.resolve(__dirname, '..', '..', '..', '..', '..');

export interface IStageProject {
  logicalId: string;
  name: string;
  timeoutMinutes: number;
  /** The buildspec's one build command. */
  command: string;
  /** Its environment variables, intrinsics resolved. */
  env: Record<string, string>;
}

interface ITemplate {
  Resources: Record<string, { Type: string; Properties: any }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

/** The app's templates, synthesized as `cdk synth` does (cdk.json's context plus `context`). */
function synthesizeTemplates(context: Record<string, unknown>): {
  pipeline: ITemplate;
  studio?: ITemplate;
} {
  const cdkJson = JSON.parse(readFileSync(path.join(BACKEND, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ analyticsReporting: false, context: { ...cdkJson.context, ...context } });
  const stacks = buildRepoGuardApp(app, loadConfig(app.node), { nag: false });
  const assembly = app.synth();
  const template = (name: string) => assembly.getStackByName(name).template as ITemplate;
  return {
    pipeline: template(stacks.pipeline.stackName),
    ...(stacks.studio ? { studio: template(stacks.studio.stackName) } : {})
  };
}

/** The pipeline stack's resources, synthesized as `cdk synth` does (cdk.json's context plus `context`). */
export function pipelineResources(
  context: Record<string, unknown> = {}
): Array<[string, { Type: string; Properties: any }]> {
  return Object.entries(synthesizeTemplates(context).pipeline.Resources);
}

/** The NO_SOURCE CodeBuild projects among `resources`, by name, their environment resolved by `resolve`. */
export function stageProjects(
  resources: Array<[string, { Type: string; Properties: any }]>,
  resolve: (value: unknown) => string
): Map<string, IStageProject> {
  const projects = new Map<string, IStageProject>();
  for (const [id, r] of resources) {
    if (r.Type !== 'AWS::CodeBuild::Project' || r.Properties.Source?.Type !== 'NO_SOURCE') continue;
    const spec = JSON.parse(String(r.Properties.Source.BuildSpec)) as {
      phases: { build: { commands: string[] } };
    };
    const commands = spec.phases.build.commands;
    if (commands.length !== 1) throw new Error(`${id}: expected one build command`);
    const env: Record<string, string> = {};
    for (const v of r.Properties.Environment?.EnvironmentVariables ?? []) {
      env[String(v.Name)] = resolve(v.Value);
    }
    projects.set(String(r.Properties.Name), {
      logicalId: id,
      name: String(r.Properties.Name),
      timeoutMinutes: Number(r.Properties.TimeoutInMinutes),
      command: commands[0],
      env
    });
  }
  return projects;
}

/**
 * The NO_SOURCE CodeBuild projects (list, request, rescan) of the pipeline
 * stack, by name. `names` maps a referenced logical id prefix (e.g.
 * `GitHubToken`) to the value the test gives it (an ARN, a bucket name); an
 * unknown reference is an error (the template changed: the test must follow).
 */
export function synthesizeProjects(
  names: Record<string, string>,
  context: Record<string, unknown> = {}
): Map<string, IStageProject> {
  return synthesizeApp(names, context).projects;
}

export interface ISynthesizedApp {
  /** The NO_SOURCE CodeBuild projects of the pipeline stack, by name (see `synthesizeProjects`). */
  projects: Map<string, IStageProject>;
  /** The stage names of the pipeline (AWS::CodePipeline::Pipeline), in order. */
  pipelineStages: string[];
  /**
   * The Studio stack's lifecycle script of JupyterLab spaces (context `enableStudio`), its
   * references resolved with the same names (`Fn::Base64` left out: the script's text).
   */
  lifecycleScript?: string;
}

/** One synth of the app: the stage projects and, with `enableStudio`, the Studio side's lifecycle script. */
export function synthesizeApp(
  names: Record<string, string>,
  context: Record<string, unknown> = {}
): ISynthesizedApp {
  const templates = synthesizeTemplates(context);
  const resources = Object.entries(templates.pipeline.Resources);
  const exported = (name: string): unknown => {
    for (const t of [templates.pipeline, templates.studio]) {
      for (const output of Object.values(t?.Outputs ?? {})) {
        if (output.Export?.Name === name) return output.Value;
      }
    }
    throw new Error(`no stack exports ${name}`);
  };
  const named = (id: string): string => {
    const hit = Object.entries(names).find(([prefix]) => id.startsWith(prefix));
    if (!hit) throw new Error(`no test name for the template's reference to ${id}`);
    return hit[1];
  };
  const resolve = (value: any): string => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object') {
      if ('Fn::Join' in value) {
        const [sep, parts] = value['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(sep);
      }
      if ('Fn::GetAtt' in value) return named(String(value['Fn::GetAtt'][0]));
      if ('Fn::ImportValue' in value) return resolve(exported(String(value['Fn::ImportValue'])));
      if ('Fn::Base64' in value) return resolve(value['Fn::Base64']);
      if ('Ref' in value) {
        const ref = String(value.Ref);
        if (ref === 'AWS::Partition') return 'aws';
        if (ref === 'AWS::Region') return 'us-east-1';
        if (ref === 'AWS::AccountId') return '123456789012';
        return named(ref);
      }
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  };
  const pipeline = resources.find(([, r]) => r.Type === 'AWS::CodePipeline::Pipeline');
  const lcc = Object.values(templates.studio?.Resources ?? {}).find(
    r => r.Type === 'AWS::SageMaker::StudioLifecycleConfig'
  );
  return {
    projects: stageProjects(resources, resolve),
    pipelineStages: ((pipeline?.[1].Properties.Stages ?? []) as { Name: string }[]).map(
      s => s.Name
    ),
    ...(lcc ? { lifecycleScript: resolve(lcc.Properties.StudioLifecycleConfigContent) } : {})
  };
}

/** The seams a stage command runs with in this process (code options, never environment). */
export type StageSeams = Pick<IRunnerOptions, 'resolve' | 'testNetwork' | 'write'>;

/**
 * Run one buildspec command with `env` as the whole process environment (the
 * AWS SDK reads its endpoint and credentials from there), in `cwd` (the
 * build's own disk), translating its arguments as cli.ts does. Only the
 * fan-out's commands are known: `list --mode aws` and `one --mode aws`.
 */
export async function runStageCommand(
  command: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  seams: StageSeams
): Promise<void> {
  const match = /^repoguard-pipeline (list|one) --mode aws$/.exec(command);
  if (!match) throw new Error(`not a fan-out stage command: ${command}`);
  const saved = process.env;
  const savedCwd = process.cwd();
  process.env = { ...env };
  process.chdir(cwd);
  try {
    const options: IRunnerOptions = { mode: 'aws', env: process.env, ...seams };
    if (match[1] === 'list') {
      // cli.ts `list`: the items target from the environment, --max from REPOGUARD_MAX_REQUESTS.
      if (!env.REPOGUARD_ITEMS_BUCKET || !env.REPOGUARD_ITEMS_KEY) {
        throw new Error('list: REPOGUARD_ITEMS_BUCKET and REPOGUARD_ITEMS_KEY are required');
      }
      const max = env.REPOGUARD_MAX_REQUESTS ? Number(env.REPOGUARD_MAX_REQUESTS) : undefined;
      await listToItems(
        { ...options, max },
        `s3://${env.REPOGUARD_ITEMS_BUCKET}/${env.REPOGUARD_ITEMS_KEY}`
      );
    } else {
      // cli.ts `one`: the request id and an optional failure from the environment.
      if (!env.REPOGUARD_REQUEST_ID) throw new Error('one: REPOGUARD_REQUEST_ID is required');
      await runOne({
        ...options,
        requestId: env.REPOGUARD_REQUEST_ID,
        failure: env.REPOGUARD_CHILD_FAILURE ? env.REPOGUARD_CHILD_FAILURE : undefined
      });
    }
  } finally {
    process.chdir(savedCwd);
    process.env = saved;
  }
}

export { startMotoServer } from './moto';
