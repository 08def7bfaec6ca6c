/**
 * The shapes passed between stages. A `IManifest` is what one stage hands the
 * next, as a JSON file between CodeBuild projects or in memory in `run`.
 */
import type { Decision, IRequestRow, Severity } from '../../../src/common';

export type Mode = 'local' | 'aws';

/** What kind of problem a finding is (which policy gate looks at it). */
export type FindingCategory =
  'sast' | 'vulnerability' | 'secret' | 'malicious' | 'dynamic' | 'config' | 'licence';

/**
 * When the code a finding sits in runs: `install` (setup.py, build hooks,
 * package.json lifecycle scripts), `import` (module top level of package
 * code), `call` (inside a function of package code), `not-installed` (a
 * file the package does not install and that does not run at install:
 * tests, docs, CI, maintainer scripts), `unknown` (not code: manifests, lock
 * files, licence, Dockerfile; or not known). Observed by the dynamic
 * scanner where it could (see `IFinding.observed`, scanners/observed.ts),
 * else guessed from the path and indentation (scanners/phase.ts).
 */
export type FindingPhase = 'install' | 'import' | 'call' | 'not-installed' | 'unknown';

/** One normalized finding, whatever scanner reported it. */
export interface IFinding {
  scanner: string;
  ruleId: string;
  /** Severity as the scanner rated it. */
  severity: Severity;
  /**
   * Severity the policy counts: one level lower for low-confidence findings
   * and for code that does not run when the package is used (tests, docs,
   * examples); `info` for a waived finding.
   */
  effectiveSeverity: Severity;
  confidence: 'high' | 'medium' | 'low';
  message: string;
  path: string;
  line?: number;
  /** Which gate the finding belongs to; every scanner adapter sets it (optional only for findings built elsewhere). */
  category?: FindingCategory;
  /** When the code runs (see FindingPhase). */
  phase?: FindingPhase;
  /**
   * True when `phase` comes from observation (the dynamic scanner's line
   * coverage of install and import, or its own behaviour events); false
   * when it is the heuristic of scanners/phase.ts (no observation, or the
   * observation does not cover this file or line). Set on every finding
   * once all scanners finished (scanners/observed.ts).
   */
  observed?: boolean;
  /** The emulated platform (`win32`, `darwin`) on which alone the finding's line ran. */
  platform?: string;
  /** The source line(s) or observed event; always redacted for secrets. */
  snippet?: string;
  /** Why this finding does not count: a waiver or a downgrade. */
  note?: string;
}

export type ScannerStatus = 'ok' | 'missing' | 'crashed' | 'timeout';

export interface IScannerRun {
  name: string;
  status: ScannerStatus;
  durationMs: number;
  exitCode?: number | null;
  /** Why the scanner did not complete (for missing, crashed, timeout). */
  message?: string;
  /** SARIF 2.1.0 file, relative to the manifest's folder. */
  sarifFile?: string;
  findings: IFinding[];
  /** The pinned configuration the scanner ran with (name, sha256; see scanners/pinned.ts). */
  config?: { name: string; sha256: string }[];
  /** Files the scanner did not scan, and why (each is also a `repoguard.not-scanned` finding). */
  notScanned?: { path: string; reason: string }[];
}

export interface IDependency {
  name: string;
  /** Version specifier as declared (`>=2.0`, `^1.2.3`), `''` when none. */
  spec: string;
  /** PEP 508 environment marker (`python_version < "3.11"`), when declared with one. */
  marker?: string;
}

export interface ISeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
}

/** Which advisory data an SCA scan used (osv: the database's SOURCE.json, or osv.dev online). */
export interface IAdvisoryData {
  /** Where the records come from (a downloaded database, the committed fixture, osv.dev's API). */
  source: string;
  /** The data's date: snapshot or download date, or the scan time when online. */
  date: string;
  records?: number;
  ecosystems?: string[];
  /** `fixture` | `download` | `data` (REPOGUARD_OSV_DATA) | `online` | `unknown`. */
  kind: string;
}

/** One request as it moves through the stages. */
export interface IManifestItem {
  request: IRequestRow;
  /** 1-based row of the request file. */
  row: number;
  /** Safe name for state/report files, absent when request_id is not valid. */
  key?: string;
  commitSha?: string;
  /** Checked-out source, relative to the manifest's folder. */
  source?: string;
  sizeBytes?: number;
  dependencies?: IDependency[];
  scanners?: IScannerRun[];
  /** Merged SARIF of all scanners, relative to the manifest's folder. */
  sarifFile?: string;
  scannedAt?: string;
  /** The advisory data of the SCA scan (osv), named in the report; absent when osv did not run. */
  advisoryData?: IAdvisoryData;
  decision?: Decision;
  /** Short human reason for refused/error. */
  reason?: string;
  maxSeverity?: Severity | '';
  counts?: ISeverityCounts;
  /** The findings that drove the decision (effective severity at or above threshold). */
  drivers?: IFinding[];
  privateRepoUrl?: string;
  published?: boolean;
  reportUrl?: string;
  recorded?: boolean;
  notified?: 'sent' | 'skipped' | 'failed';
}

export interface IManifest {
  version: 1;
  mode: Mode;
  /** The embedded workspace folder (local mode). */
  workspace?: string;
  executionId: string;
  createdAt: string;
  /** Commit of the request repo that ingest read. */
  ledgerSha: string;
  items: IManifestItem[];
}
