/**
 * Decide: the policy (src/policy) turns findings into approved / refused /
 * error, with the InfoSec waivers of the request repo.
 *
 * - Fail closed: a scanner that is missing, crashed or timed out, or a
 *   request that was never scanned, is `error`, never `approved`.
 * - Separate gates (malicious+dynamic, vulnerability, secret, licence, SAST,
 *   config), each with its threshold from the config's `policy` key (default:
 *   `severityThreshold`, medium); see src/policy/index.ts for the weighting.
 * - Waivers come from `external-package-waivers.csv` in the request repo, at
 *   the commit ingest read (`manifest.ledgerSha`); in the AWS mode, from the
 *   file named by env `REPOGUARD_WAIVERS_FILE` (the request repo's checkout),
 *   or `manifest.waiversCsv` when a stage put it there. Rows ignored as
 *   malformed are logged. Waivers in repoguard.config.json (`waivers`, the
 *   older form without `covers`) are no longer honoured: they would carry
 *   over to new code; the stage logs that it ignores them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SEVERITIES, Severity } from '../../../../src/common';
import type { IStageContext } from '../context';
import { git } from '../git';
import {
  ContentHasher,
  IPolicy,
  IPolicyConfig,
  IPolicyFinding,
  IPolicyItem,
  IWaiverFile,
  WAIVERS_FILE,
  categoryOf,
  evaluate,
  nameFindings,
  parseWaivers,
  resolvePolicy,
  filesImporting,
  srcLayoutOf,
  typescriptRunsIn
} from '../policy';
import { oneLine } from '../redact';
import type { IManifest } from '../types';

/** The waivers file text: manifest, then the local request repo at ledgerSha, then env REPOGUARD_WAIVERS_FILE. */
export async function waiversText(manifest: IManifest & { waiversCsv?: string }): Promise<string> {
  if (typeof manifest.waiversCsv === 'string') return manifest.waiversCsv;
  if (manifest.workspace && manifest.ledgerSha) {
    try {
      return await git([
        '--git-dir',
        path.join(manifest.workspace, 'requests.git'),
        'show',
        `${manifest.ledgerSha}:${WAIVERS_FILE}`
      ]);
    } catch {
      return ''; // no waivers file in the request repo
    }
  }
  if (process.env.REPOGUARD_WAIVERS_FILE) {
    return readFile(process.env.REPOGUARD_WAIVERS_FILE, 'utf8');
  }
  return '';
}

export interface IDecideDeps {
  now?: () => Date;
  /** Waivers file text (tests); default `waiversText(manifest)`. */
  waivers?: string;
}

export async function decide(ctx: IStageContext, deps: IDecideDeps = {}): Promise<IManifest> {
  const config = ctx.config as typeof ctx.config & { policy?: IPolicyConfig };
  const policy: IPolicy = resolvePolicy({
    severityThreshold: config.severityThreshold,
    policy: config.policy
  });
  const pending = ctx.manifest.items.filter(i => i.decision === undefined);
  if (pending.length === 0) {
    return ctx.manifest;
  }
  if ((config.waivers ?? []).length > 0) {
    ctx.progress.log(
      `decide: ignoring ${config.waivers!.length} waiver(s) in repoguard.config.json; waivers live in ${WAIVERS_FILE} of the request repo`
    );
  }
  let file: IWaiverFile;
  try {
    file = parseWaivers(deps.waivers ?? (await waiversText(ctx.manifest)));
  } catch (error) {
    file = {
      waivers: [],
      ignored: [
        {
          line: 0,
          reason: `cannot read: ${error instanceof Error ? error.message : String(error)}`
        }
      ]
    };
  }
  for (const i of file.ignored) {
    ctx.progress.log(`decide: ${WAIVERS_FILE} line ${i.line} ignored: ${oneLine(i.reason)}`);
  }
  const now = (deps.now ?? (() => new Date()))();
  for (const item of pending as IPolicyItem[]) {
    await ctx.progress.track('decide', item, async () => {
      const sourceDir = item.source ? path.join(ctx.dir, item.source) : undefined;
      const hasher = new ContentHasher(sourceDir);
      const names = await nameFindings(item.request.package_name, sourceDir);
      if (names.length > 0 && (item.scanners ?? []).length > 0) {
        item.scanners = [
          ...item.scanners!.filter(r => r.name !== 'repoguard-names'),
          { name: 'repoguard-names', status: 'ok', durationMs: 0, findings: names }
        ];
      }
      const findings = (item.scanners ?? []).flatMap(r => r.findings);
      const weighContext = {
        srcLayout: await srcLayoutOf(sourceDir),
        typescriptRuns: await typescriptRunsIn(sourceDir),
        djangoFiles: await filesImporting(
          sourceDir,
          findings
            .filter(f => f.scanner === 'bandit' && /^B61[01]$/.test(f.ruleId))
            .map(f => f.path),
          /^\s*(from|import)\s+django\b/m
        )
      };
      const verdict = await evaluate(item, policy, {
        waivers: file.waivers,
        now,
        hasher,
        weigh: weighContext
      });
      item.scanners = verdict.runs;
      await addSnippets(item.scanners.flatMap(r => r.findings) as IPolicyFinding[], sourceDir);
      item.counts = verdict.counts;
      item.maxSeverity = verdict.maxSeverity;
      item.drivers = verdict.drivers;
      item.waivers = verdict.waivers;
      item.decision = verdict.decision;
      const waived = verdict.waivers.length ? ` (${verdict.waivers.length} finding(s) waived)` : '';
      if (verdict.decision === 'approved') {
        item.reason = verdict.waivers.length
          ? `approved with waivers: ${verdict.waivers.map(w => `${w.ruleId} (${w.approver})`).join(', ')}`
          : undefined;
        return `approved (max severity ${item.maxSeverity || 'none'})${waived}`;
      }
      item.reason = oneLine(verdict.reason ?? verdict.decision);
      return `${verdict.decision}: ${item.reason}${waived}`;
    });
  }
  return ctx.manifest;
}

/** Fill a missing snippet with the finding's source line, secrets excepted (first 500 findings, files read once). */
async function addSnippets(
  findings: IPolicyFinding[],
  sourceDir: string | undefined
): Promise<void> {
  if (!sourceDir) return;
  const files = new Map<string, Promise<string[] | null>>();
  for (const f of findings.slice(0, 500)) {
    // Never for secrets: the report must not repeat a committed key.
    if (f.snippet || !f.line || !f.path || categoryOf(f) === 'secret') continue;
    const full = path.resolve(sourceDir, f.path);
    if (!full.startsWith(path.resolve(sourceDir) + path.sep)) continue;
    if (!files.has(full))
      files.set(
        full,
        readFile(full, 'utf8').then(
          t => t.split('\n'),
          () => null
        )
      );
    const lines = await files.get(full)!;
    const text = lines?.[f.line - 1];
    if (text !== undefined) f.snippet = text.trim().slice(0, 300);
  }
}

/** Severities a finding can carry, worst first (for tests and reports). */
export const ALL_SEVERITIES: readonly Severity[] = SEVERITIES;
