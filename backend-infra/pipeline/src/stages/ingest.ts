/**
 * Ingest: read the request repo, keep only the requests that have no result
 * yet (so a rerun does nothing and history never slows a run), validate each
 * row as hostile input, and clone each valid source with the hardened clone.
 * A refused row gets its decision and reason here; the others go on.
 */
import path from 'node:path';
import {
  IParsedFile,
  IRequestRow,
  IResultRow,
  parseRequests,
  parseResults,
  PATTERNS,
  validateRequest
} from '../../../../src/common';
import { ICloneOptions, SourceRefused, hardenedClone } from '../clone';
import type { IStageContext } from '../context';
import { declaredDependencies } from '../deps';
import { git } from '../git';
import type { ILedger } from '../ledger';
import { sourceKey } from '../policy/names';
import type { Resolver } from '../net';
import { errorMessage, oneLine } from '../redact';
import type { IManifest, IManifestItem, Mode } from '../types';

export interface IIngestContext extends Omit<IStageContext, 'manifest'> {
  mode: Mode;
  workspace?: string;
  executionId: string;
}

export interface IIngestDeps {
  ledger: ILedger;
  resolve?: Resolver;
  now?: () => Date;
  /** The clone's test seam (clone.ts `testNetwork`); code only, never set in production. */
  testNetwork?: ICloneOptions['testNetwork'];
}

const SAFE_KEY = PATTERNS.safeId;

/** Pending requests: rows whose request_id has no result row, first occurrence only. */
export function pendingRequests(
  requestsText: string,
  resultsText: string | IParsedFile<IResultRow>
): { pending: { row: number; values: IRequestRow }[]; skipped: string[] } {
  const requests = parseRequests(requestsText);
  const results = typeof resultsText === 'string' ? parseResults(resultsText) : resultsText;
  const done = new Set(results.rows.map(r => r.values.request_id));
  const seen = new Set<string>();
  const pending: { row: number; values: IRequestRow }[] = [];
  const skipped = requests.errors.map(
    e => `request row ${e.row}${e.field ? ` (${e.field})` : ''}: ${e.message}; ignored`
  );
  for (const row of requests.rows) {
    const id = row.values.request_id;
    if (done.has(id)) {
      continue;
    }
    if (seen.has(id)) {
      skipped.push(
        `request row ${row.row}: request_id ${JSON.stringify(id)} repeats an earlier row; ignored`
      );
      continue;
    }
    seen.add(id);
    pending.push(row);
  }
  return { pending, skipped };
}

/** package_name → repo_url of approved results (a name may not move to another source). */
export function publishedSources(results: IParsedFile<IResultRow>): Map<string, string> {
  const map = new Map<string, string>();
  for (const { values } of results.rows) {
    if (values.decision === 'approved') {
      map.set(sourceKey(values.package_name), values.repo_url);
    }
  }
  return map;
}

/** Options of a run's listing: at most `max` requests (the rest stay pending for the next run). */
export interface IListOptions {
  max?: number;
}

/** Policy of the source URLs of this mode (no local sources in the AWS mode). */
export function sourcePolicy(ctx: IIngestContext): {
  allowedHosts: string[];
  allowedLocalRoots: string[];
} {
  return {
    allowedHosts: ctx.config.allowedHosts,
    allowedLocalRoots: ctx.mode === 'local' ? ctx.config.allowedLocalRoots : []
  };
}

/** The pending requests of the ledger as manifest items (nothing cloned), oldest first, at most `max`. */
export async function listPending(
  ctx: IIngestContext,
  deps: IIngestDeps,
  options: IListOptions = {}
): Promise<{ manifest: IManifest; published: Map<string, string>; left: number }> {
  const now = deps.now ?? (() => new Date());
  const snapshot = await deps.ledger.read();
  const results = parseResults(snapshot.results);
  const { pending, skipped } = pendingRequests(snapshot.requests, results);
  for (const line of skipped) {
    ctx.progress.log(`ingest  ${line}`);
  }
  const max = options.max && options.max > 0 ? Math.floor(options.max) : pending.length;
  const taken = pending.slice(0, max);
  const manifest: IManifest = {
    version: 1,
    mode: ctx.mode,
    workspace: ctx.workspace,
    executionId: ctx.executionId,
    createdAt: now().toISOString(),
    ledgerSha: snapshot.sha,
    items: taken.map(({ row, values }) => ({
      request: values,
      row,
      key: SAFE_KEY.test(values.request_id) ? values.request_id : undefined
    }))
  };
  const left = pending.length - taken.length;
  if (left > 0) {
    ctx.progress.log(`ingest  ${left} more pending request(s) left for the next run (max ${max})`);
  }
  for (const item of manifest.items) {
    await ctx.progress.state(item, 'queued', 'queued');
  }
  return { manifest, published: publishedSources(results), left };
}

export async function ingest(
  ctx: IIngestContext,
  deps: IIngestDeps,
  options: IListOptions = {}
): Promise<IManifest> {
  const { manifest, published } = await listPending(ctx, deps, options);
  const policy = sourcePolicy(ctx);
  for (const item of manifest.items) {
    await ctx.progress.track('ingest', item, () => ingestOne(ctx, deps, item, policy, published));
  }
  return manifest;
}

/** Validate one request and clone its source under `ctx.dir`; a refused or failed one gets its decision. */
export async function ingestOne(
  ctx: IIngestContext,
  deps: IIngestDeps,
  item: IManifestItem,
  policy: { allowedHosts: string[]; allowedLocalRoots: string[] },
  published: Map<string, string>
): Promise<string> {
  const request = item.request;
  const problems = validateRequest(request, policy);
  if (problems.length > 0) {
    item.decision = 'refused';
    item.reason = problems.map(p => `${p.field}: ${p.reason}`).join('; ');
    return `refused: ${item.reason}`;
  }
  const previous = published.get(sourceKey(request.package_name));
  if (previous !== undefined && previous !== request.repo_url) {
    item.decision = 'refused';
    item.reason = `package_name: ${request.package_name} is already published from ${previous}`;
    return `refused: ${item.reason}`;
  }
  const source = path.join('sources', item.key!);
  try {
    const cloned = await hardenedClone({
      url: request.repo_url,
      ref: request.ref,
      dest: path.join(ctx.dir, source),
      allowedLocalRoots: policy.allowedLocalRoots,
      maxBytes: ctx.config.maxRepoSizeMB * 1024 * 1024,
      timeoutMs: (ctx.config.cloneTimeoutSeconds ?? 300) * 1000,
      resolve: deps.resolve,
      fullHistory: ctx.mode === 'aws',
      testNetwork: deps.testNetwork
    });
    await keepRepositoryAcrossArtifacts(path.join(ctx.dir, source), cloned.commitSha);
    item.commitSha = cloned.commitSha;
    item.sizeBytes = cloned.sizeBytes;
    item.source = source;
    item.dependencies = await declaredDependencies(path.join(ctx.dir, source));
    return `${cloned.commitSha.slice(0, 12)} (${cloned.files} files, ${(cloned.sizeBytes / 1024).toFixed(0)} KiB)`;
  } catch (error) {
    if (error instanceof SourceRefused) {
      item.decision = 'refused';
      item.reason = `${error.field}: ${error.message}`;
      return `refused: ${item.reason}`;
    }
    item.decision = 'error';
    item.reason = oneLine(`clone failed: ${errorMessage(error)}`);
    return `error: ${item.reason}`;
  }
}

/** The ref that keeps a clone a repository when it travels as a CodeBuild artifact. */
export const SCANNED_REF = 'refs/heads/repoguard-scanned';

/**
 * CodeBuild passes artifacts between projects as zip files of files: empty
 * folders (a fresh clone's `.git/refs/heads`, `refs/tags`) are dropped, and
 * git no longer sees a repository without `.git/refs`, so publish's push
 * would fail. A ref naming the scanned commit keeps `.git/refs` non-empty
 * (and the commit reachable). Our own repository: no hooks run.
 */
async function keepRepositoryAcrossArtifacts(dir: string, commitSha: string): Promise<void> {
  await git(['-c', 'core.hooksPath=/dev/null', 'update-ref', SCANNED_REF, commitSha], {
    cwd: dir
  });
}
