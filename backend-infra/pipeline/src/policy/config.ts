/**
 * The policy's configuration: the `policy` key of repoguard.config.json.
 *
 *   "policy": {
 *     "threshold": "medium",          // default threshold of every gate (else `severityThreshold`)
 *     "gates": {                      // per-gate threshold, or "off" (the gate never refuses)
 *       "malicious": "medium", "vulnerability": "medium", "secret": "medium",
 *       "licence": "medium", "sast": "medium", "config": "medium"
 *     },
 *     "confidenceFloor": "low",       // findings below this confidence are reported, not counted
 *     "lowConfidenceDowngrade": true, // low-confidence findings count one level lower
 *     "installTimeUpgrade": true,     // code that runs at install time counts one level higher
 *     "callTimeDowngrade": 2,         // SAST / static heuristics in code run only when called: levels lower
 *     "notRunDirs": ["test", "tests", …], // code there counts one level lower (never for malicious/dynamic/secret)
 *     "licence": { "allow": [], "deny": ["AGPL-3.0-only", …] }
 *   }
 *
 * Every key is optional; `resolvePolicy` fills in the documented defaults.
 */
import { SEVERITIES, Severity } from '../../../../src/common';

export type Category =
  'sast' | 'vulnerability' | 'secret' | 'malicious' | 'dynamic' | 'config' | 'licence';
/** Gates: malicious and dynamic findings share the `malicious` gate. */
export type Gate = 'malicious' | 'vulnerability' | 'secret' | 'licence' | 'sast' | 'config';
export const GATES: readonly Gate[] = [
  'malicious',
  'vulnerability',
  'secret',
  'licence',
  'sast',
  'config'
];
export type Threshold = Severity | 'off';
export type Confidence = 'high' | 'medium' | 'low';

export interface IPolicyConfig {
  threshold?: Severity;
  gates?: Partial<Record<Gate, Threshold>>;
  confidenceFloor?: Confidence;
  lowConfidenceDowngrade?: boolean;
  installTimeUpgrade?: boolean;
  /** Levels lower for SAST and static malicious heuristics in code that runs only when called (default 2). */
  callTimeDowngrade?: number;
  notRunDirs?: string[];
  licence?: { allow?: string[]; deny?: string[] };
}

export interface IPolicy {
  gates: Record<Gate, Threshold>;
  confidenceFloor: Confidence;
  lowConfidenceDowngrade: boolean;
  installTimeUpgrade: boolean;
  callTimeDowngrade: number;
  notRunDirs: ReadonlySet<string>;
  licence: { allow: readonly string[]; deny: readonly string[] };
}

export const DEFAULT_NOT_RUN_DIRS = [
  'test',
  'tests',
  'testing',
  'doc',
  'docs',
  'example',
  'examples',
  'benchmark',
  'benchmarks',
  'bench',
  '.github',
  '.gitlab',
  '.circleci',
  '.azure-pipelines',
  'dummyserver',
  'fixtures'
];

/** Strong copyleft / non-open licences refused by default (SPDX ids, compared case-insensitively). */
export const DEFAULT_LICENCE_DENY = [
  'AGPL-1.0',
  'AGPL-1.0-only',
  'AGPL-1.0-or-later',
  'AGPL-3.0',
  'AGPL-3.0-only',
  'AGPL-3.0-or-later',
  'SSPL-1.0',
  'BUSL-1.1',
  'CC-BY-NC-4.0',
  'CC-BY-NC-SA-4.0',
  'Elastic-2.0'
];

const CONFIDENCES: readonly Confidence[] = ['low', 'medium', 'high'];

export function confidenceRank(c: string): number {
  return CONFIDENCES.indexOf(c as Confidence);
}

function isSeverity(v: unknown): v is Severity {
  return typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v);
}

/**
 * The effective policy. `severityThreshold` (the older key) stays the default
 * threshold of every gate; `policy.threshold` overrides it, `policy.gates.X`
 * overrides both for one gate. Unknown values fall back to the default (an
 * invalid threshold is an error: a typo must not open the gate).
 */
export function resolvePolicy(config: {
  severityThreshold?: string;
  policy?: IPolicyConfig;
}): IPolicy {
  const p = config.policy ?? {};
  const base = p.threshold ?? config.severityThreshold ?? 'medium';
  if (!isSeverity(base)) {
    throw new Error(
      `policy: threshold must be one of ${SEVERITIES.join(', ')} (got ${String(base)})`
    );
  }
  const gates = {} as Record<Gate, Threshold>;
  for (const gate of GATES) {
    const value = p.gates?.[gate] ?? base;
    if (value !== 'off' && !isSeverity(value)) {
      throw new Error(`policy: gates.${gate} must be a severity or "off" (got ${String(value)})`);
    }
    gates[gate] = value;
  }
  for (const key of Object.keys(p.gates ?? {})) {
    if (!(GATES as readonly string[]).includes(key)) {
      throw new Error(`policy: unknown gate ${key} (gates are ${GATES.join(', ')})`);
    }
  }
  const floor = p.confidenceFloor ?? 'low';
  if (!CONFIDENCES.includes(floor)) {
    throw new Error(`policy: confidenceFloor must be low, medium or high (got ${String(floor)})`);
  }
  return {
    gates,
    confidenceFloor: floor,
    lowConfidenceDowngrade: p.lowConfidenceDowngrade ?? true,
    installTimeUpgrade: p.installTimeUpgrade ?? true,
    callTimeDowngrade: Math.max(0, Math.min(4, Math.trunc(p.callTimeDowngrade ?? 2))),
    notRunDirs: new Set((p.notRunDirs ?? DEFAULT_NOT_RUN_DIRS).map(d => d.toLowerCase())),
    licence: { allow: p.licence?.allow ?? [], deny: p.licence?.deny ?? DEFAULT_LICENCE_DENY }
  };
}
