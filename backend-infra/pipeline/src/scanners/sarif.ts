/**
 * SARIF 2.1.0 in and out: read a scanner's log into normalized findings, and
 * merge the scanners' logs into the one report log of a request.
 */
import type { Log, Result, ReportingDescriptor, Run } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { IFinding } from '../types';

const LEVEL_SEVERITY: Record<string, Severity> = {
  error: 'high',
  warning: 'medium',
  note: 'low',
  none: 'info'
};

/** CVSS-like `security-severity` (0–10) → severity. */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'info';
}

function word(value: unknown): string {
  return typeof value === 'string' ? value.toLowerCase() : '';
}

function confidenceOf(result: Result, rule: ReportingDescriptor | undefined): IFinding['confidence'] {
  const props = { ...(rule?.properties ?? {}), ...(result.properties ?? {}) } as Record<string, unknown>;
  const direct = word(props['issue_confidence'] ?? props['confidence']);
  const tags = Array.isArray(props['tags']) ? (props['tags'] as unknown[]).map(word) : [];
  const tagged = tags.find(t => /^(high|medium|low) confidence$/.test(t))?.split(' ')[0];
  const value = direct || tagged || word(props['precision']);
  if (value === 'low') return 'low';
  if (value === 'medium') return 'medium';
  return 'high';
}

function severityOf(result: Result, rule: ReportingDescriptor | undefined): Severity {
  const props = { ...(rule?.properties ?? {}), ...(result.properties ?? {}) } as Record<string, unknown>;
  const issue = word(props['issue_severity']);
  if (issue === 'high' || issue === 'medium' || issue === 'low' || issue === 'critical') {
    return issue as Severity;
  }
  const score = Number(props['security-severity']);
  if (props['security-severity'] !== undefined && Number.isFinite(score)) {
    return severityFromScore(score);
  }
  const level = result.level ?? rule?.defaultConfiguration?.level ?? 'warning';
  return LEVEL_SEVERITY[level] ?? 'medium';
}

/** Normalize one SARIF log. `ruleIdOf` may shorten tool-specific rule ids. */
export function findingsFromSarif(
  scanner: string,
  log: Log,
  ruleIdOf: (id: string) => string = id => id
): IFinding[] {
  const findings: IFinding[] = [];
  for (const run of log.runs ?? []) {
    const rules = new Map<string, ReportingDescriptor>();
    for (const rule of run.tool?.driver?.rules ?? []) {
      rules.set(rule.id, rule);
    }
    for (const result of run.results ?? []) {
      if (result.suppressions && result.suppressions.length > 0) {
        continue;
      }
      const rawId = result.ruleId ?? result.rule?.id ?? 'unknown';
      const rule =
        rules.get(rawId) ??
        (result.ruleIndex !== undefined ? run.tool?.driver?.rules?.[result.ruleIndex] : undefined);
      const location = result.locations?.[0]?.physicalLocation;
      const severity = severityOf(result, rule);
      findings.push({
        scanner,
        ruleId: ruleIdOf(rawId),
        severity,
        effectiveSeverity: severity,
        confidence: confidenceOf(result, rule),
        message: (result.message?.text ?? rule?.shortDescription?.text ?? rawId).slice(0, 500),
        path: decodeURIComponent(location?.artifactLocation?.uri ?? '').replace(/^file:\/\//, ''),
        line: location?.region?.startLine
      });
    }
  }
  return findings;
}

/** One log holding every scanner's runs (the request's report). */
export function mergeSarif(logs: Log[]): Log {
  const runs: Run[] = [];
  for (const log of logs) {
    runs.push(...(log.runs ?? []));
  }
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs
  };
}
