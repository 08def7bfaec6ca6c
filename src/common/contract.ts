/**
 * The one contract between the TypeScript and the Python parts.
 *
 * Every constant and format both languages rely on lives in `contract.json`;
 * the Python side (`repoguard/contract.py`) reads the same file. This module
 * gives the values types. Nothing here may be copied by hand elsewhere: a test
 * (`src/__tests__/contract.spec.ts`) looks for literal copies in the sources.
 */
import contract from './contract.json';

/** `revoked`: a re-scan found that an approved commit now fails (rescan.ts); it is never installed. */
export type Decision = 'approved' | 'refused' | 'error' | 'revoked';
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
/** A pipeline stage, in order. */
export type Stage = 'ingest' | 'scan' | 'decide' | 'publish' | 'record' | 'notify';
/** Where a request is, as its run-state file says. */
export type RunStage = 'queued' | Stage | 'done';

export const DECISIONS = contract.decisions as readonly Decision[];
export const SEVERITIES = contract.severities as readonly Severity[];
export const STAGES = contract.stages as readonly Stage[];
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = contract.defaultAllowedHosts;
export const FILES = contract.files;
export const REQUESTS_FILE = contract.files.requests;
export const RESULTS_FILE = contract.files.results;
/** The normalised findings of a request, beside its SARIF report. */
export const FINDINGS_FILE = contract.files.findings;

/** Field length limits of a request row. */
export const LIMITS = {
  requestId: contract.limits.request_id,
  packageName: contract.limits.package_name,
  repoUrl: contract.limits.repo_url,
  ref: contract.limits.ref,
  email: contract.limits.requester_email,
  justification: contract.limits.justification
} as const;

export const PATTERNS = {
  /** A request id usable as a file or folder name (state files, reports). */
  safeId: new RegExp(contract.patterns.safeId),
  requestId: new RegExp(contract.patterns.requestId),
  /** PEP 508 / npm compatible: letters, digits, `.`, `_`, `-`; starts and ends alnum. */
  packageName: new RegExp(contract.patterns.packageName),
  commitSha: new RegExp(contract.patterns.commitSha),
  /** A PEP 440 specifier set without spaces (`>=1.22,<3`), or empty. */
  versionSpec: new RegExp(contract.patterns.versionSpec)
} as const;

/** The run-state file `DIR/state/<request_id>.json` (written by the pipeline, read by the server). */
export const RUN_STATE = contract.runState as {
  dir: string;
  fields: readonly (keyof IRunState)[];
  stages: readonly RunStage[];
  statuses: readonly string[];
};

export interface IRunState {
  request_id: string;
  stage: RunStage;
  /** queued | running | done | failed, or the decision once the request is done. */
  status: string;
  started_at: string;
  updated_at: string;
  execution_id: string;
  message: string;
}

export const DEPENDENCY_CELL = contract.dependencyCell;

/** git's words for "someone else pushed first": fetch again and retry. */
export const GIT_LOST_RACE: readonly string[] = contract.git.lostRace;
/** True when a git error says the push lost a race (retry), not that it failed. */
export function lostRace(message: string): boolean {
  const lower = message.toLowerCase();
  return GIT_LOST_RACE.some(words => lower.includes(words.toLowerCase()));
}
/** The advisory lock writers on one machine take around an append to a local ledger. */
export const APPEND_LOCK = contract.git.appendLock;

/** MIME types of machine-readable outputs. */
export const MIME = contract.mime;
