/**
 * `findings.json`, written by the pipeline beside `report.sarif`: the findings
 * as the policy judged them (adjusted severity, gate, waived, whether each
 * drove the decision, why). The server serves it as is; the panel's Findings
 * view, the report page and the mail all read this one normalisation, so none
 * of them can contradict the decision.
 */
import contract from './contract.json';
import type { Decision, Severity } from './contract';

/** The `format` of the file this module describes. */
export const FINDINGS_FORMAT: string = contract.formats.findings;

export interface IJudgedFinding {
  scanner: string;
  rule_id: string;
  /** The severity the policy counted (confidence, where the code runs and waivers applied). */
  severity: Severity;
  /** The scanner's own severity. */
  scanner_severity: Severity;
  /** The gate the policy judged the finding at (`sast`, `secret`, `vulnerability`, ...), or `''`. */
  gate: string;
  /** True when an InfoSec waiver covered the finding. */
  waived: boolean;
  /** True when the finding drove the decision (it reached its gate's threshold). */
  drove: boolean;
  /** Why it counts as it does (the policy's note, or the waiver's reason); `''` when as rated. */
  reason: string;
  message: string;
  /** Relative to the scanned tree. */
  path: string;
  line: number | null;
  /** The source line (never for secrets), or `''`. */
  snippet: string;
}

export interface IFindingsWaiver {
  rule_id: string;
  covers: string;
  expires: string;
  approver: string;
  reason: string;
  path: string;
  line: number | null;
}

export interface IFindingsFile {
  /** `FINDINGS_FORMAT` (contract.json `formats.findings`). */
  format: string;
  request_id: string;
  decision: Decision | 'pending';
  reason: string;
  max_severity: Severity | '';
  counts: { critical: number; high: number; medium: number; low: number };
  /** Worst counted severity first; at most `FINDINGS_LIMIT` of them. */
  findings: IJudgedFinding[];
  /** How many findings were left out past the limit (all are in the SARIF log). */
  omitted: number;
  waivers: IFindingsWaiver[];
}

/** At most this many findings are kept in the file (worst first). */
export const FINDINGS_LIMIT = 2000;
