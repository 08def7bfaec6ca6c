/**
 * One request, start to end: validate and clone, scan, decide, publish,
 * record, notify. The single per-request code path that both the embedded
 * runner's worker pool (runner.ts, `run --concurrency N`) and one AWS child
 * build (`repoguard-pipeline one`, started by the Step Functions Distributed
 * Map) run; the stage modules do the work, on a one-item manifest.
 *
 * Safe to run again after a crash at any point, and safe when two runs take
 * the same request (a push and the sweep):
 * - before publishing, the results file is read again: a request someone
 *   already recorded is neither published, recorded nor mailed again;
 * - publish is a no-op when the mirror's tag already points at the commit;
 * - record appends with `uniqueBy: request_id`, and a row that was already
 *   there sends no mail (record.ts);
 * - an unexpected failure of scan or decide is recorded as `error` with its
 *   reason (a deterministic crash must not come back on every run); a failure
 *   to record leaves the request pending (nothing was written).
 */
import { parseResults } from '../../../../src/common';
import type { IAdapters } from '../adapters/types';
import type { IStageContext } from '../context';
import type { IProgress, StageName } from '../progress';
import { errorMessage, oneLine } from '../redact';
import type { IManifest, IManifestItem, Mode } from '../types';
import type { IWorkspaceConfig } from '../workspace';
import { decide } from './decide';
import { IIngestDeps, ingestOne, sourcePolicy } from './ingest';
import { notify } from './notify';
import { publish } from './publish';
import { record } from './record';
import { IScanDeps, scan } from './scan';

export interface IRequestRun {
  mode: Mode;
  workspace?: string;
  executionId: string;
  /** Commit of the request repo the request was listed at. */
  ledgerSha: string;
  config: IWorkspaceConfig;
  progress: IProgress;
  /** This request's own folder (its clone and scanner output). */
  dir: string;
  /** package_name (lower case) → repo_url of approved results, as listed. */
  published: Map<string, string>;
  /** Stop after this stage (tests of crash recovery). */
  stopAfter?: StageName;
}

export interface IRequestDeps {
  adapters: IAdapters;
  scanDeps?: IScanDeps;
  /** The source clone's test seam (clone.ts `testNetwork`); never set in production. */
  testNetwork?: IIngestDeps['testNetwork'];
}

/** The results row of `requestId` in the request repo now, if any. */
export async function recordedDecision(
  adapters: IAdapters,
  requestId: string
): Promise<string | undefined> {
  const snapshot = await adapters.ledger.read();
  return parseResults(snapshot.results).rows.find(r => r.values.request_id === requestId)?.values
    .decision;
}

/** Run `work`; an exception becomes the item's `error` decision (nothing after it is skipped). */
async function failClosed(
  item: IManifestItem,
  stage: string,
  work: () => Promise<unknown>
): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (item.decision === undefined) {
      item.decision = 'error';
      item.reason = oneLine(`${stage} failed: ${errorMessage(error)}`);
    }
  }
}

/** Process one request of the ledger (a manifest item as listPending made it). */
export async function processRequest(
  run: IRequestRun,
  item: IManifestItem,
  deps: IRequestDeps
): Promise<IManifestItem> {
  const { adapters } = deps;
  const manifest: IManifest = {
    version: 1,
    mode: run.mode,
    workspace: run.workspace,
    executionId: run.executionId,
    createdAt: new Date().toISOString(),
    ledgerSha: run.ledgerSha,
    items: [item]
  };
  const ctx: IStageContext = { manifest, dir: run.dir, config: run.config, progress: run.progress };
  const ingestCtx = {
    ...ctx,
    mode: run.mode,
    workspace: run.workspace,
    executionId: run.executionId
  };
  const stop = (stage: StageName) => run.stopAfter === stage;

  await failClosed(item, 'ingest', () =>
    run.progress.track('ingest', item, () =>
      ingestOne(
        ingestCtx,
        { ledger: adapters.ledger, resolve: adapters.resolve, testNetwork: deps.testNetwork },
        item,
        sourcePolicy(ingestCtx),
        run.published
      )
    )
  );
  if (stop('ingest')) return item;
  await failClosed(item, 'scan', () => scan(ctx, deps.scanDeps));
  if (stop('scan')) return item;
  await failClosed(item, 'decide', () => decide(ctx));
  if (stop('decide')) return item;

  // Someone (a crashed run that got this far, another child) may have finished it meanwhile.
  const already = await recordedDecision(adapters, item.request.request_id);
  if (already !== undefined) {
    item.recorded = true;
    item.notified = 'skipped';
    run.progress.log(
      `record  ${item.request.request_id}  already recorded (${already}): not published, recorded or mailed again`
    );
    await run.progress.state(item, 'done', already, 'already recorded');
    return item;
  }
  await publish(ctx, { publisher: adapters.publisher });
  if (stop('publish')) return item;
  await record(ctx, {
    ledger: adapters.ledger,
    reports: adapters.reports,
    signer: adapters.signer
  });
  if (stop('record')) return item;
  await notify(ctx, { mailer: adapters.mailer, reportLink: adapters.reportLink });
  return item;
}

/**
 * Record a request whose child build failed or timed out (the state
 * machine's Catch runs this): `error` with the reason, report and mail as for
 * any decision, unless the request is recorded already.
 */
export async function recordFailure(
  run: IRequestRun,
  item: IManifestItem,
  reason: string,
  deps: IRequestDeps
): Promise<IManifestItem> {
  const already = await recordedDecision(deps.adapters, item.request.request_id);
  if (already !== undefined) {
    run.progress.log(`record  ${item.request.request_id}  already recorded (${already})`);
    item.recorded = true;
    item.notified = 'skipped';
    return item;
  }
  item.decision = 'error';
  item.reason = oneLine(reason);
  const ctx: IStageContext = {
    manifest: {
      version: 1,
      mode: run.mode,
      workspace: run.workspace,
      executionId: run.executionId,
      createdAt: new Date().toISOString(),
      ledgerSha: run.ledgerSha,
      items: [item]
    },
    dir: run.dir,
    config: run.config,
    progress: run.progress
  };
  await record(ctx, {
    ledger: deps.adapters.ledger,
    reports: deps.adapters.reports,
    signer: deps.adapters.signer
  });
  await notify(ctx, { mailer: deps.adapters.mailer, reportLink: deps.adapters.reportLink });
  return item;
}
