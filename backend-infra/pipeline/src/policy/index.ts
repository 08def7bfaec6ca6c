/**
 * The policy: normalized findings → approved / refused / error.
 *
 * 1. Fail closed: no scanner run, or any run that is not `ok` (missing,
 *    crashed, timed out) → `error`, whatever the findings.
 * 2. Each finding goes to a gate by its category (malicious + dynamic →
 *    `malicious`, vulnerability, secret, licence, sast, config). A finding
 *    without a category gets one from its scanner (see `categoryOf`).
 * 3. Its effective severity: below the confidence floor → not counted;
 *    low confidence → one level lower; code that runs at install time
 *    (phase `install`, or setup.py / package.json lifecycle when no phase is
 *    given) → one level higher; code that does not run when the package is
 *    used (tests, docs, examples, benchmarks) → one level lower, except for
 *    malicious and dynamic findings; licences: denied SPDX id → high, not on
 *    a non-empty allow list → medium, otherwise not counted.
 * 4. A finding covered by an InfoSec waiver (rule + package + exact commit
 *    or file content, not expired) is reported and not counted.
 * 5. `refused` when any counted finding reaches its gate's threshold.
 */
import { open, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Decision, SEVERITIES, Severity, severityRank } from '../../../../src/common';
import type { FindingPhase, IFinding, IManifestItem, IScannerRun, ISeverityCounts } from '../types';
import { RuleClass, TEXT_HEURISTICS, classOf, docOrCiFile } from './classes';
import { Category, Gate, IPolicy, confidenceRank } from './config';
import { ContentHasher, IWaiverRow, IWaiverUse, findWaiver, useOf } from './waivers';

export * from './classes';
export * from './config';
export * from './waivers';
export { nameFindings, nameKey, popular, sameName, sourceKey, typosquatOf } from './names';
export type { Ecosystem } from './names';

/**
 * When the code runs (types.ts FindingPhase). The dynamic scanner may also
 * set `not-installed` (observed not to be installed with the package): the
 * policy treats it as code that is not installed.
 */
export type Phase = FindingPhase;

/** A finding with the fields the scanner adapters add (optional until every adapter sets them). */
export interface IPolicyFinding extends IFinding {
  category?: Category;
  phase?: Phase;
  /** The phase was observed (coverage of the sandboxed install and import), not guessed. */
  observed?: boolean;
  snippet?: string;
  /** Set by the policy: what the rule is evidence of (src/policy/classes.ts). */
  ruleClass?: RuleClass;
  /** Set by the policy: the gate the finding was judged at. */
  gate?: Gate;
  /** Set by the policy: the waiver that covered it. */
  waiver?: IWaiverUse;
}

/** A manifest item with what the policy adds (kept in the manifest JSON). */
export interface IPolicyItem extends IManifestItem {
  /** Waivers applied to this request's findings. */
  waivers?: IWaiverUse[];
}

const SCANNER_CATEGORY: Record<string, Category> = {
  semgrep: 'sast',
  bandit: 'sast',
  'osv-scanner': 'vulnerability',
  osv: 'vulnerability',
  gitleaks: 'secret',
  guarddog: 'malicious',
  dynamic: 'dynamic',
  sandbox: 'dynamic',
  checkov: 'config',
  licence: 'licence',
  license: 'licence'
};

/** RepoGuard's own semgrep rules that look for malicious behaviour (rules/*.yml, `category: malicious`). */
const MALICIOUS_RULE =
  /(^|\.)(obfuscated-exec|setup-network|install-hook|exfiltrat\w*|malicious\w*)$/;

/** The finding's gate category; a SAST rule whose class is `malware` goes to the malicious gate. */
export function categoryOf(f: IPolicyFinding): Category {
  const category = f.category ?? SCANNER_CATEGORY[f.scanner] ?? 'sast';
  if (category === 'sast' && (MALICIOUS_RULE.test(f.ruleId) || classOf(f).ruleClass === 'malware'))
    return 'malicious';
  return category;
}

export function gateOf(category: Category): Gate {
  return category === 'dynamic' ? 'malicious' : category;
}

const INSTALL_FILES = new Set(['setup.py', 'setup.cfg', 'package.json', 'binding.gyp']);

/** The phase the adapter gave, else install for the files that run at install time. */
export function phaseOf(f: IPolicyFinding): Phase {
  if (f.phase) return f.phase;
  const parts = f.path.split('/');
  return parts.length <= 2 && INSTALL_FILES.has(parts[parts.length - 1]) ? 'install' : 'unknown';
}

function shift(severity: Severity, levels: number): Severity {
  // SEVERITIES runs critical → info: a higher index is less severe.
  const i = SEVERITIES.indexOf(severity) - levels;
  return SEVERITIES[Math.max(0, Math.min(SEVERITIES.length - 1, i))];
}

function normalSeverity(s: string): Severity | null {
  const v = String(s).toLowerCase();
  if ((SEVERITIES as readonly string[]).includes(v)) return v as Severity;
  if (v === 'moderate') return 'medium';
  if (v === 'error') return 'high';
  if (v === 'warning') return 'medium';
  if (v === 'note') return 'low';
  return null;
}

/** The SPDX id a licence finding names (in its rule id, or `spdx` property). */
export function spdxOf(f: IPolicyFinding & { spdx?: string }): string {
  if (f.spdx) return f.spdx;
  const slash = f.ruleId.indexOf('/');
  return slash >= 0 ? f.ruleId.slice(slash + 1) : f.ruleId;
}

/** An SPDX id without its `-only` / `-or-later` / `+` suffix, lowercase. */
function baseId(id: string): string {
  return id.toLowerCase().replace(/(-only|-or-later|\+)$/, '');
}

function listed(list: readonly string[], id: string): boolean {
  return list.some(l => baseId(l) === baseId(id));
}

/**
 * Denied / allowed for an SPDX expression: `A OR B` is denied only when every
 * choice is, allowed when one is; `A AND B` is denied when one part is,
 * allowed when all are. (Parenthesized mixtures are judged by the words.)
 */
function judgeExpression(
  expr: string,
  test: (id: string) => boolean,
  mode: 'deny' | 'allow'
): boolean {
  const ids = expr
    .replace(/[()]/g, ' ')
    .split(/\s+(?:OR|AND|WITH)\s+|\s+/i)
    .filter(t => t && !/^(or|and|with)$/i.test(t));
  const isOr = /\sOR\s/i.test(expr) && !/\sAND\s/i.test(expr);
  const hits = ids.map(test);
  if (mode === 'deny') return isOr ? hits.every(Boolean) : hits.some(Boolean);
  return isOr ? hits.some(Boolean) : hits.every(Boolean);
}

function licenceSeverity(
  f: IPolicyFinding,
  policy: IPolicy
): { severity: Severity; note: string } | null {
  const expr = spdxOf(f);
  if (!expr || /^(none|unknown)$/i.test(expr)) return null;
  if (judgeExpression(expr, id => listed(policy.licence.deny, id), 'deny')) {
    return { severity: 'high', note: `licence ${expr} is denied` };
  }
  if (policy.licence.allow.length > 0) {
    return judgeExpression(expr, id => listed(policy.licence.allow, id), 'allow')
      ? { severity: 'info', note: `licence ${expr} is allowed` }
      : { severity: 'medium', note: `licence ${expr} is not on the allow list` };
  }
  return null;
}

/** Maintainer scripts and test files that are not part of the installed package. */
const NOT_RUN_FILE =
  /^(bench(mark)?s?|conftest|noxfile|tasks|fabfile|test_.*|.*_test|.*_tests)\.py$/i;
/** Dependency manifests of development only (never installed with the package). */
const DEV_MANIFEST =
  /(^|[-_.])(dev|devel|develop|test|tests|testing|doc|docs|lint|linting|ci|bench|benchmark|typing|mypy|style)([-_.]|$)/i;

/**
 * Lock files pin a development environment: installing the package never
 * reads them (pip reads its metadata; npm ignores a dependency's lock file).
 */
const LOCK_FILE =
  /^(uv\.lock|poetry\.lock|pdm\.lock|pipfile\.lock|package-lock\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?)$/i;

export interface IWeighContext {
  /** The tree has a src/ folder: code outside it (and outside the install files) is not installed. */
  srcLayout?: boolean;
  /**
   * TypeScript sources run as they are (the root package.json's main, exports
   * or bin names a .ts file): else a .ts file is compiled first, never run.
   */
  typescriptRuns?: boolean;
  /** Files that import Django (bandit's Django ORM rules mean nothing elsewhere). */
  djangoFiles?: ReadonlySet<string>;
  /**
   * The dynamic scanner completed and flagged nothing at medium or above: the
   * code observed to run at import did nothing harmful there (set by
   * `evaluate` from the dynamic run when not given).
   */
  quietRun?: boolean;
}

/** Bandit's Django ORM rules (`.extra()`, `RawSQL`): an SQL sink only where Django is used. */
const DJANGO_RULES = new Set(['B610', 'B611']);
const TS_SOURCE = /\.(ts|tsx|mts|cts)$/i;

/**
 * A src layout: `src/` holds the package's code (a Python or JavaScript
 * source file somewhere under it). An empty or code-less `src/` does not make
 * the code beside it "not installed".
 */
export async function srcLayoutOf(sourceDir: string | undefined): Promise<boolean> {
  if (!sourceDir) return false;
  const walk = async (dir: string, depth: number): Promise<boolean> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.isFile() && /\.(py|pyx|js|cjs|mjs|ts)$/.test(e.name)) return true;
    }
    for (const e of entries) {
      if (depth < 4 && e.isDirectory() && (await walk(path.join(dir, e.name), depth + 1)))
        return true;
    }
    return false;
  };
  return walk(path.join(sourceDir, 'src'), 0);
}

/** The root package.json's entry points (main, module, exports, bin) name a TypeScript file. */
export async function typescriptRunsIn(sourceDir: string | undefined): Promise<boolean> {
  if (!sourceDir) return false;
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await readFile(path.join(sourceDir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return false;
  }
  const entries = JSON.stringify([manifest.main, manifest.module, manifest.exports, manifest.bin]);
  return /\.(ts|tsx|mts|cts)"/i.test(entries.replace(/\.d\.(ts|mts|cts)"/gi, '"'));
}

/** Of `paths` (relative to `sourceDir`), those whose text matches `pattern` (at most 1 MiB read each). */
export async function filesImporting(
  sourceDir: string | undefined,
  paths: string[],
  pattern: RegExp
): Promise<Set<string>> {
  const found = new Set<string>();
  if (!sourceDir) return found;
  for (const rel of new Set(paths)) {
    const file = path.resolve(sourceDir, rel);
    if (path.relative(sourceDir, file).startsWith('..')) continue;
    try {
      const handle = await open(file, 'r');
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(1 << 20), 0, 1 << 20, 0);
        if (pattern.test(buffer.subarray(0, bytesRead).toString('utf8'))) found.add(rel);
      } finally {
        await handle.close();
      }
    } catch {
      // unreadable: not known to use it
    }
  }
  return found;
}

/** True when the finding's file does not run when the package is installed and used. */
export function notInstalled(f: IFinding, policy: IPolicy, context: IWeighContext = {}): boolean {
  if (String(f.phase) === 'not-installed') return true;
  const parts = f.path.split('/');
  const base = parts[parts.length - 1];
  if (parts.slice(0, -1).some(d => policy.notRunDirs.has(d.toLowerCase()))) return true;
  if (NOT_RUN_FILE.test(base)) return true;
  if (/\.(pyi|d\.ts)$/i.test(base)) return true; // type stubs are never executed
  if (TS_SOURCE.test(base) && !context.typescriptRuns) return true; // compiled first, never run
  if (context.srcLayout && parts.length > 1 && parts[0] !== 'src') return true;
  return false;
}

/**
 * Effective severity of one finding (without waivers). The rule's class
 * (src/policy/classes.ts) says what it is evidence of:
 * - below the confidence floor: not counted; low confidence: −1;
 * - licences: the allow/deny lists;
 * - `lint` (code-quality advice): at most low;
 * - secrets in docs, CI configuration or source maps (examples, CI upload
 *   tokens): at most low;
 * - install phase: +1 from medium up (supply-chain attacks run here; a
 *   lint-level low finding stays low);
 * - `capability` (process spawn, network, exec, ftplib…) in code that runs
 *   only when called (phase `call`, observed or by the source's structure):
 *   −callTimeDowngrade (default 2): normal library behaviour, and nothing
 *   runs by merely installing or importing. A `vulnerability` sink
 *   (CWE-mapped) and `malware` evidence are never lowered by phase;
 * - not installed code (phase `not-installed`, tests, docs, examples, CI,
 *   maintainer scripts, type stubs, outside src/ in a src layout): SAST −2,
 *   malware evidence and config −1, secrets −2 (test fixtures: keys,
 *   certificates); never for dynamic (observed) findings;
 * - secrets of low confidence (gitleaks' entropy rule: UUIDs, identifiers,
 *   test vectors) at most low; a key format counts;
 * - a capability observed to run at import, when the dynamic scanner
 *   completed and flagged nothing (medium or above): −1 (it did nothing
 *   harmful where it ran; install-time code is never lowered so);
 * - GuardDog's text heuristics (non-ASCII letters, data in literals, a
 *   credential file's path) at most low outside install-time code;
 * - bandit's Django ORM rules in a file that does not import Django: at most low;
 * - TypeScript sources are not run (compiled first) unless the package's
 *   entry point is TypeScript; GuardDog capabilities in not installed code
 *   −2, and malware evidence in a file observed not to be installed nor run
 *   at install −2 (−1 when only the path says so);
 * - vulnerabilities in development manifests (dev/test/docs requirements,
 *   or in not installed folders): −2 (they are never installed with the package).
 */
export function weigh(
  input: IFinding,
  policy: IPolicy,
  context: IWeighContext = {}
): IPolicyFinding {
  const f = input as IPolicyFinding;
  const category = categoryOf(f);
  const gate = gateOf(category);
  const { ruleClass, cwe } = classOf(f);
  const notes: string[] = [];
  let severity = normalSeverity(f.severity);
  if (!severity) {
    notes.push(`unknown severity ${String(f.severity).slice(0, 20)} counted as high`);
    severity = 'high';
  }
  if (
    confidenceRank(f.confidence) < confidenceRank(policy.confidenceFloor) &&
    confidenceRank(f.confidence) >= 0
  ) {
    return {
      ...f,
      gate,
      ruleClass,
      effectiveSeverity: 'info',
      note: `confidence ${f.confidence} below the floor (${policy.confidenceFloor})`
    };
  }
  if (category === 'licence') {
    const l = licenceSeverity(f, policy);
    if (l) return { ...f, gate, ruleClass, effectiveSeverity: l.severity, note: l.note };
  }
  if (category === 'sast' || category === 'malicious') {
    notes.push(ruleClass === 'vulnerability' && cwe ? `vulnerability sink (${cwe})` : ruleClass);
  }
  const down = (levels: number, why: string) => {
    if (levels > 0 && severity !== 'info') {
      severity = shift(severity!, -levels);
      notes.push(why);
    }
  };
  const cap = (max: Severity, why: string) => {
    if (severityRank(severity!) > severityRank(max)) {
      severity = max;
      notes.push(why);
    }
  };
  if (f.confidence === 'low' && policy.lowConfidenceDowngrade) down(1, 'low confidence');
  if (category === 'sast' && ruleClass === 'lint') cap('low', 'code-quality advice');
  if (f.scanner === 'bandit' && DJANGO_RULES.has(f.ruleId) && context.djangoFiles) {
    if (!context.djangoFiles.has(f.path)) cap('low', 'a Django ORM rule in a file without Django');
  }
  if (category === 'secret' && f.confidence === 'low') {
    // gitleaks' entropy rule (generic-api-key) matches UUIDs, identifiers and
    // test vectors; a key format (AWS, GitHub, webhooks, bot tokens) is high confidence.
    cap('low', 'an entropy match, not a known key format');
  }
  if (category === 'secret' && docOrCiFile(f.path)) {
    cap('low', 'in docs, CI configuration or a source map (an example or upload token)');
  }
  const phase = phaseOf(f);
  // A lint-level (low) finding is not made a refusal by where it runs: the
  // upgrade applies from medium up (try/except/pass in setup.py stays low).
  if (
    policy.installTimeUpgrade &&
    phase === 'install' &&
    severityRank(severity) >= severityRank('medium')
  ) {
    severity = shift(severity, 1);
    notes.push('runs at install time');
  }
  if (f.scanner === 'guarddog' && TEXT_HEURISTICS.has(f.ruleId) && phase !== 'install') {
    cap('low', 'a text heuristic outside install-time code');
  }
  const staticCode = category === 'sast' || category === 'malicious';
  if (staticCode && ruleClass === 'capability' && phase === 'call') {
    down(
      policy.callTimeDowngrade,
      f.observed ? 'observed not to run at install or import' : 'runs only when called'
    );
  }
  if (
    staticCode &&
    ruleClass === 'capability' &&
    phase === 'import' &&
    f.observed === true &&
    context.quietRun
  ) {
    down(1, 'ran at import in the sandbox, which saw it do nothing harmful');
  }
  const outside = phase !== 'install' && notInstalled(f, policy, context);
  if (outside) {
    // Observed: the package does not install the file and it did not run at install.
    const observedOutside = f.observed === true && String(f.phase) === 'not-installed';
    if (category === 'sast') down(2, 'not in installed code');
    else if (
      category === 'malicious' &&
      ((f.scanner === 'guarddog' && ruleClass === 'capability') || observedOutside)
    ) {
      down(
        2,
        observedOutside ? 'observed: not installed, not run at install' : 'not in installed code'
      );
    } else if (category === 'malicious' || category === 'config') down(1, 'not in installed code');
    else if (category === 'secret') down(2, 'not in installed code (test fixture)');
  }
  if (category === 'vulnerability') {
    const base = f.path.split('/').pop() ?? '';
    if (
      outside ||
      LOCK_FILE.test(base) ||
      (DEV_MANIFEST.test(base.replace(/\.(txt|in|toml|cfg|lock|json)$/i, '')) &&
        base !== 'requirements.txt')
    ) {
      down(2, 'development dependency');
    }
  }
  return {
    ...f,
    gate,
    ruleClass,
    effectiveSeverity: severity,
    note: notes.length ? notes.join(', ') : undefined
  };
}

export interface IVerdict {
  decision: Decision;
  reason?: string;
  counts: ISeverityCounts;
  maxSeverity: Severity | '';
  drivers: IPolicyFinding[];
  waivers: IWaiverUse[];
  /** The runs, with weighed findings. */
  runs: IScannerRun[];
}

export interface IEvaluateOptions {
  waivers?: readonly IWaiverRow[];
  now?: Date;
  /** Root of the scanned source, for content-hash waivers. */
  sourceDir?: string;
  weigh?: IWeighContext;
  hasher?: ContentHasher;
}

function where(f: IFinding): string {
  return f.line ? `${f.path}:${f.line}` : f.path;
}

export async function evaluate(
  item: Pick<IManifestItem, 'request' | 'commitSha' | 'scanners'>,
  policy: IPolicy,
  options: IEvaluateOptions = {}
): Promise<IVerdict> {
  const counts: ISeverityCounts = { critical: 0, high: 0, medium: 0, low: 0 };
  const verdict: IVerdict = {
    decision: 'approved',
    counts,
    maxSeverity: '',
    drivers: [],
    waivers: [],
    runs: []
  };
  const runs = item.scanners ?? [];
  const now = options.now ?? new Date();
  const hasher = options.hasher ?? new ContentHasher(options.sourceDir);
  const waivers = options.waivers ?? [];
  const dynamicRun = runs.find(r => r.name === 'dynamic');
  const context: IWeighContext = {
    quietRun:
      dynamicRun?.status === 'ok' &&
      dynamicRun.findings.every(
        f => severityRank(normalSeverity(f.severity) ?? 'high') < severityRank('medium')
      ),
    ...options.weigh
  };
  for (const run of runs) {
    const findings: IPolicyFinding[] = [];
    for (const raw of run.findings) {
      let f = weigh(raw, policy, context);
      const w = waivers.length
        ? await findWaiver(f, item.request.package_name, item.commitSha, waivers, now, hasher)
        : undefined;
      if (w) {
        const use = useOf(w, f);
        verdict.waivers.push(use);
        f = {
          ...f,
          effectiveSeverity: 'info',
          waiver: use,
          note: `waived by ${w.approver} until ${w.expires}: ${w.reason}`
        };
      }
      findings.push(f);
    }
    verdict.runs.push({ ...run, findings });
  }
  const all = verdict.runs.flatMap(r => r.findings as IPolicyFinding[]);
  for (const f of all) {
    if (f.effectiveSeverity !== 'info' && !f.waiver) counts[f.effectiveSeverity]++;
    if (!f.waiver && severityRank(f.effectiveSeverity) > severityRank(verdict.maxSeverity))
      verdict.maxSeverity = f.effectiveSeverity;
  }
  if (runs.length === 0) {
    return { ...verdict, decision: 'error', reason: 'no scanner ran on this source' };
  }
  const failed = runs.filter(r => r.status !== 'ok');
  if (failed.length > 0) {
    return {
      ...verdict,
      decision: 'error',
      reason: `fail closed: ${failed.map(r => r.message ?? `${r.name} ${r.status}`).join('; ')}`
    };
  }
  const drivers = all
    .filter(f => {
      const t = policy.gates[f.gate!];
      return (
        !f.waiver &&
        t !== 'off' &&
        f.effectiveSeverity !== 'info' &&
        severityRank(f.effectiveSeverity) >= severityRank(t)
      );
    })
    .sort((a, b) => severityRank(b.effectiveSeverity) - severityRank(a.effectiveSeverity));
  verdict.drivers = drivers;
  if (drivers.length === 0) {
    return verdict;
  }
  const byGate = new Map<Gate, IPolicyFinding[]>();
  for (const f of drivers) byGate.set(f.gate!, [...(byGate.get(f.gate!) ?? []), f]);
  const parts = [...byGate.entries()].map(([gate, fs]) => {
    const named = fs
      .slice(0, 2)
      .map(f => `${f.scanner} ${f.ruleId} (${f.effectiveSeverity}) at ${where(f)}`)
      .join(', ');
    return `${gate} gate: ${fs.length} finding(s) at or above ${policy.gates[gate]}: ${named}${fs.length > 2 ? ', …' : ''}`;
  });
  return { ...verdict, decision: 'refused', reason: `refused by the ${parts.join('; ')}` };
}

/**
 * The naive rule the policy is measured against: refuse when any SAST
 * finding is rated medium or above by its scanner (no weighting).
 */
export function naiveRefuses(runs: readonly IScannerRun[]): IFinding[] {
  return runs
    .flatMap(r => r.findings)
    .filter(
      f =>
        (SCANNER_CATEGORY[f.scanner] === 'sast' || categoryOf(f) === 'sast') &&
        severityRank(f.severity) >= severityRank('medium')
    );
}
