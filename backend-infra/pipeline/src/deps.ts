/**
 * Declared runtime dependencies of a package, read from its metadata files
 * without running any of its code: `pyproject.toml` ([project].dependencies,
 * else [tool.poetry.dependencies]), `setup.cfg` ([options] install_requires),
 * `setup.py` (string literals of `install_requires=[…]`, never executed) and
 * `package.json` (`dependencies`). Extras are dropped; environment markers are
 * kept. Recorded in the results row in the contract's dependency-cell format
 * (`src/common/dependencies.ts`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatDependencyCell } from '../../../src/common';
import type { IDependency } from './types';

async function read(dir: string, file: string): Promise<string | null> {
  try {
    const text = await readFile(path.join(dir, file), 'utf8');
    return text.length > 1_000_000 ? null : text;
  } catch {
    return null;
  }
}

/** `requests[socks]>=2.0 ; python_version<"3.8"` → {name: requests, spec: >=2.0, marker: python_version<"3.8"}. */
export function parseRequirement(requirement: string): IDependency | null {
  const at = requirement.indexOf(';');
  const withoutMarker = (at < 0 ? requirement : requirement.slice(0, at)).trim();
  const marker = at < 0 ? '' : requirement.slice(at + 1).trim();
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$/.exec(withoutMarker);
  if (!match) {
    return null;
  }
  const spec = match[2].replace(/^\((.*)\)$/, '$1').replace(/\s+/g, '');
  return marker ? { name: match[1], spec, marker } : { name: match[1], spec };
}

/** The items of a TOML/Python list of string literals starting at `[`. */
function stringList(text: string, start: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '#') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol;
      continue;
    }
    if (c === '[') {
      depth++;
    } else if (c === ']') {
      depth--;
      if (depth === 0) {
        break;
      }
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) {
        break;
      }
      out.push(text.slice(i + 1, end));
      i = end;
    }
    i++;
  }
  return out;
}

/** Lines of one `[section]` of a TOML or INI file. */
function section(text: string, name: string): string | null {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex(l => l.trim() === `[${name}]`);
  if (start < 0) {
    return null;
  }
  const end = lines.findIndex((l, i) => i > start && /^\s*\[[^\]]+\]\s*$/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function fromPyproject(text: string): IDependency[] | null {
  const project = section(text, 'project');
  if (project !== null) {
    const at = /^dependencies\s*=\s*\[/m.exec(project);
    if (at) {
      return stringList(project, at.index + at[0].length - 1)
        .map(parseRequirement)
        .filter((d): d is IDependency => d !== null);
    }
  }
  const poetry = section(text, 'tool.poetry.dependencies');
  if (poetry !== null) {
    const deps: IDependency[] = [];
    for (const line of poetry.split('\n')) {
      const m =
        /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*=\s*(?:"([^"]*)"|\{.*version\s*=\s*"([^"]*)")/.exec(
          line
        );
      if (m && m[1].toLowerCase() !== 'python') {
        deps.push({ name: m[1], spec: (m[2] ?? m[3] ?? '').replace(/\s+/g, '') });
      }
    }
    return deps;
  }
  return project !== null ? [] : null;
}

function fromSetupCfg(text: string): IDependency[] | null {
  const options = section(text, 'options');
  if (options === null) {
    return null;
  }
  const lines = options.split('\n');
  const at = lines.findIndex(l => /^install_requires\s*=/.test(l));
  if (at < 0) {
    return null;
  }
  const values = [lines[at].replace(/^install_requires\s*=/, '')];
  for (let i = at + 1; i < lines.length && /^\s+\S/.test(lines[i]); i++) {
    values.push(lines[i]);
  }
  return values
    .map(v => v.replace(/#.*/, '').trim())
    .filter(v => v !== '')
    .map(parseRequirement)
    .filter((d): d is IDependency => d !== null);
}

function fromSetupPy(text: string): IDependency[] | null {
  const at = /install_requires\s*=\s*\[/.exec(text);
  if (!at) {
    return null;
  }
  return stringList(text, at.index + at[0].length - 1)
    .map(parseRequirement)
    .filter((d): d is IDependency => d !== null);
}

function fromPackageJson(text: string): IDependency[] | null {
  try {
    const pkg = JSON.parse(text) as { dependencies?: Record<string, unknown> };
    if (!pkg.dependencies || typeof pkg.dependencies !== 'object') {
      return [];
    }
    return Object.entries(pkg.dependencies).map(([name, spec]) => ({
      name,
      spec: typeof spec === 'string' ? spec.replace(/\s+/g, '') : ''
    }));
  } catch {
    return null;
  }
}

/** The declared runtime dependencies of the package in `dir` (first metadata file that declares them). */
export async function declaredDependencies(dir: string): Promise<IDependency[]> {
  const sources: [string, (t: string) => IDependency[] | null][] = [
    ['pyproject.toml', fromPyproject],
    ['setup.cfg', fromSetupCfg],
    ['setup.py', fromSetupPy],
    ['package.json', fromPackageJson]
  ];
  for (const [file, parse] of sources) {
    const text = await read(dir, file);
    const deps = text === null ? null : parse(text);
    if (deps && deps.length > 0) {
      return deps;
    }
  }
  return [];
}

/** The `dependencies` cell of a results row (the contract's format). */
export function formatDependencies(deps: readonly IDependency[]): string {
  return formatDependencyCell(deps);
}
