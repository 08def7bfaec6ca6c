/**
 * Running scanners: all enabled scanners of a request in parallel, each with
 * its own time limit, in its own process group (killed whole on timeout).
 * Fail closed: an unknown or missing scanner, a crash, an unexpected exit
 * code, a missing or unreadable SARIF file, or a timeout is a failed run.
 */
import { spawn } from 'node:child_process';
import { access, constants, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { IScannerRun } from '../types';
import { IScannerSpec } from './registry';
import { findingsFromSarif } from './sarif';

export interface IScanOptions {
  target: string;
  /** Folder for each scanner's SARIF output. */
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

interface IExit {
  code: number | null;
  timedOut: boolean;
  stderr: string;
}

function runProcess(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number
): Promise<IExit> {
  return new Promise(resolve => {
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr?.on('data', chunk => {
      if (stderr.length < 8192) stderr += String(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', error => {
      clearTimeout(timer);
      resolve({ code: null, timedOut, stderr: error.message });
    });
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code, timedOut, stderr });
    });
  });
}

export async function runScanner(spec: IScannerSpec, options: IScanOptions): Promise<IScannerRun> {
  const t0 = Date.now();
  const sarifPath = path.join(options.outDir, `${spec.name}.sarif`);
  const outputPath = path.join(options.outDir, `${spec.name}.${spec.outputExtension ?? 'sarif'}`);
  const done = (partial: Omit<IScannerRun, 'name' | 'durationMs'>): IScannerRun => ({
    name: spec.name,
    durationMs: Date.now() - t0,
    ...partial
  });
  const file = await findExecutable(spec.bin, options.binDir);
  if (!file) {
    return done({
      status: 'missing',
      message: `${spec.bin} is not installed${options.binDir ? ` in ${options.binDir}` : ' (not on PATH)'}`,
      findings: []
    });
  }
  const env: NodeJS.ProcessEnv = {
    PATH: [path.dirname(file), process.env.PATH ?? ''].join(path.delimiter),
    HOME: process.env.HOME ?? '/tmp',
    LANG: process.env.LANG ?? 'C.UTF-8',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    ...spec.env
  };
  const exit = await runProcess(file, spec.args(options.target, outputPath), env, options.target, options.timeoutMs);
  if (exit.timedOut) {
    return done({
      status: 'timeout',
      exitCode: exit.code,
      message: `${spec.name} timed out after ${Math.round(options.timeoutMs / 1000)}s`,
      findings: []
    });
  }
  if (exit.code === null || !spec.okExitCodes.includes(exit.code)) {
    const detail = exit.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
    return done({
      status: 'crashed',
      exitCode: exit.code,
      message: `${spec.name} failed (exit ${exit.code ?? 'signal'})${detail ? `: ${detail}` : ''}`,
      findings: []
    });
  }
  let log: Log;
  try {
    const text = await readFile(outputPath, 'utf8');
    log = spec.toSarif ? spec.toSarif(text) : (JSON.parse(text) as Log);
    if (log.version !== '2.1.0' || !Array.isArray(log.runs)) {
      throw new Error('not a SARIF 2.1.0 log');
    }
    if (spec.toSarif) {
      await writeFile(sarifPath, JSON.stringify(log));
    }
  } catch (error) {
    return done({
      status: 'crashed',
      exitCode: exit.code,
      message: `${spec.name} wrote no readable SARIF (${error instanceof Error ? error.message : String(error)})`,
      findings: []
    });
  }
  return done({
    status: 'ok',
    exitCode: exit.code,
    sarifFile: sarifPath,
    findings: findingsFromSarif(spec.name, log, spec.ruleId).map(f => ({
      ...f,
      path: relativePath(options.target, f.path)
    }))
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
