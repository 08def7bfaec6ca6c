/**
 * Where the code of a finding runs, and its snippet.
 *
 * Phase (a heuristic on the path and the line, documented in the README):
 * - `install`: `setup.py`, build hooks (`hatch_build.py`,
 *   `build.py` beside a pyproject), `package.json` itself (its lifecycle
 *   scripts), and the files a `preinstall`/`install`/`postinstall`/`prepare`
 *   script names (`node scripts/x.js`).
 * - `import`: a line at the module top level (no indentation) of a Python or
 *   JavaScript source file.
 * - `call`: an indented line of a source file (inside a function or class).
 * - `unknown`: not source code (manifests, lock files, Dockerfiles, text).
 *
 * Snippet: the finding's line from the file (trimmed, at most 240
 * characters), unless the adapter set one. Secrets never get a snippet read
 * from the file: only the scanner's own redacted one.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FindingPhase, IFinding } from '../types';

const SOURCE_EXT = new Set(['.py', '.pyw', '.js', '.cjs', '.mjs', '.ts', '.jsx', '.tsx']);
const INSTALL_FILES = new Set(['setup.py', 'hatch_build.py', 'package.json', 'binding.gyp']);
export const LIFECYCLE_SCRIPTS = [
  'preinstall',
  'install',
  'postinstall',
  'prepare',
  'prepublish',
  'preprepare',
  'postprepare'
];
const MAX_SNIPPET = 240;

/** Files named by the lifecycle scripts of the package.json files of the tree (relative paths). */
async function installScripts(target: string, packageJsons: string[]): Promise<Set<string>> {
  const files = new Set<string>();
  for (const rel of packageJsons) {
    try {
      const pkg = JSON.parse(await readFile(path.join(target, rel), 'utf8')) as {
        scripts?: Record<string, unknown>;
      };
      for (const name of LIFECYCLE_SCRIPTS) {
        const script = pkg.scripts?.[name];
        if (typeof script !== 'string') continue;
        for (const word of script.split(/[\s;&|()]+/)) {
          if (/\.(c|m)?js$|\.sh$|\.py$/.test(word)) {
            files.add(path.normalize(path.join(path.dirname(rel), word)));
          }
        }
      }
    } catch {
      // not JSON: no scripts
    }
  }
  return files;
}

export function phaseOfLine(
  relPath: string,
  lineText: string | undefined,
  installFiles: Set<string>
): FindingPhase {
  const base = path.basename(relPath);
  if (INSTALL_FILES.has(base) || installFiles.has(path.normalize(relPath))) {
    return 'install';
  }
  if (!SOURCE_EXT.has(path.extname(relPath).toLowerCase())) {
    return 'unknown';
  }
  if (lineText === undefined) {
    return 'unknown';
  }
  return /^\S/.test(lineText) ? 'import' : 'call';
}

/** Fill in `phase` and `snippet` where the adapter left them unset. */
export async function locate(target: string, findings: IFinding[]): Promise<IFinding[]> {
  const texts = new Map<string, string[] | null>();
  const lines = async (rel: string): Promise<string[] | null> => {
    if (!texts.has(rel)) {
      const file = path.resolve(target, rel);
      let value: string[] | null = null;
      if (!path.relative(target, file).startsWith('..')) {
        try {
          value = (await readFile(file, 'utf8')).split('\n');
        } catch {
          value = null;
        }
      }
      texts.set(rel, value);
    }
    return texts.get(rel)!;
  };
  const packageJsons = [...new Set(findings.map(f => f.path))].filter(
    p => path.basename(p) === 'package.json'
  );
  const rootPackage = 'package.json';
  const installFiles = await installScripts(target, [...new Set([rootPackage, ...packageJsons])]);
  const out: IFinding[] = [];
  for (const f of findings) {
    let lineText: string | undefined;
    if (f.path && f.line && (!f.phase || (f.snippet === undefined && f.category !== 'secret'))) {
      lineText = (await lines(f.path))?.[f.line - 1];
    }
    const phase = f.phase ?? phaseOfLine(f.path, lineText, installFiles);
    let snippet = f.snippet;
    if (snippet === undefined && f.category !== 'secret' && lineText !== undefined) {
      snippet = lineText.trim().slice(0, MAX_SNIPPET);
    }
    if (snippet !== undefined && snippet.length > MAX_SNIPPET) {
      snippet = snippet.slice(0, MAX_SNIPPET);
    }
    out.push({ ...f, phase, ...(snippet ? { snippet } : {}) });
  }
  return out;
}
