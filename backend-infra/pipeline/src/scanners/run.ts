/**
 * Running scanners: all enabled scanners of a request in parallel, each with
 * its own time limit, in its own process group (killed whole on timeout).
 * Fail closed: an unknown or missing scanner, a crash, an unexpected exit
 * code, a missing or unreadable SARIF file, or a timeout is a failed run.
 *
 * Isolation between scanners: each scanner gets a fresh private output
 * folder of its own (`ctx.outDir`, a new temporary folder), the only place
 * its sandbox can write, and no sandbox sees another scanner's folder, the
 * request's output folder (`IScanOptions.outDir`) or anything else of the
 * workspace; the scanned tree is bound read-only. Outputs are read only
 * once the sandbox process has exited (its pid namespace, and so every
 * process it started, is gone), after any link, fifo or socket it left in
 * its folder is removed; the scanner's SARIF is then written to
 * `outDir/<name>.sarif` by this process and the private folder removed.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Log } from 'sarif';
import {
  SANDBOX_HOME,
  bwrapArgs,
  findBwrap,
  removeNewSpecialEntries,
  specialEntries
} from '../sandbox';
import type { ISandboxOptions } from '../sandbox';
import type { IScannerRun, ScannerStatus } from '../types';
import { IScannerSpec } from './registry';
import { locate } from './phase';
import { findingsFromSarif } from './sarif';

export interface IScanOptions {
  target: string;
  /**
   * Folder for each scanner's SARIF output (`<name>.sarif`), written here
   * after the scanner's sandbox is gone; never bound into a sandbox by
   * `runScanner` (a `runContext` built directly binds it writable).
   */
  outDir: string;
  timeoutMs: number;
  /** Look executables up here only (else on PATH). */
  binDir?: string;
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable path of `bin`, or null when it is not installed. */
export async function findExecutable(bin: string, binDir?: string): Promise<string | null> {
  const dirs = binDir ? [binDir] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, bin);
    if (await executable(candidate)) {
      return candidate;
    }
  }
  return null;
}

/** A finding's path relative to the scanned tree (`calc.py`, not `/tmp/…/calc.py`). */
function relativePath(target: string, file: string): string {
  const absolute = path.isAbsolute(file) ? file : path.resolve(target, file);
  const relative = path.relative(target, absolute);
  return relative.startsWith('..') ? file : relative;
}

export interface IExit {
  code: number | null;
  timedOut: boolean;
  stderr: string;
  stdout: string;
}

function runProcess(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number
): Promise<IExit> {
  return new Promise(resolve => {
    const child = spawn(file, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let stderr = '';
    let stdout = '';
    let timedOut = false;
    child.stderr?.on('data', chunk => {
      if (stderr.length < 8192) stderr += String(chunk);
    });
    child.stdout?.on('data', chunk => {
      if (stdout.length < 32 * 1024 * 1024) stdout += String(chunk);
    });
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      },
      Math.max(1, timeoutMs)
    );
    child.on('error', error => {
      clearTimeout(timer);
      resolve({ code: null, timedOut, stderr: error.message, stdout });
    });
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code, timedOut, stderr, stdout });
    });
  });
}

/** A scanner run that did not complete: thrown by adapters, reported as that status. */
export class ScannerFailure extends Error {
  constructor(
    readonly status: Exclude<ScannerStatus, 'ok'>,
    message: string,
    readonly exitCode?: number | null
  ) {
    super(message);
  }
}

/** What an adapter's own `run` gets: where to read and write, and a sandboxed exec. */
export interface IRunContext {
  target: string;
  /** This scanner's own output folder (private to it under `runScanner`): its only writable place. */
  outDir: string;
  binDir?: string;
  /** Epoch ms by which the scanner must be done. */
  deadline: number;
  /** Look an executable up (bin dir or PATH); throws a `missing` failure. */
  which(bin: string): Promise<string>;
  /**
   * Run `file args` inside the network-less sandbox (`sandbox` adds binds;
   * the target is visible read-only and `outDir` writable unless `isolated`;
   * `file`'s own toolchain is bound read-only, see `toolchainPaths`), with a
   * minimal environment plus `env`; `prefix` runs outside the sandbox in
   * front of bwrap (e.g. strace). Resolves once the sandbox has exited, with
   * every link, fifo or socket it left in `outDir` or `sandbox.writable`
   * removed (folders bound with `bindAs` are not cleaned: read nothing back
   * from them). Throws a `timeout` failure past the deadline.
   */
  exec(
    file: string,
    args: string[],
    options?: {
      env?: NodeJS.ProcessEnv;
      sandbox?: ISandboxOptions;
      prefix?: string[];
      cwd?: string;
      isolated?: boolean;
    }
  ): Promise<IExit>;
}

/** Build the run context of one scanner run (also used by tests of single adapters). */
export function runContext(options: IScanOptions, bwrap: string, deadline: number): IRunContext {
  return {
    target: options.target,
    outDir: options.outDir,
    binDir: options.binDir,
    deadline,
    async which(bin) {
      const file = await findExecutable(bin, options.binDir);
      if (!file) {
        throw new ScannerFailure(
          'missing',
          `${bin} is not installed${options.binDir ? ` in ${options.binDir}` : ' (not on PATH)'}`
        );
      }
      return file;
    },
    async exec(file, args, extra = {}) {
      const sandbox = extra.sandbox ?? {};
      const env: NodeJS.ProcessEnv = {
        PATH: [path.dirname(file), process.env.PATH ?? ''].join(path.delimiter),
        LANG: process.env.LANG ?? 'C.UTF-8',
        TMPDIR: '/tmp',
        ...extra.env,
        HOME: SANDBOX_HOME
      };
      // `isolated`: only the binds the caller names (the target and the output folder stay out of reach).
      const writable = [...(extra.isolated ? [] : [options.outDir]), ...(sandbox.writable ?? [])];
      const wrapped = [
        ...bwrapArgs({
          ...sandbox,
          // The tool's own install (e.g. .tools/venvs/checkov and its base
          // Python for a linked .tools/bin/checkov), wherever it lives.
          tools: [file, ...(sandbox.tools ?? [])],
          readOnly: [...(extra.isolated ? [] : [options.target]), ...(sandbox.readOnly ?? [])],
          writable
        }),
        file,
        ...args
      ];
      const before = await Promise.all(writable.map(dir => specialEntries(dir)));
      const [head, ...rest] = extra.prefix
        ? [...extra.prefix, bwrap, ...wrapped]
        : [bwrap, ...wrapped];
      const exit = await runProcess(
        head,
        rest,
        env,
        extra.cwd ?? options.target,
        deadline - Date.now()
      );
      // The sandbox is gone: nothing it left may make reading its outputs follow a link or block.
      await Promise.all(writable.map((dir, i) => removeNewSpecialEntries(dir, before[i])));
      if (exit.timedOut) {
        throw new ScannerFailure(
          'timeout',
          `timed out after ${Math.round(options.timeoutMs / 1000)}s`,
          exit.code
        );
      }
      return exit;
    }
  };
}

/** The one-command scanners (semgrep, bandit, …): run, check the exit code, read the output. */
async function runCommandSpec(
  spec: IScannerSpec,
  ctx: IRunContext,
  outputPath: string
): Promise<Log> {
  const file = await ctx.which(spec.bin!);
  const exit = await ctx.exec(file, spec.args!(ctx.target, outputPath), {
    env: spec.env,
    sandbox: { readOnly: spec.readOnly }
  });
  if (exit.code === null || !(spec.okExitCodes ?? [0]).includes(exit.code)) {
    const detail = exit.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
    throw new ScannerFailure(
      'crashed',
      `failed (exit ${exit.code ?? 'signal'})${detail ? `: ${detail}` : ''}`,
      exit.code
    );
  }
  let text: string;
  try {
    text = await readFile(outputPath, 'utf8');
  } catch (error) {
    throw new ScannerFailure(
      'crashed',
      `wrote no readable SARIF (${error instanceof Error ? error.message : String(error)})`,
      exit.code
    );
  }
  try {
    return spec.toSarif ? spec.toSarif(text) : (JSON.parse(text) as Log);
  } catch (error) {
    throw new ScannerFailure(
      'crashed',
      `wrote no readable SARIF (${error instanceof Error ? error.message : String(error)})`,
      exit.code
    );
  }
}

export async function runScanner(spec: IScannerSpec, options: IScanOptions): Promise<IScannerRun> {
  const t0 = Date.now();
  const sarifPath = path.join(options.outDir, `${spec.name}.sarif`);
  const done = (partial: Omit<IScannerRun, 'name' | 'durationMs'>): IScannerRun => ({
    name: spec.name,
    durationMs: Date.now() - t0,
    ...partial
  });
  const bwrap = await findBwrap();
  if (!bwrap) {
    return done({
      status: 'missing',
      message: `${spec.name}: bubblewrap (bwrap) is not installed; scanners run only in its sandbox`,
      findings: []
    });
  }
  // This scanner's own output folder: no other scanner's sandbox ever sees it.
  const privateOut = await mkdtemp(path.join(tmpdir(), `rg-out-${spec.name}-`));
  const ctx = runContext({ ...options, outDir: privateOut }, bwrap, t0 + options.timeoutMs);
  let log: Log;
  try {
    const outputPath = path.join(privateOut, `${spec.name}.${spec.outputExtension ?? 'sarif'}`);
    log = spec.run ? await spec.run(ctx) : await runCommandSpec(spec, ctx, outputPath);
    if (log.version !== '2.1.0' || !Array.isArray(log.runs)) {
      throw new ScannerFailure('crashed', 'wrote no readable SARIF (not a SARIF 2.1.0 log)');
    }
    await writeFile(sarifPath, JSON.stringify(log));
  } catch (error) {
    if (error instanceof ScannerFailure) {
      return done({
        status: error.status,
        exitCode: error.exitCode,
        message: error.status === 'missing' ? error.message : `${spec.name} ${error.message}`,
        findings: []
      });
    }
    return done({
      status: 'crashed',
      message:
        `${spec.name} failed: ${error instanceof Error ? error.message : String(error)}`.slice(
          0,
          400
        ),
      findings: []
    });
  } finally {
    await rm(privateOut, { recursive: true, force: true });
  }
  const findings = findingsFromSarif(spec.name, log, spec.ruleId, spec.category).map(f => ({
    ...f,
    path: relativePath(options.target, f.path)
  }));
  return done({
    status: 'ok',
    sarifFile: sarifPath,
    findings: await locate(options.target, findings)
  });
}

/** Run the named scanners in parallel; an unknown name is a failed ("missing") run. */
export async function runScanners(
  names: readonly string[],
  known: Map<string, IScannerSpec>,
  options: IScanOptions
): Promise<IScannerRun[]> {
  return Promise.all(
    names.map(name => {
      const spec = known.get(name);
      if (!spec) {
        return Promise.resolve<IScannerRun>({
          name,
          status: 'missing',
          durationMs: 0,
          message: `unknown scanner ${name}`,
          findings: []
        });
      }
      return runScanner(spec, options);
    })
  );
}
