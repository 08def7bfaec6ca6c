/**
 * Dockerfile / IaC configuration: checkov (3.3.30, in its own venv, pinned by
 * scripts/install-scanners.sh) with the dockerfile, kubernetes, terraform,
 * cloudformation and github_actions frameworks, `--skip-download` (no
 * Bridgecrew platform calls; the sandbox has no network anyway) and
 * `--soft-fail`. Skipped checks (a source's own `checkov:skip` comments)
 * come back with `suppressions` and are not counted.
 *
 * Severity: checkov's open-source checks carry no severity (SARIF level
 * `error` for every failed check), so RepoGuard rates them: `medium` (medium
 * confidence) by default, `high` for an `ADD` of a remote URL, `low` for
 * hygiene checks (HEALTHCHECK, apt/yum cache flags, pinned tags).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';

const LOW = new Set([
  'CKV_DOCKER_2',
  'CKV_DOCKER_5',
  'CKV_DOCKER_7',
  'CKV_DOCKER_9',
  'CKV2_DOCKER_1',
  'CKV_K8S_43',
  'CKV_K8S_14'
]);

export function checkovSeverity(ruleId: string, snippet: string): Severity {
  if (ruleId === 'CKV_DOCKER_4' && /\bADD\s+(--\S+\s+)*(https?|ftp):\/\//i.test(snippet))
    return 'high';
  if (LOW.has(ruleId)) return 'low';
  return 'medium';
}

export function checkov(): IScannerSpec {
  return {
    name: 'checkov',
    category: 'config',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('checkov');
      const outDir = path.join(ctx.outDir, 'checkov');
      const exit = await ctx.exec(
        file,
        [
          '-d',
          ctx.target,
          '--framework',
          'dockerfile,kubernetes,terraform,cloudformation,github_actions',
          '-o',
          'sarif',
          '--output-file-path',
          outDir,
          '--soft-fail',
          '--skip-download',
          '--quiet',
          '--compact'
        ],
        { env: { BC_SKIP_MAPPING: 'TRUE', CHECKOV_NO_OUTPUT_CONSOLE: 'true', LOG_LEVEL: 'ERROR' } }
      );
      if (exit.code !== 0) {
        throw new ScannerFailure(
          'crashed',
          `failed (exit ${exit.code ?? 'signal'}): ${exit.stderr.trim().slice(-300)}`,
          exit.code
        );
      }
      let log: Log;
      try {
        log = JSON.parse(await readFile(path.join(outDir, 'results_sarif.sarif'), 'utf8')) as Log;
      } catch {
        // checkov writes no file when no framework found anything to check.
        return {
          version: '2.1.0',
          runs: [{ tool: { driver: { name: 'Checkov', rules: [] } }, results: [] }]
        };
      }
      for (const run of log.runs ?? []) {
        for (const result of run.results ?? []) {
          const region = result.locations?.[0]?.physicalLocation?.region;
          const uri = result.locations?.[0]?.physicalLocation?.artifactLocation;
          if (uri?.uri && !path.isAbsolute(uri.uri)) {
            // checkov writes paths relative to its working directory (the target).
            uri.uri = path.join(ctx.target, uri.uri.replace(/^\//, ''));
          }
          result.properties = {
            ...(result.properties ?? {}),
            'repoguard-severity': checkovSeverity(result.ruleId ?? '', region?.snippet?.text ?? ''),
            confidence: 'medium',
            category: 'config',
            phase: 'unknown'
          };
        }
      }
      return log;
    }
  };
}
