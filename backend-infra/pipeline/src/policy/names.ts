/**
 * Package names: each ecosystem's normalisation, and typosquats.
 *
 * Normalisation (`nameKey`): PyPI per PEP 503 (lowercase, runs of `-`, `_`,
 * `.` as one `-`: `typing_extensions` is `typing-extensions`); npm lowercase,
 * and, for comparing names as npm's registry does when it refuses a new name
 * too close to an existing one, without `-`, `_`, `.` (`node-fetch` and
 * `nodefetch` collide). `sameName` is the one-name-one-source rule's
 * comparison.
 *
 * Typosquats: a request (or the name the source declares in setup.py,
 * setup.cfg, pyproject.toml or package.json) one edit away from one of the
 * 1,000 most downloaded names of its ecosystem (a letter added, dropped,
 * changed, or two swapped), and not itself among that ecosystem's 15,000
 * most downloaded names, is a `malicious` finding (rule
 * `repoguard.typosquat-name`, high severity, medium confidence). The lists
 * (data/popular/, with their source and date) are separate per ecosystem: a
 * PyPI `request` imitates `requests`, although npm has a popular `request`;
 * npm's `yaml` is canonical. GuardDog's own check needs the registries'
 * download statistics, which the network-less scan does not have.
 * A false alarm is waived like any finding (rule + package + commit).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IPolicyFinding } from './index';
import { PIPELINE_DIR } from '../fsutil';

export type Ecosystem = 'pypi' | 'npm';

/** The committed popularity lists (backend-infra/pipeline/data/popular). */
export const POPULAR_DIR = path.join(PIPELINE_DIR, 'data', 'popular');
/** How many of the most downloaded names are worth imitating. */
export const TARGETS = 1000;

/** A name as its ecosystem compares names. */
export function nameKey(name: string, ecosystem: Ecosystem): string {
  const n = name.trim().toLowerCase();
  if (ecosystem === 'pypi') return n.replace(/[-_.]+/g, '-');
  // npm: scope kept; punctuation does not tell two names apart.
  return n.replace(/[-_.]+/g, '');
}

/**
 * The key of the one-name-one-source rule: names that either ecosystem would
 * take for the same package (PEP 503: case and `-_.` runs; npm: punctuation
 * does not tell names apart) share one key, so one can not move to another
 * source by respelling it.
 */
export function sourceKey(name: string): string {
  return nameKey(name, 'npm');
}

/** The one-name-one-source rule: the same package under either ecosystem's rules. */
export function sameName(a: string, b: string): boolean {
  return nameKey(a, 'pypi') === nameKey(b, 'pypi') || nameKey(a, 'npm') === nameKey(b, 'npm');
}

interface IPopular {
  /** Every listed name (keys). */
  all: Set<string>;
  /** The most downloaded (keys → the name as listed). */
  targets: Map<string, string>;
}

const cache = new Map<Ecosystem, IPopular>();

/** The ecosystem's popularity list (read once). */
export function popular(ecosystem: Ecosystem, dir: string = POPULAR_DIR): IPopular {
  const hit = cache.get(ecosystem);
  if (hit && dir === POPULAR_DIR) return hit;
  const names = readFileSync(path.join(dir, `${ecosystem}.txt`), 'utf8')
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean);
  const list: IPopular = {
    all: new Set(names.map(n => nameKey(n, ecosystem))),
    targets: new Map(names.slice(0, TARGETS).map(n => [nameKey(n, ecosystem), n]))
  };
  if (dir === POPULAR_DIR) cache.set(ecosystem, list);
  return list;
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent swaps), capped at 2. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 1) return 2;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array(b.length).fill(0)
  ]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return Math.min(d[a.length][b.length], 2);
}

/**
 * The popular name of `ecosystem` that `name` imitates, or null. Names
 * shorter than 4 letters are not judged (too many short names are one edit
 * apart).
 */
export function typosquatOf(name: string, ecosystem: Ecosystem = 'pypi'): string | null {
  const list = popular(ecosystem);
  const n = nameKey(name, ecosystem);
  if (n.length < 4 || list.all.has(n)) return null;
  // Compare the unscoped part of an npm name too (`@evil/lodsah`).
  const bare = ecosystem === 'npm' ? n.replace(/^@[^/]+\//, '') : n;
  for (const [key, shown] of list.targets) {
    if (
      key.length >= 4 &&
      (editDistance(n, key) === 1 || (bare !== n && editDistance(bare, key) === 1))
    )
      return shown;
  }
  return null;
}

/** Names a source declares for itself (first match in each metadata file). */
export async function declaredNames(
  sourceDir: string
): Promise<{ name: string; file: string; line: number; ecosystem: Ecosystem }[]> {
  const out: { name: string; file: string; line: number; ecosystem: Ecosystem }[] = [];
  const patterns: [string, RegExp][] = [
    ['setup.py', /\bname\s*=\s*['"]([^'"]{1,100})['"]/],
    ['setup.cfg', /^\s*name\s*=\s*(\S{1,100})\s*$/m],
    ['pyproject.toml', /^\s*name\s*=\s*["']([^"']{1,100})["']/m],
    ['package.json', /"name"\s*:\s*"([^"]{1,214})"/]
  ];
  for (const [file, re] of patterns) {
    let text: string;
    try {
      text = await readFile(path.join(sourceDir, file), 'utf8');
    } catch {
      continue;
    }
    const m = re.exec(text);
    if (m)
      out.push({
        name: m[1],
        file,
        ecosystem: file === 'package.json' ? 'npm' : 'pypi',
        line: text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0)
      });
  }
  return out;
}

/**
 * Typosquat findings of a request: its requested name (judged in the
 * ecosystems its source declares itself in; both when it declares none) and
 * the names its source declares (each in its own ecosystem).
 */
export async function nameFindings(
  packageName: string,
  sourceDir: string | undefined
): Promise<IPolicyFinding[]> {
  const declared = sourceDir ? await declaredNames(sourceDir) : [];
  const ecosystems: Ecosystem[] = declared.length
    ? [...new Set(declared.map(d => d.ecosystem))]
    : ['pypi', 'npm'];
  const names = [
    ...ecosystems.map(ecosystem => ({ name: packageName, file: '', line: 0, ecosystem })),
    ...declared
  ];
  const findings: IPolicyFinding[] = [];
  const seen = new Set<string>();
  for (const { name, file, line, ecosystem } of names) {
    const key = `${ecosystem}:${nameKey(name, ecosystem)}`;
    const popularName = typosquatOf(name, ecosystem);
    if (!popularName || seen.has(key)) continue;
    seen.add(key);
    findings.push({
      scanner: 'repoguard-names',
      ruleId: 'repoguard.typosquat-name',
      severity: 'high',
      effectiveSeverity: 'high',
      confidence: 'medium',
      category: 'malicious',
      phase: 'unknown',
      message: `package name "${name}" is one edit away from the popular ${ecosystem === 'pypi' ? 'PyPI' : 'npm'} package "${popularName}"${file ? ` (declared in ${file})` : ' (requested name)'}`,
      path: file,
      line: line || undefined
    });
  }
  return findings;
}
