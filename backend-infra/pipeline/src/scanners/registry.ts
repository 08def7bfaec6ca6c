/**
 * The scanners RepoGuard knows. Each one is a command that writes SARIF
 * 2.1.0 to a file; `okExitCodes` are the exit codes of a completed scan
 * (with or without findings). Files by which a scanned source could configure
 * its own scanner (`.semgrepignore`, `.bandit`) are removed from the scanned
 * tree first (`SCANNER_CONTROL_FILES`). Anything else, a missing executable, or a run
 * past the time limit fails the scan (and the decision is `error`).
 */
import path from 'node:path';

/** Files a source could use to silence a scanner; removed before scanning. */
export const SCANNER_CONTROL_FILES = ['.semgrepignore', '.bandit'];

export interface IScannerSpec {
  name: string;
  /** Executable name, looked up in the scanner bin dir or on PATH. */
  bin: string;
  args(target: string, sarifOut: string): string[];
  okExitCodes: number[];
  /** Extra environment (e.g. no network calls home). */
  env?: NodeJS.ProcessEnv;
  /** Shorten the tool's rule ids for reports. */
  ruleId?(id: string): string;
}

/** The semgrep rules kept in this repository (backend-infra/pipeline/rules). */
export const RULES_DIR = path.resolve(__dirname, '..', '..', '..', '..', '..', 'pipeline', 'rules');

export function semgrep(rulesDir: string = RULES_DIR): IScannerSpec {
  return {
    name: 'semgrep',
    bin: 'semgrep',
    args: (target, out) => [
      'scan',
      '--config', rulesDir,
      '--metrics=off',
      '--disable-version-check',
      '--oss-only',
      '--jobs', '1',
      '--quiet',
      '--error',
      '--no-rewrite-rule-ids',
      // Hostile sources must not silence findings: no nosemgrep comments, no
      // .gitignore (and the scan stage removes .semgrepignore files).
      '--disable-nosem',
      '--no-git-ignore',
      '--exclude', '.git',
      `--sarif-output=${out}`,
      target
    ],
    // 0 clean, 1 findings (with --error); 2 fatal, 4/5/7/8 bad rules or config.
    okExitCodes: [0, 1],
    env: { SEMGREP_ENABLE_VERSION_CHECK: '0', SEMGREP_SEND_METRICS: 'off' },
  };
}

export function bandit(): IScannerSpec {
  return {
    name: 'bandit',
    bin: 'bandit',
    // --ignore-nosec and --ini /dev/null: a source's `# nosec` comments and
    // its own .bandit file must not silence findings.
    args: (target, out) => [
      '-r', target, '-f', 'sarif', '-o', out, '-q', '-x', '.git', '--ignore-nosec', '--ini', '/dev/null'
    ],
    // 0 clean, 1 issues found; 2 is "no tests ran" / bad arguments.
    okExitCodes: [0, 1]
  };
}

export function knownScanners(): Map<string, IScannerSpec> {
  return new Map([semgrep(), bandit()].map(s => [s.name, s]));
}
