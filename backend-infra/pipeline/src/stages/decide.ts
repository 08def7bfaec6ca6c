/**
 * Decide: the policy turns findings into approved / refused / error.
 *
 * - Fail closed: a scanner that is missing, crashed or timed out, or a
 *   request that was never scanned, is `error`, never `approved`.
 * - A finding counts at its effective severity: one level lower when the
 *   scanner's confidence is low, one level lower when it sits in code that
 *   does not run when the package is used (tests, docs, examples,
 *   benchmarks); an InfoSec waiver from the config makes it `info`.
 * - `refused` when any finding counts at or above `severityThreshold`
 *   (default medium); the counts in the results row are effective counts.
 */
import { SEVERITIES, Severity, severityRank } from '../../../../src/common';
import type { IStageContext } from '../context';
import { oneLine } from '../redact';
import type { IFinding, IManifest, IManifestItem, ISeverityCounts } from '../types';
import type { IWaiver } from '../workspace';

const NOT_RUN_DIRS = new Set(['test', 'tests', 'testing', 'doc', 'docs', 'example', 'examples', 'benchmark', 'benchmarks']);

function lower(severity: Severity): Severity {
  const i = SEVERITIES.indexOf(severity);
  return SEVERITIES[Math.min(i + 1, SEVERITIES.length - 1)];
}

export function effective(finding: IFinding, packageName: string, waivers: readonly IWaiver[]): IFinding {
  const waiver = waivers.find(
    w =>
      (w.package === '*' || w.package.toLowerCase() === packageName.toLowerCase()) &&
      w.ruleId === finding.ruleId &&
      (!w.path || finding.path.startsWith(w.path))
  );
  if (waiver) {
    return { ...finding, effectiveSeverity: 'info', note: `waived: ${waiver.reason}` };
  }
  let severity = finding.severity;
  const notes: string[] = [];
  if (finding.confidence === 'low') {
    severity = lower(severity);
    notes.push('low confidence');
  }
  const dirs = finding.path.split('/').slice(0, -1);
  if (dirs.some(d => NOT_RUN_DIRS.has(d.toLowerCase()))) {
    severity = lower(severity);
    notes.push('not in installed code');
  }
  return { ...finding, effectiveSeverity: severity, note: notes.length ? notes.join(', ') : undefined };
}

function decideOne(item: IManifestItem, threshold: Severity, waivers: readonly IWaiver[]): string {
  const counts: ISeverityCounts = { critical: 0, high: 0, medium: 0, low: 0 };
  item.counts = counts;
  item.maxSeverity = '';
  const runs = item.scanners ?? [];
  if (runs.length === 0) {
    item.decision = 'error';
    item.reason = 'no scanner ran on this source';
    return `error: ${item.reason}`;
  }
  for (const run of runs) {
    run.findings = run.findings.map(f => effective(f, item.request.package_name, waivers));
  }
  const findings = runs.flatMap(r => r.findings);
  for (const f of findings) {
    if (f.effectiveSeverity !== 'info') {
      counts[f.effectiveSeverity]++;
    }
    if (severityRank(f.effectiveSeverity) > severityRank(item.maxSeverity)) {
      item.maxSeverity = f.effectiveSeverity;
    }
  }
  const failed = runs.filter(r => r.status !== 'ok');
  if (failed.length > 0) {
    item.decision = 'error';
    item.reason = oneLine(failed.map(r => r.message ?? `${r.name} ${r.status}`).join('; '));
    return `error: ${item.reason}`;
  }
  const drivers = findings
    .filter(f => severityRank(f.effectiveSeverity) >= severityRank(threshold))
    .sort((a, b) => severityRank(b.effectiveSeverity) - severityRank(a.effectiveSeverity));
  item.drivers = drivers;
  if (drivers.length > 0) {
    item.decision = 'refused';
    const named = drivers
      .slice(0, 3)
      .map(f => `${f.ruleId} (${f.effectiveSeverity}) at ${f.path}${f.line ? `:${f.line}` : ''}`)
      .join(', ');
    item.reason = `${drivers.length} finding(s) at or above ${threshold}: ${named}${drivers.length > 3 ? ', …' : ''}`;
    return `refused: ${item.reason}`;
  }
  item.decision = 'approved';
  return `approved (max severity ${item.maxSeverity || 'none'})`;
}

export async function decide(ctx: IStageContext): Promise<IManifest> {
  const threshold = ctx.config.severityThreshold;
  const waivers = ctx.config.waivers ?? [];
  for (const item of ctx.manifest.items) {
    if (item.decision !== undefined) {
      continue;
    }
    await ctx.progress.track('decide', item, async () => decideOne(item, threshold, waivers));
  }
  return ctx.manifest;
}
