/**
 * Scan: every enabled scanner on each cloned source, in parallel, each with
 * the configured time limit, each writing SARIF 2.1.0; the logs are merged
 * into one report log per request.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { IStageContext } from '../context';
import { undecided } from '../context';
import { writeAtomic } from '../fsutil';
import { IScannerSpec, SCANNER_CONTROL_FILES, knownScanners } from '../scanners/registry';
import { runScanners } from '../scanners/run';
import { mergeSarif } from '../scanners/sarif';
import type { IManifest } from '../types';

export interface IScanDeps {
  scanners?: Map<string, IScannerSpec>;
  /** Overrides config.scannerBinDir / env REPOGUARD_SCANNER_BIN_DIR. */
  binDir?: string;
  now?: () => Date;
}

/** Remove the files a source could use to configure (silence) a scanner. */
async function removeControlFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== '.git') {
      await removeControlFiles(full);
    } else if (SCANNER_CONTROL_FILES.includes(entry.name)) {
      await rm(full, { force: true, recursive: true });
    }
  }
}

export async function scan(ctx: IStageContext, deps: IScanDeps = {}): Promise<IManifest> {
  const known = deps.scanners ?? knownScanners();
  const binDir =
    deps.binDir ??
    process.env.REPOGUARD_SCANNER_BIN_DIR ??
    process.env.REPOGUARD_SCANNER_BIN ??
    ctx.config.scannerBinDir;
  const now = deps.now ?? (() => new Date());
  for (const item of undecided(ctx)) {
    if (!item.source || !item.key) {
      continue;
    }
    await ctx.progress.track('scan', item, async () => {
      const target = path.join(ctx.dir, item.source!);
      const outRel = path.join('scans', item.key!);
      const outDir = path.join(ctx.dir, outRel);
      await removeControlFiles(target);
      await writeAtomic(path.join(outDir, '.keep'), '');
      const runs = await runScanners(ctx.config.scanners, known, {
        target,
        outDir,
        timeoutMs: ctx.config.scanTimeoutSeconds * 1000,
        binDir
      });
      const logs: Log[] = [];
      for (const run of runs) {
        if (run.sarifFile) {
          logs.push(JSON.parse(await readFile(run.sarifFile, 'utf8')) as Log);
          run.sarifFile = path.relative(ctx.dir, run.sarifFile);
        }
      }
      item.sarifFile = path.join(outRel, 'merged.sarif');
      await writeAtomic(
        path.join(ctx.dir, item.sarifFile),
        JSON.stringify(mergeSarif(logs), null, 1)
      );
      item.scanners = runs;
      item.scannedAt = now().toISOString();
      // The SCA scan's advisory data (source, date): the report names it.
      item.advisoryData = logs
        .flatMap(l => l.runs ?? [])
        .map(r => r.properties?.advisoryData as typeof item.advisoryData)
        .find(Boolean);
      return runs
        .map(
          r => `${r.name} ${r.status} ${(r.durationMs / 1000).toFixed(1)}s (${r.findings.length})`
        )
        .join(', ');
    });
  }
  return ctx.manifest;
}
