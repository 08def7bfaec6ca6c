/**
 * Scan: every enabled scanner on each cloned source, in parallel, each with
 * the configured time limit, each writing SARIF 2.1.0; the logs are merged
 * into one report log per request.
 *
 * Before the scanners run, `checkSource` removes the files a source could
 * use to configure its scanners and reports them, its inline suppression
 * markers and undecodable file names as the pseudo-scanner `repoguard-source`
 * (src/scanners/source.ts). After they ran, each run carries its pinned
 * configuration and the files it did not scan (src/scanners/pinned.ts) for
 * the report.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { IStageContext } from '../context';
import { undecided } from '../context';
import { writeAtomic } from '../fsutil';
import { coverageOf } from '../scanners/pinned';
import { IScannerSpec, knownScanners } from '../scanners/registry';
import { applyObservedPhases } from '../scanners/observed';
import { runScanners } from '../scanners/run';
import { makeLog, makeResult, mergeSarif } from '../scanners/sarif';
import { SOURCE_SCANNER, checkSource } from '../scanners/source';
import type { IManifest } from '../types';

export interface IScanDeps {
  scanners?: Map<string, IScannerSpec>;
  /** Overrides config.scannerBinDir / env REPOGUARD_SCANNER_BIN_DIR. */
  binDir?: string;
  now?: () => Date;
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
      const source = await checkSource(target);
      await writeAtomic(path.join(outDir, '.keep'), '');
      const runs = await runScanners(ctx.config.scanners, known, {
        target,
        outDir,
        timeoutMs: ctx.config.scanTimeoutSeconds * 1000,
        binDir
      });
      // What the dynamic scanner saw run sets each finding's phase (observed.json beside its SARIF).
      await applyObservedPhases(runs);
      const logs: Log[] = [];
      for (const run of runs) {
        if (run.sarifFile) {
          const log = JSON.parse(await readFile(run.sarifFile, 'utf8')) as Log;
          logs.push(log);
          run.sarifFile = path.relative(ctx.dir, run.sarifFile);
          const { config, notScanned } = coverageOf(log);
          if (config.length > 0) run.config = config;
          if (notScanned.length > 0) run.notScanned = notScanned;
        }
      }
      if (source.findings.length > 0) {
        runs.push(source);
        logs.push(
          makeLog(
            { name: SOURCE_SCANNER },
            source.findings.map(f =>
              makeResult({
                ruleId: f.ruleId,
                message: f.message,
                uri: f.path,
                line: f.line,
                severity: f.severity,
                confidence: 'high',
                category: f.category,
                phase: 'unknown'
              })
            )
          )
        );
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
