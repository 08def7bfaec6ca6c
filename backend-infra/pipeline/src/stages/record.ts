/**
 * Record: store each request's report (merged SARIF, findings.json, Markdown, HTML) and
 * append its results row to the request repo with optimistic concurrency.
 * A row whose request_id is already recorded is not appended again (and its
 * mail is not sent again). A request without a decision is not recorded: it
 * stays pending for the next run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FILES, IResultRow, RESULT_COLUMNS, RESULTS_FILE } from '../../../../src/common';
import { ATTESTATION_FILE, archiveSha256, ISigner, signStatement, statementFor } from '../attest';
import type { IStageContext } from '../context';
import { formatDependencies } from '../deps';
import type { ILedger } from '../ledger';
import type { IReportFile, IReportStore } from '../ports';
import { formatWaivers, IPolicyItem } from '../policy';
import { redact } from '../redact';
import { findingsJson } from '../findings';
import { renderHtml, renderMarkdown } from '../report';
import { ecosystemOf, SBOM_FILE, sbomFor } from '../sbom';
import type { IManifest, IManifestItem } from '../types';

export interface IRecordDeps {
  ledger: ILedger;
  reports: IReportStore;
  /** Signs each decision (an in-toto attestation beside the report); without one, none is written and no installer will accept the approval. */
  signer?: ISigner;
  now?: () => Date;
}

/** The signed attestation of one decided item, as a report file. */
async function attestationFile(
  ctx: IStageContext,
  item: IManifestItem,
  signer: ISigner
): Promise<IReportFile> {
  const source = item.source ? path.join(ctx.dir, item.source) : undefined;
  const archive =
    source && item.commitSha ? await archiveSha256(source, item.commitSha) : undefined;
  const statement = statementFor(item, ctx.manifest.executionId, {
    archiveSha256: archive,
    waivers: ((item as IPolicyItem).waivers ?? []).map(w => formatWaivers([w]))
  });
  const envelope = await signStatement(statement, signer);
  return {
    name: ATTESTATION_FILE,
    body: JSON.stringify(envelope, null, 2),
    contentType: 'application/vnd.dsse.envelope.v1+json'
  };
}

/** The results row of a decided item; every cell redacted (a request URL's credentials, tokens). */
export function resultRow(item: IManifestItem, executionId: string, scannedAt: string): IResultRow {
  const row = rawResultRow(item, executionId, scannedAt);
  for (const key of Object.keys(row) as (keyof IResultRow)[]) {
    const value = row[key];
    if (typeof value === 'string') (row as unknown as Record<string, string>)[key] = redact(value);
  }
  return row;
}

function rawResultRow(item: IManifestItem, executionId: string, scannedAt: string): IResultRow {
  const r = item.request;
  const counts = item.counts ?? { critical: 0, high: 0, medium: 0, low: 0 };
  return {
    request_id: r.request_id,
    package_name: r.package_name,
    repo_url: r.repo_url,
    ref: r.ref,
    commit_sha: item.commitSha ?? '',
    decision: item.decision ?? 'error',
    max_severity: item.maxSeverity ?? '',
    critical: String(counts.critical),
    high: String(counts.high),
    medium: String(counts.medium),
    low: String(counts.low),
    private_repo_url: item.decision === 'approved' ? (item.privateRepoUrl ?? '') : '',
    report_url: item.reportUrl ?? '',
    scanned_at: item.scannedAt ?? scannedAt,
    execution_id: executionId,
    reason: item.decision === 'approved' ? '' : (item.reason ?? ''),
    dependencies: formatDependencies(item.dependencies ?? []),
    waivers: formatWaivers((item as IPolicyItem).waivers)
  };
}

export async function record(ctx: IStageContext, deps: IRecordDeps): Promise<IManifest> {
  const now = deps.now ?? (() => new Date());
  const { executionId } = ctx.manifest;
  for (const item of ctx.manifest.items) {
    if (item.recorded) {
      continue;
    }
    if (item.decision === undefined) {
      // Not reached in this run (a crash, a time limit, the run's max): it stays
      // pending and the next run (or the sweep) takes it; never a final `error`.
      ctx.progress.log(
        `record  ${item.request.request_id || `row ${item.row}`}  not decided: left pending`
      );
      continue;
    }
    await ctx.progress.track('record', item, async () => {
      if (item.key) {
        // Every file written goes through the redactor (URL credentials, token shapes).
        const sarif = redact(
          item.sarifFile
            ? await readFile(path.join(ctx.dir, item.sarifFile), 'utf8')
            : JSON.stringify({ version: '2.1.0', runs: [] })
        );
        item.reportUrl = await deps.reports.put(item.key, [
          { name: 'report.sarif', body: sarif, contentType: 'application/sarif+json' },
          { name: FILES.findings, body: findingsJson(item), contentType: 'application/json' },
          {
            name: 'report.md',
            body: redact(renderMarkdown(item, executionId)),
            contentType: 'text/markdown; charset=utf-8'
          },
          {
            name: 'report.html',
            body: redact(renderHtml(item, executionId)),
            contentType: 'text/html; charset=utf-8'
          },
          ...(deps.signer ? [await attestationFile(ctx, item, deps.signer)] : []),
          ...(item.decision === 'approved'
            ? [
                {
                  name: SBOM_FILE,
                  body: sbomFor(
                    item,
                    ecosystemOf(item.source ? path.join(ctx.dir, item.source) : undefined)
                  ),
                  contentType: 'application/vnd.cyclonedx+json'
                }
              ]
            : [])
        ]);
      }
      const row = resultRow(item, executionId, now().toISOString());
      const appended = await deps.ledger.append(RESULTS_FILE, RESULT_COLUMNS, [row], {
        uniqueBy: 'request_id',
        message: `RepoGuard: ${row.decision} ${row.package_name} (${row.request_id})`
      });
      item.recorded = true;
      if (appended.appended === 0) {
        // Another run or child recorded it first: its requester already got (or gets) that mail.
        item.notified = item.notified ?? 'skipped';
      }
      return `${row.decision}${appended.appended === 0 ? ' (already recorded)' : ''} in ${appended.sha.slice(0, 12)}${appended.attempts > 1 ? ` after ${appended.attempts} attempts` : ''}`;
    });
  }
  return ctx.manifest;
}
