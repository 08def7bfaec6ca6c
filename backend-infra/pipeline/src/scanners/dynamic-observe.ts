/**
 * The dynamic scanner's plumbing: where the sandbox toolchain is, how the
 * sandbox is traced, the bait home, whether a failed build was the
 * sandbox's fault, and how what the harness measured inside the sandbox
 * (installed files, executed lines, by content hash) maps back to the files
 * of the scanned tree (the observation, see observed.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IRunContext } from './run';
import type { IEvent } from './dynamic-trace';
import type { IObservation, IObservedFile } from './observed';

/** The platforms tried, the real one first. */
export const PLATFORMS = ['linux', 'win32', 'darwin'];
/** Seconds one module's import may take. */
export const MODULE_LIMIT_S = 10;
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..', '..');

/** Fake credentials planted in the throw-away home (bait: no real key shape). */
export const BAIT: Record<string, string> = {
  '.aws/credentials':
    '[default]\naws_access_key_id = REPOGUARD-CANARY-ID\naws_secret_access_key = repoguard-canary-secret\n',
  '.aws/config': '[default]\nregion = us-east-1\n',
  '.ssh/id_rsa': '-----BEGIN REPOGUARD CANARY-----\nnot a key\n-----END REPOGUARD CANARY-----\n',
  '.netrc': 'machine example.invalid login canary password repoguard-canary\n',
  '.pypirc': '[pypi]\nusername = __token__\npassword = repoguard-canary\n',
  '.git-credentials': 'https://canary:repoguard-canary@example.invalid\n',
  '.bashrc': '# throw-away home of the RepoGuard install sandbox\n'
};

export const STRACE_CALLS =
  'trace=execve,clone,clone3,fork,vfork,connect,sendto,sendmsg,openat,open,creat';

/**
 * The sandbox's Python toolchain (a venv): REPOGUARD_SANDBOX_PYTHON, else
 * `sandbox-python` beside the scanner bin folder, else the checkout's .tools.
 */
export function sandboxPython(binDir?: string): string | null {
  const candidates = [
    process.env.REPOGUARD_SANDBOX_PYTHON,
    binDir ? path.join(binDir, '..', 'sandbox-python') : undefined,
    path.join(REPO_ROOT, '.tools', 'sandbox-python')
  ].filter((c): c is string => Boolean(c));
  for (const venv of candidates) {
    if (existsSync(path.join(venv, 'bin', 'python')) && existsSync(path.join(venv, '.pin'))) {
      return path.resolve(venv);
    }
  }
  return null;
}

/** Why an install failed, when the sandbox (not the package) caused it; null otherwise. */
export function sandboxCause(
  tail: string,
  ownTopLevels: Set<string>,
  mismatched: string[] = []
): string | null {
  const missingModule = /No module named '([\w.]+)'/.exec(tail)?.[1];
  if (missingModule && !ownTopLevels.has(missingModule.split('.')[0])) {
    return `the build needs the module ${missingModule}, which the sandbox does not carry`;
  }
  const backend = /BackendUnavailable|Cannot import '([\w.:]+)'/.exec(tail);
  if (backend) {
    return `the build backend ${backend[1] ?? ''} is not available in the sandbox`.replace(
      '  ',
      ' '
    );
  }
  const native = nativeToolchainCause(tail);
  if (native) return native;
  if (/ENOTCACHED|EAI_AGAIN registry|request to https?:\/\/registry/.test(tail)) {
    return 'npm needed the registry (the sandbox is offline)';
  }
  if (/No such file or directory: '[\w+.-]*git'/.test(tail)) {
    return 'the build needs git, which the sandbox does not carry';
  }
  if (mismatched.length) {
    return `the sandbox's build requirements do not match: ${mismatched.join('; ')}`;
  }
  return null;
}

/**
 * Why a build stopped at its native part (a compiler, linker or native
 * library the sandbox does not provide, or Rust crates it cannot fetch
 * offline), or null. The package's Python install-time code (setup.py, the
 * backend's hooks) ran before it, under trace; only the compiled part, and so
 * the import phase, could not be observed.
 */
export function nativeToolchainCause(tail: string): string | null {
  const tool =
    /(?:command|unable to execute) '?([\w+.-]*(?:gcc|g\+\+|cc|clang|cmake|cargo|rustc|ninja|make|pkg-config|gfortran|meson))'?:? (?:failed|not found|No such file)/i.exec(
      tail
    ) ??
    /No such file or directory: '([\w+.-]*(?:gcc|g\+\+|cc|cmake|cargo|rustc|ninja|pkg-config))'/.exec(
      tail
    ) ??
    /\b(cargo|rustc|cmake|ninja|make|gcc|g\+\+|node-gyp|python2?)\b[^\n]{0,40}\b(?:not found|is not installed|was not found)/i.exec(
      tail
    ) ??
    /(can't find Rust compiler|gyp ERR! find Python|linker `cc` not found)/.exec(tail);
  if (tool) return `the build needs ${tool[1]}, which the sandbox does not carry`;
  // maturin's backend imports puccinialin only to download a Rust toolchain when none is found.
  if (/No module named '?puccinialin'?/.test(tail)) {
    return 'the build needs a Rust toolchain (maturin would download one), which the sandbox does not carry';
  }
  const header = /fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory/.exec(tail);
  if (header)
    return `the build needs the native header ${header[1]}, which the sandbox does not carry`;
  if (
    /failed to (?:get|download|load source for) `?[\w-]+`? .*(?:crates\.io|registry)|no matching package named|failed to query replaced source registry/i.test(
      tail
    )
  ) {
    return 'the build needs Rust crates from crates.io (the sandbox is offline)';
  }
  return null;
}

export async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Source files of the tree by content hash (relative paths), for one set of extensions. */
export async function sourcesByHash(target: string, exts: RegExp): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(target, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (e.name !== '.git' && e.name !== 'node_modules') await walk(r);
      } else if (e.isFile() && exts.test(e.name)) {
        const h = await sha256(path.join(target, r));
        out.set(h, [...(out.get(h) ?? []), r]);
      }
    }
  };
  await walk('');
  return out;
}

/** The source file an installed or measured file came from (same content; the closest path). */
export function sourceOf(file: string, hash: string, byHash: Map<string, string[]>): string | null {
  const candidates = byHash.get(hash) ?? [];
  if (candidates.length <= 1) return candidates[0] ?? null;
  const parts = file.split('/');
  let best = candidates[0];
  let bestScore = -1;
  for (const c of candidates) {
    const cp2 = c.split('/');
    let score = 0;
    while (score < cp2.length && cp2[cp2.length - 1 - score] === parts[parts.length - 1 - score]) {
      score++;
    }
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

export function entryOf(observation: IObservation, rel: string): IObservedFile {
  const key = path.normalize(rel);
  observation.files[key] ??= { installed: false, install: [], import: [] };
  return observation.files[key];
}

export function addLines(
  observation: IObservation,
  rel: string,
  phase: 'install' | 'import',
  platform: string,
  lines: Iterable<number>
): void {
  const entry = entryOf(observation, rel);
  const list = [...lines];
  if (platform === 'linux') {
    entry[phase] = [...new Set([...entry[phase], ...list])].sort((a, b) => a - b);
    return;
  }
  entry.platformOnly ??= {};
  const only = (entry.platformOnly[platform] ??= {});
  only[phase] = [...new Set([...(only[phase] ?? []), ...list])].sort((a, b) => a - b);
}

/** Lines seen only under emulation are also lines that ran (union), listed apart per platform. */
export function settle(observation: IObservation): void {
  for (const entry of Object.values(observation.files)) {
    for (const [platform, phases] of Object.entries(entry.platformOnly ?? {})) {
      for (const phase of ['install', 'import'] as const) {
        const extra = (phases[phase] ?? []).filter(l => !entry[phase].includes(l));
        if (extra.length) phases[phase] = extra;
        else delete phases[phase];
        entry[phase] = [...new Set([...entry[phase], ...extra])].sort((a, b) => a - b);
      }
      if (!phases.install && !phases.import) delete entry.platformOnly![platform];
    }
    if (entry.platformOnly && !Object.keys(entry.platformOnly).length) delete entry.platformOnly;
  }
}

export interface IPythonResult {
  status: string;
  steps: { platform: string; phase: string; exit: number | null; tail: string }[];
  missing: string[];
  mismatched: string[];
  installed: Record<string, { path: string; sha256: string }[]>;
  coverage: Record<string, Record<string, { lines: number[]; sha256: string }>>;
  imports: Record<
    string,
    { modules: number; failed: { module: string; error: string }[]; complete: boolean }
  >;
  stubbed: string[];
  skipped?: string[];
}

export interface INpmResult {
  status: string;
  steps: { platform: string; phase: string; exit: number | null; tail: string }[];
  installed: Record<string, { path: string }[]>;
  imports: IPythonResult['imports'];
  stubbed: string[];
  packageName?: string;
}

export interface IKindRun {
  events: IEvent[];
  /** Own-code build failure (a finding), when the sandbox did not cause it. */
  buildFailure?: string;
  /** The build stopped at its native part (nativeToolchainCause): observed up to there. */
  partial?: string;
}

export function topLevels(target: string): Set<string> {
  const names = new Set<string>();
  for (const dir of [target, path.join(target, 'src')]) {
    try {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        names.add(e.name.replace(/\.py$/, ''));
      }
    } catch {
      // no such folder
    }
  }
  return names;
}

export function straceArgs(strace: string, trace: string): string[] {
  return [
    strace,
    '-f',
    '-qq',
    // Stop only at the traced calls (not at every system call): several times faster.
    '--seccomp-bpf',
    // Report clone()'s child ids as host pids (the sandbox has its own
    // pid namespace), so threads map to the process that made them.
    '--pidns-translation',
    '-s',
    '256',
    '-o',
    trace,
    '-e',
    STRACE_CALLS
  ];
}

export async function makeHome(home: string): Promise<void> {
  for (const [rel, content] of Object.entries(BAIT)) {
    await mkdir(path.dirname(path.join(home, rel)), { recursive: true });
    await writeFile(path.join(home, rel), content, { mode: 0o600 });
  }
}

export function secondsLeft(ctx: IRunContext): number {
  return Math.max(10, Math.floor((ctx.deadline - Date.now()) / 1000) - 15);
}

/** The lines of a failed build that say why (pip's and npm's own boilerplate left out). */
export function failureSummary(tail: string): string {
  const lines = tail
    .split('\n')
    .map(l => l.replace(/^[\s│╰─>×║]+/u, '').trim())
    .filter(
      l =>
        l &&
        !/^(note|hint):|^See above|^error: (subprocess-exited-with-error|metadata-generation-failed)|^exit code:|^\[end of output\]|^Getting requirements|^Preparing metadata|^(Processing|Building wheel|Failed to build|ERROR: Failed)|^npm (ERR|error) (A complete log|code|path|command|workdir)/.test(
          l
        )
    );
  const why = lines.filter(l => /\b\w*(Error|Exception)\b|^error\b|ERR!|npm error/i.test(l));
  return (why.length ? why.slice(-2) : lines.slice(-2)).join(' ');
}
