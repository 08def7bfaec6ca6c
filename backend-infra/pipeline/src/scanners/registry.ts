/**
 * The scanners RepoGuard knows. Most are one command that writes SARIF
 * 2.1.0 (or a format converted to it) to a file; `okExitCodes` are the exit
 * codes of a completed scan (with or without findings). Adapters that need
 * more (several commands, a database, a trace, or none at all) implement
 * `run`. Every command runs in the network-less bubblewrap sandbox of
 * `../sandbox.ts`, with a configuration pinned by the pipeline (`pinned.ts`,
 * `scanner-config/`): files by which a scanned source could configure its
 * own scanner are removed and reported first (`source.ts`), and every
 * scanner is given its configuration explicitly so that no file of the
 * source is read as one. Anything else, a missing executable, or a run past
 * the time limit fails the scan (and the decision is `error`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { PIPELINE_DIR } from '../fsutil';
import type { FindingCategory } from '../types';
import { checkov } from './checkov';
import { dynamic } from './dynamic';
import { gitleaks } from './gitleaks';
import { guarddog } from './guarddog';
import { licence } from './licence';
import { models } from './models';
import { osv } from './osv';
import { annotate, pinnedArgs } from './pinned';
import type { INotScanned, IPinnedConfig } from './pinned';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { SCANNER_CONTROL_FILES as SOURCE_CONTROL_FILES } from './source';

/** Files a source could use to silence a scanner; removed (and reported) before scanning. */
export const SCANNER_CONTROL_FILES = Object.keys(SOURCE_CONTROL_FILES);

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
export const RULES_DIR = path.join(PIPELINE_DIR, 'rules');

/** Files semgrep skips above this size (bytes); each one is a `repoguard.not-scanned` finding. */
export const SEMGREP_MAX_TARGET_BYTES = 10_000_000;

interface ISemgrepJson {
  results?: { check_id?: string; extra?: { metadata?: { category?: string } } }[];
  paths?: { skipped?: { path: string; reason: string }[] };
  errors?: { type?: unknown; message?: string; path?: string; level?: string }[];
}

/** sha256 over a folder's files (name and content), e.g. the rules. */
async function folderHash(name: string, dir: string): Promise<IPinnedConfig> {
  const hash = createHash('sha256');
  for (const f of (await readdir(dir)).sort()) {
    hash
      .update(`${f}\0`)
      .update(await readFile(path.join(dir, f)))
      .update('\0');
  }
  return { name, sha256: hash.digest('hex') };
}

export function semgrep(rulesDir: string = RULES_DIR): IScannerSpec {
  return {
    name: 'semgrep',
    category: 'sast',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('semgrep');
      const sarifOut = path.join(ctx.outDir, 'semgrep.raw.sarif');
      const jsonOut = path.join(ctx.outDir, 'semgrep.json');
      const argv = [
        'scan',
        '--config',
        rulesDir,
        '--metrics=off',
        '--disable-version-check',
        '--oss-only',
        '--jobs',
        '1',
        '--error',
        '--no-rewrite-rule-ids',
        // Hostile sources must not silence or blind it: no nosemgrep comments,
        // no .gitignore, no .semgrepignore files anywhere (nor semgrep's
        // built-in list that skips tests/, vendor/, build/, node_modules/ …),
        // an explicit size limit; what it skips is listed (--verbose fills
        // `paths.skipped` of the JSON output).
        '--disable-nosem',
        '--no-git-ignore',
        '--x-ignore-semgrepignore-files',
        '--max-target-bytes',
        String(SEMGREP_MAX_TARGET_BYTES),
        '--exclude',
        '.git',
        '--verbose',
        `--sarif-output=${sarifOut}`,
        `--json-output=${jsonOut}`
      ];
      const exit = await ctx.exec(file, [...argv, ctx.target], {
        env: { SEMGREP_ENABLE_VERSION_CHECK: '0', SEMGREP_SEND_METRICS: 'off' },
        sandbox: { readOnly: [rulesDir] }
      });
      // 0 clean, 1 findings (with --error); 2 fatal, 4/5/7/8 bad rules or config.
      if (exit.code !== 0 && exit.code !== 1) {
        const detail = exit.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
        throw new ScannerFailure(
          'crashed',
          `failed (exit ${exit.code ?? 'signal'})${detail ? `: ${detail}` : ''}`,
          exit.code
        );
      }
      let log: Log;
      let json: ISemgrepJson;
      try {
        log = JSON.parse(await readFile(sarifOut, 'utf8')) as Log;
        json = JSON.parse(await readFile(jsonOut, 'utf8')) as ISemgrepJson;
      } catch (error) {
        throw new ScannerFailure(
          'crashed',
          `wrote no readable SARIF/JSON (${error instanceof Error ? error.message : String(error)})`,
          exit.code
        );
      }
      // RepoGuard's malware rules (metadata.category: malicious) are judged at the malicious gate.
      const categoryOf = new Map<string, string>();
      for (const r of json.results ?? []) {
        if (r.check_id && r.extra?.metadata?.category) {
          categoryOf.set(r.check_id, r.extra.metadata.category);
        }
      }
      for (const run of log.runs ?? []) {
        for (const result of run.results ?? []) {
          if (categoryOf.get(result.ruleId ?? '') === 'malicious') {
            result.properties = { ...(result.properties ?? {}), category: 'malicious' };
          }
        }
      }
      const rel = (p: string) => {
        const r = path.relative(ctx.target, path.resolve(ctx.target, p));
        return r.startsWith('..') ? p : r;
      };
      const partial = (json.errors ?? []).filter(e => e.path);
      const validPython = await pythonParses(
        ctx,
        file,
        partial
          .filter(e => /\.pyw?$/i.test(e.path!) && /syntax error/i.test(String(e.message ?? '')))
          .map(e => path.resolve(ctx.target, e.path!))
      );
      const notScanned: INotScanned[] = [];
      for (const skip of json.paths?.skipped ?? []) {
        const p = rel(skip.path);
        if (p === '.git' || p.startsWith('.git/')) continue;
        // Listed again under errors, with the parser's message: one entry per file.
        if (
          skip.reason === 'analysis_failed_parser_or_internal_error' &&
          partial.some(
            e => path.resolve(ctx.target, e.path!) === path.resolve(ctx.target, skip.path)
          )
        ) {
          continue;
        }
        notScanned.push({
          path: p,
          reason:
            skip.reason === 'exceeded_size_limit'
              ? `larger than ${SEMGREP_MAX_TARGET_BYTES} bytes`
              : skip.reason
        });
      }
      for (const e of partial) {
        const valid = validPython.has(path.resolve(ctx.target, e.path!));
        notScanned.push({
          path: rel(e.path!),
          reason: `partly analysed${valid ? " (valid Python that semgrep's parser does not know; bandit and guarddog read it whole, and the dynamic scan imports it)" : ''}: ${String(e.message ?? JSON.stringify(e.type)).slice(0, 200)}`,
          ...(valid ? { severity: 'low' as const } : {})
        });
      }
      return annotate(
        log,
        'semgrep',
        'sast',
        [
          await folderHash('rules (backend-infra/pipeline/rules)', rulesDir),
          pinnedArgs('semgrep argv', argv.slice(3))
        ],
        notScanned
      );
    }
  };
}

/** Parse each file with Python's own parser (ast: nothing runs), in the sandbox. */
const PARSES = String.raw`
import ast, json, sys
ok = []
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as f:
            ast.parse(f.read(), name)
        ok.append(name)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
        pass
print(json.dumps(ok))
`;

/**
 * The files among `files` that the Python beside semgrep (its venv's) parses:
 * semgrep's own parser lags the language (1.180 fails on some `match`
 * statements and annotated tuple assignments), and a file it could only
 * partly analyse is then a coverage gap of semgrep alone, not of the gate.
 */
async function pythonParses(
  ctx: IRunContext,
  semgrep: string,
  files: string[]
): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const python = path.join(path.dirname(await realpath(semgrep)), 'python3');
  if (!existsSync(python)) return new Set();
  const exit = await ctx.exec(python, ['-I', '-c', PARSES, ...files.slice(0, 500)]);
  try {
    const ok = JSON.parse(exit.stdout) as unknown;
    return new Set(Array.isArray(ok) ? ok.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

/**
 * bandit writes JSON and RepoGuard converts it to SARIF: bandit's own SARIF
 * formatter (1.9.4) crashes on some real trees ("list index out of range" in
 * its snippet code) and leaves an empty file.
 */
/** bandit runs with its built-in defaults only: no profile, no ini, no `# nosec`. */
const BANDIT_PINNED = pinnedArgs('bandit built-in defaults (--ini /dev/null --ignore-nosec)', [
  '-x',
  '.git',
  '--ignore-nosec',
  '--ini',
  '/dev/null'
]);

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
    toSarif: text => {
      const log = banditJsonToSarif(text);
      const notScanned = (log.runs[0]?.results ?? [])
        .filter(r => r.ruleId === 'bandit-parse-error')
        .map(r => ({
          path: r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '',
          reason: 'bandit could not parse it'
        }));
      // Parse errors are findings already (bandit-parse-error): listed, not doubled.
      return annotate(log, 'bandit', 'sast', [BANDIT_PINNED], notScanned, { findings: false });
    },
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
  'licence',
  'models'
];

export function knownScanners(): Map<string, IScannerSpec> {
  return new Map(
    [
      semgrep(),
      bandit(),
      osv(),
      gitleaks(),
      guarddog(),
      dynamic(),
      checkov(),
      licence(),
      models()
    ].map(s => [s.name, s])
  );
}
