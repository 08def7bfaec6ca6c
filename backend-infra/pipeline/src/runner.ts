/**
 * Wiring: loads the config and the mode's adapters, then runs the stages
 * either all in one process (`run`, `watch`) or one per invocation with a
 * manifest file between them (as CodeBuild runs them). Same stage code in
 * both cases.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { awsAdapters } from './adapters/aws';
import { localAdapters } from './adapters/local';
import type { IAdapters } from './adapters/types';
import type { IStageContext } from './context';
import { git } from './git';
import { readManifest, writeManifest } from './manifest';
import { Progress } from './progress';
import { decide } from './stages/decide';
import { ingest } from './stages/ingest';
import { notify } from './stages/notify';
import { publish } from './stages/publish';
import { record } from './stages/record';
import { IScanDeps, scan } from './stages/scan';
import type { IManifest, Mode } from './types';
import { IWorkspaceConfig, Workspace, defaultConfig } from './workspace';

export type StageCommand = 'scan' | 'decide' | 'publish' | 'record' | 'notify' | 'finish';
export const STAGE_ORDER = ['ingest', 'scan', 'decide', 'publish', 'record', 'notify'] as const;

export interface IRunnerOptions {
  mode: Mode;
  /** Workspace folder (local mode). */
  workspace?: string;
  /** JSON config file (aws mode; same keys as repoguard.config.json). */
  configFile?: string;
  executionId?: string;
  /** Replace the mode's adapters (tests). */
  adapters?: IAdapters;
  scanDeps?: IScanDeps;
  write?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Stop after this stage (tests of crash recovery). */
  stopAfter?: (typeof STAGE_ORDER)[number];
}

interface ISetup {
  config: IWorkspaceConfig;
  adapters: IAdapters;
  workspace?: Workspace;
}

export function newExecutionId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REPOGUARD_EXECUTION_ID) return env.REPOGUARD_EXECUTION_ID;
  if (env.CODEBUILD_BUILD_ID) return env.CODEBUILD_BUILD_ID;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `local-${stamp}-${randomBytes(3).toString('hex')}`;
}

async function awsConfig(
  options: IRunnerOptions,
  env: NodeJS.ProcessEnv
): Promise<IWorkspaceConfig> {
  const file = options.configFile ?? env.REPOGUARD_CONFIG;
  const base = { ...defaultConfig('/nonexistent'), allowedLocalRoots: [] as string[] };
  const fromFile = file
    ? (JSON.parse(await readFile(file, 'utf8')) as Partial<IWorkspaceConfig>)
    : {};
  const config: IWorkspaceConfig = { ...base, ...fromFile, allowedLocalRoots: [] };
  if (env.REPOGUARD_ALLOWED_HOSTS) {
    config.allowedHosts = env.REPOGUARD_ALLOWED_HOSTS.split(',')
      .map(h => h.trim())
      .filter(Boolean);
  }
  return config;
}

/** Stages that touch no outside service: they run without credentials (e.g. the scan project). */
const OFFLINE: ReadonlySet<string> = new Set(['scan', 'decide']);

const NO_ADAPTERS = new Proxy({} as IAdapters, {
  get: (_target, name) => {
    if (name === 'stateDir' || name === 'reportLink' || name === 'resolve' || name === 'then') {
      return undefined;
    }
    throw new Error(`this stage does not use the ${String(name)} adapter`);
  }
});

async function setup(options: IRunnerOptions, offline = false): Promise<ISetup> {
  const env = options.env ?? process.env;
  if (options.mode === 'local') {
    if (!options.workspace) {
      throw new Error('--local DIR is required in the embedded mode');
    }
    const workspace = new Workspace(path.resolve(options.workspace));
    const config = await workspace.config();
    return { config, workspace, adapters: options.adapters ?? localAdapters(workspace, config) };
  }
  const config = await awsConfig(options, env);
  if (offline && !options.adapters) {
    return { config, adapters: NO_ADAPTERS };
  }
  return { config, adapters: options.adapters ?? (await awsAdapters(env)) };
}

function progressFor(options: IRunnerOptions, executionId: string, adapters: IAdapters): Progress {
  return new Progress({ executionId, stateDir: adapters.stateDir, write: options.write });
}

async function runStages(
  stages: readonly StageCommand[],
  ctx: IStageContext,
  adapters: IAdapters,
  options: IRunnerOptions
): Promise<void> {
  for (const stage of stages) {
    switch (stage) {
      case 'scan':
        await scan(ctx, options.scanDeps);
        break;
      case 'decide':
        await decide(ctx);
        break;
      case 'publish':
        await publish(ctx, { publisher: adapters.publisher });
        break;
      case 'record':
        await record(ctx, { ledger: adapters.ledger, reports: adapters.reports });
        break;
      case 'notify':
        await notify(ctx, { mailer: adapters.mailer, reportLink: adapters.reportLink });
        break;
      case 'finish':
        await runStages(['decide', 'publish', 'record', 'notify'], ctx, adapters, options);
        break;
    }
    if (options.stopAfter === stage) {
      return;
    }
  }
}

/** `ingest` as its own step: writes the manifest (sources cloned beside it). */
export async function ingestToFile(options: IRunnerOptions, out: string): Promise<IManifest> {
  const { config, adapters, workspace } = await setup(options);
  const executionId = options.executionId ?? newExecutionId(options.env);
  const dir = path.dirname(path.resolve(out));
  const progress = progressFor(options, executionId, adapters);
  try {
    const manifest = await ingest(
      { mode: options.mode, workspace: workspace?.root, executionId, dir, config, progress },
      { ledger: adapters.ledger, resolve: adapters.resolve }
    );
    await writeManifest(out, manifest);
    return manifest;
  } finally {
    await adapters.ledger.close?.();
  }
}

/** One stage (or `finish`) on a manifest file, written back in place. */
export async function stageOnFile(
  stage: StageCommand,
  manifestFile: string,
  options: Omit<IRunnerOptions, 'mode' | 'workspace'> & { mode?: Mode; workspace?: string }
): Promise<IManifest> {
  const manifest = await readManifest(manifestFile);
  const full: IRunnerOptions = {
    ...options,
    mode: options.mode ?? manifest.mode,
    workspace: options.workspace ?? manifest.workspace
  };
  const { config, adapters } = await setup(full, OFFLINE.has(stage));
  const ctx: IStageContext = {
    manifest,
    dir: path.dirname(path.resolve(manifestFile)),
    config,
    progress: progressFor(full, manifest.executionId, adapters)
  };
  try {
    await runStages([stage], ctx, adapters, full);
  } finally {
    await writeManifest(manifestFile, manifest);
    if (!OFFLINE.has(stage) || full.mode === 'local') {
      await adapters.ledger.close?.();
    }
  }
  return manifest;
}

/** Process every pending request once, all stages in this process. */
export async function runOnce(options: IRunnerOptions): Promise<IManifest> {
  const { config, adapters, workspace } = await setup(options);
  const executionId = options.executionId ?? newExecutionId(options.env);
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const root = workspace ? workspace.workDir : path.resolve('repoguard-work');
  const dir = path.join(root, executionId);
  const progress = progressFor({ ...options, write }, executionId, adapters);
  try {
    const manifest = await ingest(
      { mode: options.mode, workspace: workspace?.root, executionId, dir, config, progress },
      { ledger: adapters.ledger, resolve: adapters.resolve }
    );
    if (manifest.items.length === 0) {
      write(`nothing pending (request repo at ${manifest.ledgerSha.slice(0, 12)})`);
      return manifest;
    }
    if (options.stopAfter !== 'ingest') {
      const ctx: IStageContext = { manifest, dir, config, progress };
      await runStages(['scan', 'decide', 'publish', 'record', 'notify'], ctx, adapters, options);
    }
    const counts = new Map<string, number>();
    for (const item of manifest.items) {
      const d = item.decision ?? 'pending';
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    write(`done: ${[...counts].map(([d, n]) => `${n} ${d}`).join(', ')}`);
    return manifest;
  } finally {
    await adapters.ledger.close?.();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The tip of a local bare repo's main branch, read cheaply (no process in the common case). */
export async function localTip(bareRepo: string): Promise<string> {
  const loose = path.join(bareRepo, 'refs', 'heads', 'main');
  try {
    return (await readFile(loose, 'utf8')).trim();
  } catch {
    // packed or missing: ask git
  }
  if (!existsSync(path.join(bareRepo, 'HEAD'))) {
    return '';
  }
  try {
    return (
      await git(['--git-dir', bareRepo, 'rev-parse', '--verify', '--quiet', 'refs/heads/main'])
    ).trim();
  } catch {
    return '';
  }
}

export interface IWatchOptions extends IRunnerOptions {
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called after each run (tests). */
  onRun?: (manifest: IManifest) => void;
}

/** Run whenever the request repo's main branch moves, until the signal aborts. */
export async function watch(options: IWatchOptions): Promise<void> {
  if (options.mode !== 'local' || !options.workspace) {
    throw new Error(
      'watch works on an embedded workspace (--local DIR); production runs on push triggers'
    );
  }
  const workspace = new Workspace(path.resolve(options.workspace));
  await workspace.config(); // fail early when it is not a workspace
  const interval = options.intervalMs ?? 2000;
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  write(`watching ${workspace.requestRepo} (every ${interval} ms)`);
  let seen: string | null = null;
  while (!options.signal?.aborted) {
    const tip = await localTip(workspace.requestRepo);
    if (tip !== seen) {
      seen = tip;
      try {
        const manifest = await runOnce({ ...options, write });
        options.onRun?.(manifest);
      } catch (error) {
        write(`run failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      continue; // re-read at once: the run's own records moved the tip
    }
    // node's timer removes its abort listener when it fires: no listener piles up.
    await sleep(interval, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
