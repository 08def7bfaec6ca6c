/** Pure helpers of the panel (no DOM, no JupyterLab): statuses, filters, dependencies. */
import { DECISIONS } from './common/contract';
import { IDependency, parseDependencyCell } from './common/dependencies';
import type { IInstallBundle } from './common/install';
import type { IInstallState, RepoGuard } from './tokens';

export { DECISIONS };

/** True once the pipeline has decided. */
export function isFinal(status: string): boolean {
  return (DECISIONS as readonly string[]).includes(status);
}

/**
 * The requests whose decision the panel should announce, given the status each
 * had when last seen (`known`): one that reached a decision since (or, once the
 * first list is `primed`, appeared already decided), and an approval that a
 * re-scan has since revoked (approved, then revoked: the user may have it
 * installed). A request seen decided stays quiet.
 */
export function newDecisions(
  known: ReadonlyMap<string, string>,
  primed: boolean,
  requests: readonly RepoGuard.IRequestStatus[]
): RepoGuard.IRequestStatus[] {
  return requests.filter(entry => {
    const before = known.get(entry.request.request_id);
    if (before === 'approved' && entry.status === 'revoked') {
      return true;
    }
    const wasPending = before !== undefined ? !isFinal(before) : primed;
    return isFinal(entry.status) && wasPending;
  });
}

/** True while a request is waiting for or going through the pipeline. */
export function inFlight(requests: readonly RepoGuard.IRequestStatus[]): boolean {
  return requests.some(r => !isFinal(r.status));
}

/** A lowercase haystack per row, computed once per list (filtering is then one pass). */
export function searchKeys(rows: readonly RepoGuard.IResultRow[]): string[] {
  return rows.map(r => `${r.package_name}\n${r.repo_url}\n${r.commit_sha}`.toLowerCase());
}

/** Indices of the rows whose name, source or commit contain every word of `query`. */
export function filterIndices(keys: readonly string[], query: string): number[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const out: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (words.every(w => key.includes(w))) {
      out.push(i);
    }
  }
  return out;
}

export type { IDependency };

/** The results row's `dependencies` cell (the contract's format, `src/common/dependencies.ts`). */
export function parseDependencies(text: string | undefined): IDependency[] {
  return parseDependencyCell(text).dependencies;
}

/** PEP 503 normalisation, so `Foo_Bar` and `foo-bar` are one package. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The normalised names of the approved packages (compute once per list). */
export function approvedNames(approved: readonly RepoGuard.IResultRow[]): Set<string> {
  return new Set(approved.map(r => normalizeName(r.package_name)));
}

/** Dependencies of `row` that are not themselves approved. */
export function unapprovedDependencies(
  row: RepoGuard.IResultRow,
  approved: readonly RepoGuard.IResultRow[] | ReadonlySet<string>
): IDependency[] {
  if (!row.dependencies) {
    return [];
  }
  const names =
    approved instanceof Set ? approved : approvedNames(approved as RepoGuard.IResultRow[]);
  return parseDependencies(row.dependencies).filter(d => !names.has(normalizeName(d.name)));
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/**
 * The outcome of `%repoguard install NAME` from what the kernel answered: the
 * magic's install bundle (`application/vnd.repoguard.install+json`) when it
 * sent one, else only whether the cell failed (the text is shown, never parsed).
 */
export function installOutcome(
  name: string,
  replyOk: boolean,
  output: string,
  bundle: IInstallBundle | null = null
): IInstallState {
  const text = stripAnsi(output).trim();
  const ok = replyOk && (bundle === null || bundle.ok);
  return {
    name,
    status: ok ? 'installed' : 'failed',
    text,
    missing: ok || bundle === null ? [] : bundle.missing
  };
}

/** `2026-01-01T12:00:00Z` → `2026-01-01 12:00` (or '' for none). */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  return iso
    .replace('T', ' ')
    .replace(/(:\d\d)(\.\d+)?Z?$/, '')
    .slice(0, 16);
}
