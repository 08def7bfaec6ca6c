/**
 * The request and result CSV formats of the request repo.
 *
 * The column lists live in `contract.json` so that the Python side
 * (`repoguard/ledger.py`) reads exactly the same definition; this module gives
 * them types. Columns may be appended to the results file, never reordered.
 */
import definition from './contract.json';
import { SEVERITIES, Severity } from './contract';

export const REQUEST_COLUMNS = definition.request as readonly RequestColumn[];
export const RESULT_COLUMNS = definition.result as readonly ResultColumn[];
export const LEGACY_REQUEST_COLUMNS = definition.legacyRequest as readonly string[];

export type RequestColumn =
  | 'request_id'
  | 'package_name'
  | 'repo_url'
  | 'ref'
  | 'requester_email'
  | 'justification'
  | 'requested_at';

export type ResultColumn =
  | 'request_id'
  | 'package_name'
  | 'repo_url'
  | 'ref'
  | 'commit_sha'
  | 'decision'
  | 'max_severity'
  | 'critical'
  | 'high'
  | 'medium'
  | 'low'
  | 'private_repo_url'
  | 'report_url'
  | 'scanned_at'
  | 'execution_id'
  | 'reason'
  | 'dependencies'
  | 'waivers';

/** One row of `external-package-request.csv`; every value is a string as read. */
export type IRequestRow = Record<RequestColumn, string>;

/** One row of `external-package-results.csv`. */
export type IResultRow = Record<ResultColumn, string>;

/** Severity rank: higher is worse. `''` (no finding) ranks below info. */
export function severityRank(severity: string): number {
  const index = SEVERITIES.indexOf(severity as Severity);
  return index < 0 ? -1 : SEVERITIES.length - index;
}
