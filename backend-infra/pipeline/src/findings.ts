/**
 * `findings.json` (`src/common/findings.ts`): the findings of one request as
 * the policy judged them, written beside `report.sarif`. The report page, the
 * mail and the panel's Findings view all read this one normalisation.
 */
import {
  FINDINGS_FORMAT,
  FINDINGS_LIMIT,
  IFindingsFile,
  IJudgedFinding,
  SEVERITIES
} from '../../../src/common';
import type { IPolicyFinding, IPolicyItem } from './policy';
import { redact } from './redact';
import type { IFinding, IManifestItem } from './types';

function key(f: IFinding): string {
  return `${f.scanner}\u0000${f.ruleId}\u0000${f.path}\u0000${f.line ?? ''}\u0000${f.message}`;
}

function judged(f: IPolicyFinding, drove: boolean): IJudgedFinding {
  return {
    scanner: f.scanner,
    rule_id: f.ruleId,
    severity: f.effectiveSeverity,
    scanner_severity: f.severity,
    gate: f.gate ?? '',
    waived: f.waiver !== undefined,
    drove,
    reason: f.waiver ? f.waiver.reason : (f.note ?? ''),
    message: f.message.slice(0, 2000),
    path: f.path,
    line: f.line ?? null,
    snippet: f.snippet ?? ''
  };
}

/** The findings file of a decided (or pending) item: worst counted severity first, drivers first within it. */
export function findingsFile(item: IManifestItem): IFindingsFile {
  const drivers = new Set((item.drivers ?? []).map(key));
  const all = (item.scanners ?? [])
    .flatMap(s => s.findings as IPolicyFinding[])
    .map(f => judged(f, drivers.has(key(f))));
  const rank = (f: IJudgedFinding): number =>
    SEVERITIES.indexOf(f.severity) * 2 + (f.drove ? 0 : 1);
  all.sort((a, b) => rank(a) - rank(b));
  const c = item.counts ?? { critical: 0, high: 0, medium: 0, low: 0 };
  return {
    format: FINDINGS_FORMAT,
    request_id: item.request.request_id,
    decision: item.decision ?? 'pending',
    reason: item.reason ?? '',
    max_severity: item.maxSeverity ?? '',
    counts: { critical: c.critical, high: c.high, medium: c.medium, low: c.low },
    findings: all.slice(0, FINDINGS_LIMIT),
    omitted: Math.max(0, all.length - FINDINGS_LIMIT),
    waivers: ((item as IPolicyItem).waivers ?? []).map(w => ({
      rule_id: w.ruleId,
      covers: w.covers,
      expires: w.expires,
      approver: w.approver,
      reason: w.reason,
      path: w.path,
      line: w.line ?? null
    }))
  };
}

/** The file's text, through the redactor like every file the pipeline writes. */
export function findingsJson(item: IManifestItem): string {
  return redact(JSON.stringify(findingsFile(item), null, 2) + '\n');
}
