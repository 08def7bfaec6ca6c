/**
 * InfoSec waivers: `external-package-waivers.csv` in the request repo,
 * owned by InfoSec (protect it with CODEOWNERS / branch rules).
 *
 *   rule_id,package_name,covers,expires,reason,approver
 *   B602,mypkg,0123…(40 hex),2027-01-31,INFOSEC-42 shell=True on a constant,alice@example.com
 *   repoguard.python.eval-exec,mypkg,sha256:9f86…(64 hex),2027-01-31,INFOSEC-43,bob@example.com
 *
 * A waiver applies to one rule of one package and exactly the code it names:
 * `covers` is the scanned commit sha, or `sha256:<hex>` of the content of the
 * file the finding is in. New code (another commit, a changed file) is never
 * covered. It applies until the end of its `expires` day (UTC). A malformed
 * row (missing field, wildcard, bad sha or date) is ignored with a logged
 * reason: it never widens anything.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';

export const WAIVERS_FILE = 'external-package-waivers.csv';
export const WAIVER_COLUMNS = [
  'rule_id',
  'package_name',
  'covers',
  'expires',
  'reason',
  'approver'
] as const;

export interface IWaiverRow {
  /** 1-based line of the row in the file (header is line 1). */
  line: number;
  ruleId: string;
  packageName: string;
  /** `commit` covers every finding of that commit; `content` one file's exact content. */
  covers: { kind: 'commit'; sha: string } | { kind: 'content'; sha256: string };
  /** Last day (UTC, inclusive) the waiver applies. */
  expires: string;
  reason: string;
  approver: string;
}

export interface IWaiverFile {
  waivers: IWaiverRow[];
  /** Rows ignored, with why (logged by the decide stage). */
  ignored: { line: number; reason: string }[];
}

/** A waiver that was applied to a finding (named in the result and the report). */
export interface IWaiverUse {
  ruleId: string;
  packageName: string;
  covers: string;
  expires: string;
  reason: string;
  approver: string;
  /** Where it applied. */
  path: string;
  line?: number;
}

/** PEP 503-like: case-insensitive, `-`, `_` and `.` equivalent. */
export function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const CONTENT = /^sha256:([0-9a-f]{64})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

export function parseWaivers(text: string): IWaiverFile {
  const out: IWaiverFile = { waivers: [], ignored: [] };
  const clean = text.replace(/^\uFEFF/, '');
  if (!clean.trim()) return out;
  const parsed = Papa.parse<string[]>(clean, { skipEmptyLines: false });
  const table = parsed.data;
  const header = (table[0] ?? []).map(h => h.trim().toLowerCase());
  const missing = WAIVER_COLUMNS.filter(c => !header.includes(c));
  if (missing.length > 0) {
    out.ignored.push({
      line: 1,
      reason: `header lacks ${missing.join(', ')}: the whole file is ignored`
    });
    return out;
  }
  const col = (cells: string[], name: string) => (cells[header.indexOf(name)] ?? '').trim();
  for (let i = 1; i < table.length; i++) {
    const cells = table[i];
    const line = i + 1;
    if (cells.every(c => c.trim() === '')) continue;
    const ignore = (reason: string): void => void out.ignored.push({ line, reason });
    if (cells.length !== header.length) {
      ignore(`has ${cells.length} fields, the header ${header.length}`);
      continue;
    }
    const ruleId = col(cells, 'rule_id');
    const packageName = col(cells, 'package_name');
    const covers = col(cells, 'covers').toLowerCase();
    const expires = col(cells, 'expires');
    const reason = col(cells, 'reason');
    const approver = col(cells, 'approver');
    const empty = Object.entries({
      rule_id: ruleId,
      package_name: packageName,
      covers,
      expires,
      reason,
      approver
    }).find(([, v]) => !v);
    if (empty) {
      ignore(`${empty[0]} is empty`);
      continue;
    }
    if (/[*?]/.test(ruleId) || /[*?]/.test(packageName)) {
      ignore('wildcards are not allowed');
      continue;
    }
    if (!validDate(expires)) {
      ignore(`expires must be an ISO date YYYY-MM-DD (got ${expires.slice(0, 40)})`);
      continue;
    }
    let parsedCovers: IWaiverRow['covers'];
    const content = CONTENT.exec(covers);
    if (content) parsedCovers = { kind: 'content', sha256: content[1] };
    else if (SHA.test(covers)) parsedCovers = { kind: 'commit', sha: covers };
    else {
      ignore('covers must be a full commit sha or sha256:<64 hex> of the file content');
      continue;
    }
    out.waivers.push({
      line,
      ruleId,
      packageName,
      covers: parsedCovers,
      expires,
      reason,
      approver
    });
  }
  return out;
}

/** True while `now` is on or before the expiry day (UTC). */
export function inForce(waiver: IWaiverRow, now: Date): boolean {
  return now.toISOString().slice(0, 10) <= waiver.expires;
}

export function coversLabel(w: IWaiverRow): string {
  return w.covers.kind === 'commit' ? w.covers.sha : `sha256:${w.covers.sha256}`;
}

/**
 * Hashes of the scanned files, computed once per file and only when a
 * content waiver could apply. A file that cannot be read is never covered.
 */
export class ContentHasher {
  private readonly cache = new Map<string, Promise<string | null>>();
  constructor(private readonly root: string | undefined) {}

  sha256(relative: string): Promise<string | null> {
    if (!this.root) return Promise.resolve(null);
    const root = this.root;
    let hit = this.cache.get(relative);
    if (!hit) {
      const full = path.resolve(root, relative);
      hit = full.startsWith(path.resolve(root) + path.sep)
        ? readFile(full).then(
            b => createHash('sha256').update(b).digest('hex'),
            () => null
          )
        : Promise.resolve(null);
      this.cache.set(relative, hit);
    }
    return hit;
  }
}

/** The waiver (if any) that applies to a finding of `packageName` at `commitSha`. */
export async function findWaiver(
  finding: { ruleId: string; path: string },
  packageName: string,
  commitSha: string | undefined,
  waivers: readonly IWaiverRow[],
  now: Date,
  hasher: ContentHasher
): Promise<IWaiverRow | undefined> {
  const name = normalizeName(packageName);
  for (const w of waivers) {
    if (w.ruleId !== finding.ruleId || normalizeName(w.packageName) !== name || !inForce(w, now))
      continue;
    if (w.covers.kind === 'commit') {
      if (commitSha && commitSha.toLowerCase() === w.covers.sha) return w;
    } else if (finding.path && (await hasher.sha256(finding.path)) === w.covers.sha256) {
      return w;
    }
  }
  return undefined;
}

export function useOf(w: IWaiverRow, finding: { path: string; line?: number }): IWaiverUse {
  return {
    ruleId: w.ruleId,
    packageName: w.packageName,
    covers: coversLabel(w),
    expires: w.expires,
    reason: w.reason,
    approver: w.approver,
    path: finding.path,
    line: finding.line
  };
}

/** The results-row cell: `rule@package (approver, until DATE: reason); …`, one entry per waiver. */
export function formatWaivers(uses: readonly IWaiverUse[] | undefined): string {
  const seen = new Map<string, IWaiverUse>();
  for (const u of uses ?? []) seen.set(`${u.ruleId}|${u.covers}`, u);
  return [...seen.values()]
    .map(
      u =>
        `${u.ruleId}@${u.packageName} (${u.approver}, until ${u.expires}: ${u.reason.replace(/[;\r\n]+/g, ' ')})`
    )
    .join('; ');
}
