/**
 * Pinned scanner configuration and coverage accounting.
 *
 * A scanned source must not configure its own scanners. Every scanner runs
 * with a configuration owned by the pipeline (`backend-infra/pipeline/scanner-config/`,
 * passed explicitly: `--config`, `--config-file`, an empty ignore file), never
 * from the scanned tree, its parents, the working directory or a home folder.
 * A file a scanner did not scan (too large, skipped by a pinned allowlist,
 * unparsable) is a finding of that scanner (`repoguard.not-scanned`), and the
 * report lists, per scanner, its pinned configuration (name and sha256) and
 * what it did not scan. Both travel in the scanner's SARIF run as
 * `properties["repoguard-config"]` and `properties["repoguard-not-scanned"]`.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import type { FindingCategory } from '../types';
import { PIPELINE_DIR } from '../fsutil';
import { makeResult } from './sarif';

/** The pinned configuration files (dist/backend-infra/pipeline/src/scanners → backend-infra/pipeline/scanner-config). */
export const SCANNER_CONFIG_DIR = path.join(PIPELINE_DIR, 'scanner-config');

export interface IPinnedConfig {
  /** What it is (a file name of scanner-config/, or a described built-in setting). */
  name: string;
  /** sha256 of the file's content (of the argv for built-in settings). */
  sha256: string;
}

export interface INotScanned {
  path: string;
  reason: string;
  /** Set by the adapter when it knows better than the file type (a partial parse of valid code). */
  severity?: 'low' | 'medium';
}

/** A pinned configuration file of scanner-config/, with its hash (read once). */
const hashes = new Map<string, string>();
export async function pinnedFile(
  name: string,
  dir: string = SCANNER_CONFIG_DIR
): Promise<IPinnedConfig & { file: string }> {
  const file = path.join(dir, name);
  let sha256 = hashes.get(file);
  if (!sha256) {
    sha256 = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    hashes.set(file, sha256);
  }
  return { name, sha256, file };
}

/** A built-in setting (flags only) described by its arguments. */
export function pinnedArgs(name: string, args: string[]): IPinnedConfig {
  return { name, sha256: createHash('sha256').update(args.join('\0')).digest('hex') };
}

/** Source code a malicious package could hide in: a skip of one of these is medium, not low. */
const CODE_FILE = /\.(py|pyw|pth|pyx|js|cjs|mjs|ts|cts|mts|jsx|tsx|sh)$/i;

/** Rule id of a "file not scanned" finding. */
export const NOT_SCANNED_RULE = 'repoguard.not-scanned';

/**
 * The finding of a file a scanner did not scan: low, or medium for a code
 * file (analysis incomplete where code runs). Never silent.
 */
export function notScannedResult(
  scanner: string,
  item: INotScanned,
  category: FindingCategory
): Result {
  const code = CODE_FILE.test(item.path);
  return makeResult({
    ruleId: NOT_SCANNED_RULE,
    message: `${scanner} did not scan this file: ${item.reason}`.slice(0, 400),
    uri: item.path,
    severity: item.severity ?? (code ? 'medium' : 'low'),
    confidence: 'high',
    category,
    phase: 'unknown',
    extra: { 'repoguard-coverage': true }
  });
}

/**
 * Record the pinned configuration and the files not scanned on a scanner's
 * log (its first run), adding one `repoguard.not-scanned` result per file
 * (unless `findings: false`: skips by a documented file type, listed only).
 */
export function annotate(
  log: Log,
  scanner: string,
  category: FindingCategory,
  config: IPinnedConfig[],
  notScanned: INotScanned[] = [],
  options: { findings?: boolean } = {}
): Log {
  const run = log.runs?.[0];
  if (!run) return log;
  run.properties = {
    ...(run.properties ?? {}),
    'repoguard-config': config,
    'repoguard-not-scanned': notScanned
  };
  if (notScanned.length > 0 && options.findings !== false) {
    run.results = [
      ...(run.results ?? []),
      ...notScanned.map(n => notScannedResult(scanner, n, category))
    ];
    const rules = run.tool.driver.rules ?? [];
    if (!rules.some(r => r.id === NOT_SCANNED_RULE)) {
      run.tool.driver.rules = [
        ...rules,
        {
          id: NOT_SCANNED_RULE,
          name: 'file not scanned',
          shortDescription: { text: 'not scanned' }
        }
      ];
    }
  }
  return log;
}

/** What `annotate` recorded on a log (all runs). */
export function coverageOf(log: Log): { config: IPinnedConfig[]; notScanned: INotScanned[] } {
  const config: IPinnedConfig[] = [];
  const notScanned: INotScanned[] = [];
  for (const run of log.runs ?? []) {
    const props = (run.properties ?? {}) as Record<string, unknown>;
    if (Array.isArray(props['repoguard-config'])) {
      config.push(...(props['repoguard-config'] as IPinnedConfig[]));
    }
    if (Array.isArray(props['repoguard-not-scanned'])) {
      notScanned.push(...(props['repoguard-not-scanned'] as INotScanned[]));
    }
  }
  return { config, notScanned };
}

export interface ISourceFile {
  /** Path relative to the scanned tree, `/`-separated. */
  rel: string;
  size: number;
}

/** Every regular file of the tree (not `.git/`), with its size. */
export async function listFiles(target: string): Promise<ISourceFile[]> {
  const files: ISourceFile[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (rel !== '.git') await walk(path.join(dir, e.name), rel);
      } else if (e.isFile()) {
        // A name that is not UTF-8 does not survive the round trip: size unknown (-1).
        const size = await stat(path.join(dir, e.name)).then(
          s => s.size,
          () => -1
        );
        files.push({ rel, size });
      }
    }
  };
  await walk(target, '');
  return files;
}
