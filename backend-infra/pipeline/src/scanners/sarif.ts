/**
 * SARIF 2.1.0 in and out: read a scanner's log into normalized findings, and
 * merge the scanners' logs into the one report log of a request.
 */
import type { Log, Result, ReportingDescriptor, Run } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { FindingCategory, FindingPhase, IFinding } from '../types';

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

function confidenceOf(
  result: Result,
  rule: ReportingDescriptor | undefined
): IFinding['confidence'] {
  const props = { ...(rule?.properties ?? {}), ...(result.properties ?? {}) } as Record<
    string,
    unknown
  >;
  const direct = word(props['issue_confidence'] ?? props['confidence']);
  const tags = Array.isArray(props['tags']) ? (props['tags'] as unknown[]).map(word) : [];
  const tagged = tags.find(t => /^(high|medium|low) confidence$/.test(t))?.split(' ')[0];
  const value = direct || tagged || word(props['precision']);
  if (value === 'low') return 'low';
  if (value === 'medium') return 'medium';
  return 'high';
}

function severityOf(result: Result, rule: ReportingDescriptor | undefined): Severity {
  const props = { ...(rule?.properties ?? {}), ...(result.properties ?? {}) } as Record<
    string,
    unknown
  >;
  const issue = word(props['issue_severity'] ?? props['repoguard-severity']);
  if (
    issue === 'high' ||
    issue === 'medium' ||
    issue === 'low' ||
    issue === 'critical' ||
    issue === 'info'
  ) {
    return issue as Severity;
  }
  const score = Number(props['security-severity']);
  if (props['security-severity'] !== undefined && Number.isFinite(score)) {
    return severityFromScore(score);
  }
  const level = result.level ?? rule?.defaultConfiguration?.level ?? 'warning';
  return LEVEL_SEVERITY[level] ?? 'medium';
}

const CATEGORIES = new Set([
  'sast',
  'vulnerability',
  'secret',
  'malicious',
  'dynamic',
  'config',
  'licence'
]);
const PHASES = new Set(['install', 'import', 'call', 'unknown']);

/** Mask anything secret-looking that a scanner's "redacted" snippet might still hold. */
export function maskSecrets(text: string): string {
  return text.replace(/[A-Za-z0-9+/_=-]{16,}/g, m =>
    /REDACTED/.test(m) ? m : `${m.slice(0, 4)}…REDACTED`
  );
}

/**
 * Normalize one SARIF log. `ruleIdOf` may shorten tool-specific rule ids;
 * `category` is the scanner's (a result's `properties.category` wins, then
 * its rule's). Results with `suppressions` (in-source suppressions) are kept
 * and counted, their message says so.
 * Adapters may set `properties.repoguard-severity` (critical … info),
 * `properties.confidence` and `properties.phase` on a result.
 */
export function findingsFromSarif(
  scanner: string,
  log: Log,
  ruleIdOf: (id: string) => string = id => id,
  category: FindingCategory = 'sast'
): IFinding[] {
  const findings: IFinding[] = [];
  for (const run of log.runs ?? []) {
    const rules = new Map<string, ReportingDescriptor>();
    for (const rule of run.tool?.driver?.rules ?? []) {
      rules.set(rule.id, rule);
    }
    for (const result of run.results ?? []) {
      // A suppression comes from the scanned source (`# nosemgrep`, `checkov:skip=`):
      // evidence, never a waiver (waivers are InfoSec's file). The result counts.
      const suppressed = (result.suppressions ?? []).length > 0;
      const rawId = result.ruleId ?? result.rule?.id ?? 'unknown';
      const rule =
        rules.get(rawId) ??
        (result.ruleIndex !== undefined ? run.tool?.driver?.rules?.[result.ruleIndex] : undefined);
      const location = result.locations?.[0]?.physicalLocation;
      const severity = severityOf(result, rule);
      const props = (result.properties ?? {}) as Record<string, unknown>;
      const ruleProps = (rule?.properties ?? {}) as Record<string, unknown>;
      // The result's own category (guarddog heuristics, RepoGuard's malware rules), else its rule's, else the scanner's.
      const ownCategory = CATEGORIES.has(String(props['category']))
        ? (props['category'] as FindingCategory)
        : CATEGORIES.has(String(ruleProps['category']))
          ? (ruleProps['category'] as FindingCategory)
          : category;
      const phase = PHASES.has(String(props['phase']))
        ? (props['phase'] as FindingPhase)
        : undefined;
      const rawSnippet =
        typeof props['snippet'] === 'string'
          ? (props['snippet'] as string)
          : location?.region?.snippet?.text;
      const snippet =
        rawSnippet === undefined
          ? undefined
          : ownCategory === 'secret'
            ? maskSecrets(rawSnippet.trim())
            : rawSnippet.trim();
      findings.push({
        scanner,
        ruleId: ruleIdOf(rawId),
        severity,
        effectiveSeverity: severity,
        confidence: confidenceOf(result, rule),
        message: `${(result.message?.text ?? rule?.shortDescription?.text ?? rawId).slice(0, 500)}${
          suppressed && !/counted\)$/.test(result.message?.text ?? '')
            ? ' (suppressed in the source: counted)'
            : ''
        }`,
        path: decodeURIComponent(location?.artifactLocation?.uri ?? '').replace(/^file:\/\//, ''),
        line: location?.region?.startLine,
        category: ownCategory,
        ...(phase ? { phase } : {}),
        ...(snippet !== undefined ? { snippet: snippet.slice(0, 240) } : {})
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

/** A one-run SARIF 2.1.0 log of an adapter that builds its own results. */
export function makeLog(
  driver: { name: string; informationUri?: string; version?: string },
  results: Result[],
  rules: ReportingDescriptor[] = []
): Log {
  const ids = new Set(rules.map(r => r.id));
  const allRules = [...rules];
  for (const r of results) {
    if (r.ruleId && !ids.has(r.ruleId)) {
      ids.add(r.ruleId);
      allRules.push({ id: r.ruleId });
    }
  }
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [{ tool: { driver: { ...driver, rules: allRules } }, results }]
  };
}

/** A SARIF result at `uri`:`line` with RepoGuard's normalized properties. */
export function makeResult(options: {
  ruleId: string;
  message: string;
  uri: string;
  line?: number;
  severity: Severity;
  confidence: 'high' | 'medium' | 'low';
  category?: FindingCategory;
  phase?: FindingPhase;
  snippet?: string;
  extra?: Record<string, unknown>;
}): Result {
  const level: Result.level =
    options.severity === 'critical' || options.severity === 'high'
      ? 'error'
      : options.severity === 'medium'
        ? 'warning'
        : options.severity === 'low'
          ? 'note'
          : 'none';
  return {
    ruleId: options.ruleId,
    level,
    message: { text: options.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: options.uri },
          region: options.line
            ? {
                startLine: options.line,
                ...(options.snippet ? { snippet: { text: options.snippet } } : {})
              }
            : undefined
        }
      }
    ],
    properties: {
      'repoguard-severity': options.severity,
      confidence: options.confidence,
      ...(options.category ? { category: options.category } : {}),
      ...(options.phase ? { phase: options.phase } : {}),
      ...(options.snippet !== undefined ? { snippet: options.snippet } : {}),
      ...(options.extra ?? {})
    }
  };
}
