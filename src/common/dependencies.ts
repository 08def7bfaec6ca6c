/**
 * The results row's `dependencies` cell: one writer (the pipeline's record
 * stage), two readers (the panel, the Python installer), one format from
 * `contract.json`: items `name spec` joined by `; `, each optionally followed by
 * ` | ` and its PEP 508 environment marker. The shared vectors in
 * `fixtures/dependency-cells.json` run under jest and pytest.
 */
import { DEPENDENCY_CELL, PATTERNS } from './contract';

export interface IDependency {
  name: string;
  /** PEP 440 specifier without spaces (`>=2,<3`), or `''` for any version. */
  spec: string;
  /** PEP 508 environment marker (`python_version < "3.11"`), when the dependency has one. */
  marker?: string;
}

export interface IDependencyCell {
  dependencies: IDependency[];
  /** One entry per unreadable item; the other items are still read. */
  errors: string[];
}

const ITEM = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$/;

/** The cell a results row records for these dependencies. */
export function formatDependencyCell(deps: readonly IDependency[]): string {
  return deps
    .map(d => {
      const head = d.spec ? `${d.name} ${d.spec}` : d.name;
      return d.marker ? `${head}${DEPENDENCY_CELL.markerSeparator}${d.marker}` : head;
    })
    .join(DEPENDENCY_CELL.itemSeparator);
}

/** Read a cell (untrusted): each readable item, and a reason per unreadable one. */
export function parseDependencyCell(cell: string | undefined): IDependencyCell {
  const out: IDependencyCell = { dependencies: [], errors: [] };
  const items = (cell ?? '').split(DEPENDENCY_CELL.itemSeparator.trim());
  for (const raw of items) {
    const item = raw.trim();
    if (!item) {
      continue;
    }
    const at = item.indexOf(DEPENDENCY_CELL.markerSeparator.trim());
    const head = (at < 0 ? item : item.slice(0, at)).trim();
    const marker = at < 0 ? '' : item.slice(at + 1).trim();
    const match = ITEM.exec(head);
    if (!match || !PATTERNS.packageName.test(match[1])) {
      out.errors.push(`unreadable dependency ${JSON.stringify(item)}`);
      continue;
    }
    const spec = match[2].replace(/\s+/g, '');
    if (!PATTERNS.versionSpec.test(spec)) {
      out.errors.push(`dependency ${JSON.stringify(item)} has no PEP 440 version spec`);
      continue;
    }
    const dependency: IDependency = { name: match[1], spec };
    if (marker) {
      dependency.marker = marker;
    }
    out.dependencies.push(dependency);
  }
  return out;
}
