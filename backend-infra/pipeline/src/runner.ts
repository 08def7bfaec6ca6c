/**
 * Wiring: loads the config and the mode's adapters, then runs the stages
 * either all in one process (`run`, `watch`) or one per invocation with a
 * manifest file between them (as CodeBuild runs them). Same stage code in
 * both cases.
 */
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { awsAdapters } from './adapters/aws';
import { localAdapters } from './adapters/local';
import type { IAdapters } from './adapters/types';
import type { ICloneOptions } from './clone';
import type { IStageContext } from './context';
import type { Resolver } from './net';
import { git } from './git';
import { readManifest, writeManifest } from './manifest';
import { Progress } from './progress';
import { oneLine } from './redact';
import { decide } from './stages/decide';
import { PATTERNS, STAGES, Stage, parseResults } from '../../../src/common';
import { ingest, listPending, pendingRequests, publishedSources } from './stages/ingest';
import { notify } from './stages/notify';
import { processRequest, recordFailure } from './stages/process-request';
import { publish } from './stages/publish';
import { record } from './stages/record';
import { IScanDeps, scan } from './stages/scan';
import type { IManifest, IManifestItem, Mode } from './types';
import { writeItems } from './items';
import { IWorkspaceConfig, Workspace, defaultConfig } from './workspace';

export type StageCommand = Exclude<Stage, 'ingest'> | 'finish';
export const STAGE_ORDER = STAGES;

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
  /** Requests processed at once by `runOnce` (default: the number of cores). */
  concurrency?: number;
  /** At most this many requests per run; the rest stay pending (default: config `maxRequestsPerRun`, else all). */
  max?: number;
  /**
   * Test seams of the source clones (the offline AWS harness), code only: the
   * CLI never sets them and no environment variable does. `resolve` is the
   * SSRF guard's DNS (default: the adapters', else the system's);
   * `testNetwork` is clone.ts's (the guard still checks every address).
   */
  resolve?: Resolver;
  testNetwork?: ICloneOptions['testNetwork'];
}

/** The run's cap: the option, else the config's `maxRequestsPerRun`, else none. */
function maxPerRun(options: IRunnerOptions, config: IWorkspaceConfig): number | undefined {
  const fromConfig = (config as IWorkspaceConfig & { maxRequestsPerRun?: number })
    .maxRequestsPerRun;
  const max = options.max ?? fromConfig;
  return typeof max === 'number' && Number.isFinite(max) && max > 0 ? Math.floor(max) : undefined;
}

/** Default worker count: the cores this process may use. */
export function defaultConcurrency(): number {
  return Math.max(1, availableParallelism());
}

/** Run `work` on every item with at most `limit` at once, in list order; the first error is rethrown at the end. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
}

export interface ISetup {
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

/** The mode's config and adapters (also the re-scan's). */
export async function setup(options: IRunnerOptions, offline = false): Promise<ISetup> {
  const env = options.env ?? process.env;
  if (options.mode === 'local') {
    if (!options.workspace) {
      throw new Error('--local DIR is required in the embedded mode');
    }
    const workspace = new Workspace(path.resolve(options.workspace));
    const config = await workspace.config();
    return {
      config,
      workspace,
      adapters: withResolver(options, options.adapters ?? localAdapters(workspace, config))
    };
  }
  const config = await awsConfig(options, env);
  if (offline && !options.adapters) {
    return { config, adapters: NO_ADAPTERS };
  }
  return { config, adapters: withResolver(options, options.adapters ?? (await awsAdapters(env))) };
}

/** The adapters with the options' DNS for the source clones, when a test gives one. */
function withResolver(options: IRunnerOptions, adapters: IAdapters): IAdapters {
  return options.resolve ? { ...adapters, resolve: options.resolve } : adapters;
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
        await record(ctx, {
          ledger: adapters.ledger,
          reports: adapters.reports,
          signer: adapters.signer
        });
        break;
      case 'notify':
        await notify(ctx, { mailer: adapters.mailer, reportLink: adapters.reportLink });
        break;
      case 'finish':
        await runStages(
          STAGE_ORDER.filter(
            (s): s is Exclude<Stage, 'ingest' | 'scan'> => s !== 'ingest' && s !== 'scan'
          ),
          ctx,
          adapters,
          options
        );
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
      { ledger: adapters.ledger, resolve: adapters.resolve, testNetwork: options.testNetwork }
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

/**
 * Process every pending request once (at most `max`), all stages in this
 * process: a pool of `concurrency` workers, each taking the next request
 * through the per-request path (stages/process-request.ts) that an AWS child
 * build runs too. A request whose record fails stays pending; the others go on.
 */
export async function runOnce(options: IRunnerOptions): Promise<IManifest> {
  const { config, adapters, workspace } = await setup(options);
  const executionId = options.executionId ?? newExecutionId(options.env);
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const root = workspace ? workspace.workDir : path.resolve('repoguard-work');
  const dir = path.join(root, executionId);
  const progress = progressFor({ ...options, write }, executionId, adapters);
  try {
    const ctx = {
      mode: options.mode,
      workspace: workspace?.root,
      executionId,
      dir,
      config,
      progress
    };
    const { manifest, published } = await listPending(
      ctx,
      { ledger: adapters.ledger, resolve: adapters.resolve },
      { max: maxPerRun(options, config) }
    );
    if (manifest.items.length === 0) {
      write(`nothing pending (request repo at ${manifest.ledgerSha.slice(0, 12)})`);
      return manifest;
    }
    if (options.stopAfter === 'ingest') {
      // Listing only (tests): nothing cloned.
      return manifest;
    }
    const failures: string[] = [];
    await pool(manifest.items, options.concurrency ?? defaultConcurrency(), async item => {
      const run = {
        mode: options.mode,
        workspace: workspace?.root,
        executionId,
        ledgerSha: manifest.ledgerSha,
        config,
        progress,
        dir: path.join(dir, `r${item.row}`),
        published,
        stopAfter: options.stopAfter
      };
      try {
        await processRequest(run, item, {
          adapters,
          scanDeps: options.scanDeps,
          testNetwork: options.testNetwork
        });
      } catch (error) {
        // Not recorded (e.g. the request repo was unreachable): it stays pending.
        failures.push(`${item.request.request_id || `row ${item.row}`}: ${String(error)}`);
        write(
          `request ${item.request.request_id || `row ${item.row}`} left pending: ${String(error)}`
        );
      } finally {
        await rm(run.dir, { recursive: true, force: true });
      }
    });
    const counts = new Map<string, number>();
    for (const item of manifest.items) {
      const d = item.recorded ? (item.decision ?? 'pending') : 'pending';
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    write(`done: ${[...counts].map(([d, n]) => `${n} ${d}`).join(', ')}`);
    return manifest;
  } finally {
    await adapters.ledger.close?.();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Options of one child: which request, and whether its build already failed. */
export interface IOneOptions extends IRunnerOptions {
  requestId: string;
  /**
   * Set when the state machine's Catch runs this child after the request's
   * build failed or timed out: JSON `{"Error": ..., "Cause": ...}` of the
   * failure (the Cause is CodeBuild's build description). The request is
   * recorded `error` with that reason instead of being scanned.
   */
  failure?: string;
}

/**
 * The reason to record from the state machine's failure of a child build:
 * JSON `{Error, BuildId?, BuildStatus?, TimeoutInMinutes?}` (lib/constructs/fan-out.ts).
 */
export function failureReason(failure: string): string {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(failure);
    if (value && typeof value === 'object') parsed = value as Record<string, unknown>;
  } catch {
    return oneLine(`the request's build failed: ${failure.slice(0, 300)}`);
  }
  const error = typeof parsed.Error === 'string' && parsed.Error ? parsed.Error : 'unknown error';
  if (typeof parsed.BuildStatus === 'string') {
    const timedOut = parsed.BuildStatus === 'TIMED_OUT';
    const limit =
      timedOut && parsed.TimeoutInMinutes !== undefined
        ? ` after its ${String(parsed.TimeoutInMinutes)} min limit`
        : '';
    return oneLine(
      `the request's build ${String(parsed.BuildId ?? '')} ended ${parsed.BuildStatus}${limit} ` +
        `before a decision (${error}); not approved`
    );
  }
  return oneLine(`the request's build did not complete (${error}); not approved`);
}

/**
 * One request by id: what an AWS child build runs (`repoguard-pipeline one`).
 * Reads the request row from the ledger (the id alone travels in the build's
 * environment), then the per-request path; a request already recorded is
 * left alone (a sweep and a push may both start it).
 */
export async function runOne(options: IOneOptions): Promise<IManifestItem | undefined> {
  const { config, adapters, workspace } = await setup(options);
  const executionId = options.executionId ?? newExecutionId(options.env);
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const root = workspace ? workspace.workDir : path.resolve('repoguard-work');
  // Children of one execution may share a disk (a CodeBuild double, the embedded
  // mode): each works, and cleans up, in a folder of its own request.
  const dir = path.join(
    root,
    executionId,
    `one-${createHash('sha256').update(options.requestId).digest('hex').slice(0, 16)}`
  );
  const progress = progressFor({ ...options, write }, executionId, adapters);
  try {
    const snapshot = await adapters.ledger.read();
    const { pending } = pendingRequests(snapshot.requests, snapshot.results);
    const found = pending.find(p => p.values.request_id === options.requestId);
    if (!found) {
      write(
        `request ${options.requestId}: not pending (already recorded, or not in the request file)`
      );
      return undefined;
    }
    const item: IManifestItem = {
      request: found.values,
      row: found.row,
      key: PATTERNS.safeId.test(found.values.request_id) ? found.values.request_id : undefined
    };
    await mkdir(dir, { recursive: true });
    const run = {
      mode: options.mode,
      workspace: workspace?.root,
      executionId,
      ledgerSha: snapshot.sha,
      config,
      progress,
      dir,
      published: publishedSources(parseResults(snapshot.results)),
      stopAfter: options.stopAfter
    };
    if (options.failure !== undefined) {
      await recordFailure(run, item, failureReason(options.failure), { adapters });
    } else {
      await processRequest(run, item, {
        adapters,
        scanDeps: options.scanDeps,
        testNetwork: options.testNetwork
      });
    }
    write(
      `done: ${item.request.request_id} ${item.recorded ? (item.decision ?? 'error') : 'pending'}`
    );
    return item;
  } finally {
    await adapters.ledger.close?.();
    await rm(dir, { recursive: true, force: true });
    // The execution's folder goes with its last child (another may still be working in it).
    await rmdir(path.dirname(dir)).catch(() => undefined);
  }
}

/**
 * The pending requests (at most `max`) as the items file of the state
 * machine's Distributed Map: `s3://bucket/key` in the AWS mode, a path
 * otherwise. Nothing is cloned: each child does its own.
 */
export async function listToItems(
  options: IRunnerOptions,
  target: string
): Promise<{ count: number; left: number }> {
  const { config, adapters, workspace } = await setup(options);
  const executionId = options.executionId ?? newExecutionId(options.env);
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const progress = progressFor({ ...options, write }, executionId, adapters);
  try {
    const { manifest, left } = await listPending(
      { mode: options.mode, workspace: workspace?.root, executionId, dir: '.', config, progress },
      { ledger: adapters.ledger },
      { max: maxPerRun(options, config) }
    );
    await writeItems(target, manifest.items, options.env ?? process.env);
    write(
      `listed ${manifest.items.length} pending request(s) to ${target}${left ? `; ${left} left for the next run` : ''}`
    );
    return { count: manifest.items.length, left };
  } finally {
    await adapters.ledger.close?.();
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
