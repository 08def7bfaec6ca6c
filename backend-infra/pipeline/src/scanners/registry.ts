/**
 * The scanners RepoGuard knows. Most are one command that writes SARIF
 * 2.1.0 (or a format converted to it) to a file; `okExitCodes` are the exit
 * codes of a completed scan (with or without findings). Adapters that need
 * more (several commands, a database, a trace, or none at all) implement
 * `run`. Every command runs in the network-less bubblewrap sandbox of
 * `../sandbox.ts`. Files by which a scanned source could configure
 * its own scanner (`.semgrepignore`, `.bandit`) are removed from the scanned
 * tree first (`SCANNER_CONTROL_FILES`). Anything else, a missing executable, or a run
 * past the time limit fails the scan (and the decision is `error`).
 */
import path from 'node:path';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import type { FindingCategory } from '../types';
import { checkov } from './checkov';
import { dynamic } from './dynamic';
import { gitleaks } from './gitleaks';
import { guarddog } from './guarddog';
import { licence } from './licence';
import { osv } from './osv';
import type { IRunContext } from './run';

/** Files a source could use to silence a scanner; removed before scanning. */
export const SCANNER_CONTROL_FILES = ['.semgrepignore', '.bandit'];

export interface IScannerSpec {
  name: string;
  /** Category of its findings (a result's `properties.category` may override). */
  category: FindingCategory;
  /** Executable name, looked up in the scanner bin dir or on PATH (one-command scanners). */
  bin?: string;
  args?(target: string, sarifOut: string): string[];
  okExitCodes?: number[];
  /** A scanner that is not one command: does its whole run (sandboxed execs through `ctx`). */
  run?(ctx: IRunContext): Promise<Log>;
  /** Folders the command must read besides the target (bound read-only into the sandbox). */
  readOnly?: string[];
  /** Extra environment (e.g. no network calls home). */
  env?: NodeJS.ProcessEnv;
  /** Shorten the tool's rule ids for reports. */
  ruleId?(id: string): string;
  /** Extension of the file the tool writes (default `sarif`). */
  outputExtension?: string;
  /** Convert the tool's own output to SARIF 2.1.0 (when it writes another format). */
  toSarif?(text: string): Log;
}

/** The semgrep rules kept in this repository (backend-infra/pipeline/rules). */
export const RULES_DIR = path.resolve(__dirname, '..', '..', '..', '..', '..', 'pipeline', 'rules');

export function semgrep(rulesDir: string = RULES_DIR): IScannerSpec {
  return {
    name: 'semgrep',
    category: 'sast',
    bin: 'semgrep',
    readOnly: [rulesDir],
    args: (target, out) => [
      'scan',
      '--config',
      rulesDir,
      '--metrics=off',
      '--disable-version-check',
      '--oss-only',
      '--jobs',
      '1',
      '--quiet',
      '--error',
      '--no-rewrite-rule-ids',
      // Hostile sources must not silence findings: no nosemgrep comments, no
      // .gitignore (and the scan stage removes .semgrepignore files).
      '--disable-nosem',
      '--no-git-ignore',
      '--exclude',
      '.git',
      `--sarif-output=${out}`,
      target
    ],
    // 0 clean, 1 findings (with --error); 2 fatal, 4/5/7/8 bad rules or config.
    okExitCodes: [0, 1],
    env: { SEMGREP_ENABLE_VERSION_CHECK: '0', SEMGREP_SEND_METRICS: 'off' }
  };
}

/**
 * bandit writes JSON and RepoGuard converts it to SARIF: bandit's own SARIF
 * formatter (1.9.4) crashes on some real trees ("list index out of range" in
 * its snippet code) and leaves an empty file.
 */
export function bandit(): IScannerSpec {
  return {
    name: 'bandit',
    category: 'sast',
    bin: 'bandit',
    // --ignore-nosec and --ini /dev/null: a source's `# nosec` comments and
    // its own .bandit file must not silence findings.
    args: (target, out) => [
      '-r',
      target,
      '-f',
      'json',
      '-o',
      out,
      '-q',
      '-x',
      '.git',
      '--ignore-nosec',
      '--ini',
      '/dev/null'
    ],
    outputExtension: 'json',
    toSarif: banditJsonToSarif,
    // 0 clean, 1 issues found; 2 is "no tests ran" / bad arguments.
    okExitCodes: [0, 1]
  };
}

interface IBanditJson {
  errors?: { filename: string; reason: string }[];
  results?: {
    filename: string;
    line_number?: number;
    issue_text: string;
    issue_severity: string;
    issue_confidence: string;
    issue_cwe?: { id?: number; link?: string };
    test_id: string;
    test_name?: string;
    more_info?: string;
  }[];
}

const BANDIT_LEVEL: Record<string, 'error' | 'warning' | 'note'> = {
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note'
};

/** bandit's JSON report as a SARIF 2.1.0 log (severity and confidence kept as properties). */
export function banditJsonToSarif(text: string): Log {
  const report = JSON.parse(text) as IBanditJson;
  if (!Array.isArray(report.results)) {
    throw new Error('not a bandit JSON report');
  }
  const rules = new Map<string, ReportingDescriptor>();
  const results: Result[] = report.results.map(r => {
    if (!rules.has(r.test_id)) {
      rules.set(r.test_id, {
        id: r.test_id,
        name: r.test_name,
        helpUri: r.more_info,
        properties: r.issue_cwe?.id ? { tags: [`CWE-${r.issue_cwe.id}`] } : undefined
      });
    }
    return {
      ruleId: r.test_id,
      level: BANDIT_LEVEL[r.issue_severity] ?? 'warning',
      message: { text: r.issue_text },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: r.filename },
            region: r.line_number ? { startLine: r.line_number } : undefined
          }
        }
      ],
      properties: { issue_severity: r.issue_severity, issue_confidence: r.issue_confidence }
    };
  });
  // A file bandit could not parse was not analysed: report it (low) rather than pass it silently.
  for (const e of report.errors ?? []) {
    rules.set('bandit-parse-error', { id: 'bandit-parse-error', name: 'file not analysed' });
    results.push({
      ruleId: 'bandit-parse-error',
      level: 'note',
      message: { text: `bandit could not analyse this file: ${e.reason}`.slice(0, 300) },
      locations: [{ physicalLocation: { artifactLocation: { uri: e.filename } } }],
      properties: { issue_severity: 'LOW', issue_confidence: 'HIGH' }
    });
  }
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            name: 'Bandit',
            informationUri: 'https://bandit.readthedocs.io/',
            rules: [...rules.values()]
          }
        },
        results
      }
    ]
  };
}

/** Every scanner, in the order of the embedded workspace's default `scanners`. */
export const ALL_SCANNERS = [
  'semgrep',
  'bandit',
  'osv',
  'gitleaks',
  'guarddog',
  'dynamic',
  'checkov',
  'licence'
];

export function knownScanners(): Map<string, IScannerSpec> {
  return new Map(
    [semgrep(), bandit(), osv(), gitleaks(), guarddog(), dynamic(), checkov(), licence()].map(s => [
      s.name,
      s
    ])
  );
}
