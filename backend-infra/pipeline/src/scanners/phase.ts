/**
 * Where the code of a finding runs, and its snippet.
 *
 * Phase (a heuristic on the path and the line, documented in the README):
 * - `install`: `setup.py`, build hooks (`hatch_build.py`,
 *   `build.py` beside a pyproject), `package.json` itself (its lifecycle
 *   scripts), and the files a `preinstall`/`install`/`postinstall`/`prepare`
 *   script names (`node scripts/x.js`).
 * - `import`: a line of a Python or JavaScript source file that runs when
 *   the module loads: module level, including the bodies of top-level `if`
 *   (platform checks), `try`, `with`, loops and class bodies; and the body of
 *   a function that module-level code calls (directly, as a thread target or
 *   an atexit hook, or through other functions it calls), and of an
 *   immediately invoked JavaScript function.
 * - `call`: a line inside a function (or method) nothing at module level calls.
 * - `not-installed`: the body of a Python `if __name__ == "__main__":` block
 *   itself (the functions it calls keep their phase: others may call them): it
 *   runs when someone runs the file as a script
 *   (maintainer scripts that regenerate tables, say), never on install,
 *   import or call.
 * - `unknown`: not source code (manifests, lock files, Dockerfiles, text).
 *
 * This is the fallback of the static structure: the dynamic scanner's
 * coverage of the sandboxed install and import (`observed`) replaces it
 * where it ran. `prepublish` is not an install script here: it does not run
 * when the packed tarball is installed, which is how users install.
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
      for (const name of INSTALL_LIFECYCLE) {
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

/** Scripts that run when a packed tarball is installed (or prepared from git). */
const INSTALL_LIFECYCLE = LIFECYCLE_SCRIPTS.filter(s => s !== 'prepublish');

interface IBlock {
  indent: number;
  /** The `if __name__ == "__main__":` block. */
  main?: boolean;
  /** A function (or method) body; `name` when it has one. */
  fn: boolean;
  name?: string;
}

const indentOf = (line: string) => /^[ \t]*/.exec(line)![0].replace(/\t/g, '    ').length;

/** The block header a line opens: a function (with its name), or another block. */
function headerOf(line: string, python: boolean): IBlock | null {
  const text = line.trim();
  if (python) {
    const def = /^(async\s+)?def\s+([A-Za-z_]\w*)/.exec(text);
    if (def) return { indent: indentOf(line), fn: true, name: def[2] };
    if (/^if\s+__name__\s*==\s*['"]__main__['"]\s*:/.test(text))
      return { indent: indentOf(line), fn: false, main: true };
    if (/:\s*(#.*)?$/.test(text)) return { indent: indentOf(line), fn: false };
    return null;
  }
  if (!/[{(]\s*(\/\/.*)?$/.test(text) && !/=>\s*$/.test(text)) return null;
  // An immediately invoked function runs when the module loads.
  if (/^[;!+~]?\(\s*(async\s+)?(function\b|\([^)]*\)\s*=>|\w+\s*=>)/.test(text)) {
    return { indent: indentOf(line), fn: false };
  }
  const named =
    /^(export\s+)?(default\s+)?(async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/.exec(text) ??
    /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/.exec(
      text
    );
  if (named) return { indent: indentOf(line), fn: true, name: named[named.length - 1] };
  // `exports.x = function`, `A.prototype.y = () =>`: a function called by name (as a method).
  const assigned =
    /^(?:[\w$]+\.)+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/.exec(
      text
    );
  if (assigned) return { indent: indentOf(line), fn: true, name: assigned[1] };
  if (/\bfunction\b|=>/.test(text)) return { indent: indentOf(line), fn: true };
  // A method: `name(args) {` that is not a control statement.
  const method = /^(async\s+)?(static\s+)?([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{/.exec(text);
  if (method && !/^(if|for|while|switch|catch|with|function)$/.test(method[3])) {
    return { indent: indentOf(line), fn: true, name: method[3] };
  }
  return { indent: indentOf(line), fn: false };
}

/** Brackets a Python line opens minus those it closes (string literals and comments aside). */
function bracketDelta(line: string): number {
  const code = line
    .replace(/("""|''')/g, '')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '')
    .replace(/#.*$/, '');
  let delta = 0;
  for (const ch of code) {
    if (ch === '(' || ch === '[' || ch === '{') delta++;
    else if (ch === ')' || ch === ']' || ch === '}') delta--;
  }
  return delta;
}

/**
 * Per line of a Python or JavaScript source (0-based): `import` when it runs
 * as the module loads, `call` when only a call runs it.
 */
export function linePhases(text: string, python: boolean): ('import' | 'call' | 'not-installed')[] {
  const lines = text.split('\n');
  const stack: IBlock[] = [];
  /** Innermost enclosing function names of each line ('' = an anonymous function; undefined = module level). */
  const owner: (string[] | undefined)[] = [];
  /** Lines inside the `__main__` block. */
  const script: boolean[] = [];
  let inString = false;
  /** Python: brackets left open by the statement so far (a signature over several lines). */
  let open = 0;
  for (const line of lines) {
    if (python && open > 0 && !inString) {
      // A continuation line belongs to the statement that opened the bracket:
      // `def f(\n    a,\n) -> T:` is one header, its body the function's.
      owner.push(owner.length ? owner[owner.length - 1] : undefined);
      script.push(script.length ? script[script.length - 1] : false);
      open = Math.max(0, open + bracketDelta(line));
      if ((line.match(/"""|'''/g) ?? []).length % 2 === 1) inString = true;
      continue;
    }
    const blank = line.trim() === '' || (python && line.trim().startsWith('#'));
    if (python) {
      const quotes = (line.match(/"""|'''/g) ?? []).length;
      if (inString) {
        owner.push(owner.length ? owner[owner.length - 1] : undefined);
        script.push(script.length ? script[script.length - 1] : false);
        if (quotes % 2 === 1) inString = false;
        continue;
      }
      if (quotes % 2 === 1) inString = true;
    }
    if (blank) {
      owner.push(owner.length ? owner[owner.length - 1] : undefined);
      script.push(script.length ? script[script.length - 1] : false);
      continue;
    }
    const indent = indentOf(line);
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    const fns = stack.filter(b => b.fn).map(b => b.name ?? '');
    owner.push(fns.length ? fns : undefined);
    script.push(stack.some(b => b.main));
    const header = headerOf(line, python);
    if (header) stack.push(header);
    if (python) open = Math.max(0, bracketDelta(line));
  }
  // Functions run at import: called (or registered) from module-level code, then transitively.
  const names = new Set(owner.flatMap(o => o ?? []).filter(Boolean));
  // Names called (`name(`, not `x.name(`) or registered (`target=name`, `register(name`) on a line.
  const callsOf = (line: string): string[] => {
    const text = line
      .replace(/^\s*(async\s+)?def\s+\w+/, '')
      .replace(/^\s*(export\s+)?(async\s+)?function\s*\w+/, '');
    const out: string[] = [];
    for (const m of text.matchAll(
      /(?:^|[^\w.$])([A-Za-z_$][\w$]*)\s*\(|(?:target\s*=|register\(|Thread\()\s*([A-Za-z_$][\w$]*)/g
    )) {
      const n = m[1] ?? m[2];
      if (names.has(n)) out.push(n);
    }
    return out;
  };
  const runs = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    lines.forEach((line, i) => {
      const o = owner[i];
      const live =
        !script[i] && (o === undefined || o.every(n => (n === '' ? !python : runs.has(n))));
      if (!live) return;
      for (const n of callsOf(line)) {
        if (!runs.has(n)) {
          runs.add(n);
          grew = true;
        }
      }
    });
  }
  // An anonymous JavaScript function is a callback of the code around it: it runs when that does.
  return owner.map((o, i) =>
    script[i]
      ? 'not-installed'
      : o === undefined || o.every(n => (n === '' ? !python : runs.has(n)))
        ? 'import'
        : 'call'
  );
}

export function phaseOfLine(
  relPath: string,
  lineText: string | undefined,
  installFiles: Set<string>,
  phases?: ('import' | 'call' | 'not-installed')[],
  line?: number
): FindingPhase {
  const base = path.basename(relPath);
  if (INSTALL_FILES.has(base) || installFiles.has(path.normalize(relPath))) {
    return 'install';
  }
  if (!SOURCE_EXT.has(path.extname(relPath).toLowerCase())) {
    return 'unknown';
  }
  if (phases && line && phases[line - 1]) return phases[line - 1];
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
  const structure = new Map<string, ('import' | 'call' | 'not-installed')[] | null>();
  const phasesOf = async (rel: string) => {
    if (!structure.has(rel)) {
      const text = await lines(rel);
      const ext = path.extname(rel).toLowerCase();
      structure.set(
        rel,
        text && SOURCE_EXT.has(ext)
          ? linePhases(text.join('\n'), ext === '.py' || ext === '.pyw')
          : null
      );
    }
    return structure.get(rel) ?? undefined;
  };
  const out: IFinding[] = [];
  for (const f of findings) {
    let lineText: string | undefined;
    if (f.path && f.line && (!f.phase || (f.snippet === undefined && f.category !== 'secret'))) {
      lineText = (await lines(f.path))?.[f.line - 1];
    }
    const phase =
      f.phase ??
      phaseOfLine(
        f.path,
        lineText,
        installFiles,
        f.path && f.line ? await phasesOf(f.path) : undefined,
        f.line
      );
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
