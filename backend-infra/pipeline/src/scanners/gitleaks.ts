/**
 * Secrets: gitleaks (v8.30.0, go install, pinned by scripts/install-scanners.sh)
 * on the checked-out tree (`gitleaks dir`), always with `--redact` (without
 * it the SARIF snippet is the secret itself); RepoGuard masks any long token
 * left in a snippet again before storing the log. No network is needed.
 *
 * Severity: a committed secret is `high`; confidence `high` for rules that
 * match a provider's key format (aws-access-token, github-pat, private-key,
 * …) and `low` for gitleaks' entropy-based `generic-api-key`.
 * Exit codes: 0 clean, 3 leaks (`--exit-code 3`), anything else an error.
 *
 * Pinned (a source cannot configure it): `--config scanner-config/gitleaks.toml`
 * (gitleaks' default rules; a global allowlist of media, fonts and documents
 * only; a source's `.gitleaks.toml` or `GITLEAKS_CONFIG` has no
 * effect), `--gitleaks-ignore-path` an empty pinned file (gitleaks still reads
 * `<target>/.gitleaksignore`, which the scan stage removes and reports),
 * `--ignore-gitleaks-allow` (a `gitleaks:allow` comment hides nothing; the
 * scan stage reports each one), no size limit (`--max-target-megabytes 0`)
 * and archives opened 3 levels deep. The files its allowlist skips are
 * listed as not scanned.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { annotate, listFiles, pinnedFile, SCANNER_CONFIG_DIR } from './pinned';
import { maskSecrets } from './sarif';

const LOW_CONFIDENCE = new Set(['generic-api-key']);

/** The global path allowlist of scanner-config/gitleaks.toml, as JavaScript (kept in step with it). */
export const GITLEAKS_SKIPPED: { pattern: RegExp; reason: string }[] = [
  { pattern: /\.(?:bmp|gif|jpe?g|png|svg|tiff?|ico|webp)$/i, reason: 'image (pinned allowlist)' },
  { pattern: /\.(?:eot|[ot]tf|woff2?)$/i, reason: 'font (pinned allowlist)' },
  { pattern: /\.(?:docx?|xlsx?|pptx?|pdf)$/i, reason: 'document (pinned allowlist)' }
];

export function gitleaks(): IScannerSpec {
  return {
    name: 'gitleaks',
    category: 'secret',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('gitleaks');
      const out = path.join(ctx.outDir, 'gitleaks.raw.sarif');
      const config = await pinnedFile('gitleaks.toml');
      const ignore = await pinnedFile('gitleaks.ignore');
      const exit = await ctx.exec(
        file,
        [
          'dir',
          ctx.target,
          '--config',
          config.file,
          '--gitleaks-ignore-path',
          ignore.file,
          '--ignore-gitleaks-allow',
          '--max-target-megabytes',
          '0',
          '--max-archive-depth',
          '3',
          '--report-format',
          'sarif',
          '--report-path',
          out,
          '--redact',
          '--no-banner',
          '--no-color',
          '--log-level',
          'error',
          '--exit-code',
          '3'
        ],
        { sandbox: { readOnly: [SCANNER_CONFIG_DIR] }, cwd: SCANNER_CONFIG_DIR }
      );
      if (exit.code !== 0 && exit.code !== 3) {
        throw new ScannerFailure(
          'crashed',
          `failed (exit ${exit.code ?? 'signal'}): ${exit.stderr.trim().slice(-300)}`,
          exit.code
        );
      }
      const log = JSON.parse(await readFile(out, 'utf8')) as Log;
      for (const run of log.runs ?? []) {
        // gitleaks lists its ~200 rules in every log: keep only the ones that fired.
        const fired = new Set((run.results ?? []).map(r => r.ruleId));
        run.tool.driver.rules = (run.tool.driver.rules ?? []).filter(r => fired.has(r.id));
        for (const result of run.results ?? []) {
          for (const loc of result.locations ?? []) {
            const region = loc.physicalLocation?.region;
            if (region?.snippet?.text !== undefined) {
              region.snippet.text = maskSecrets(region.snippet.text);
            }
          }
          result.properties = {
            ...(result.properties ?? {}),
            'repoguard-severity': 'high',
            confidence: LOW_CONFIDENCE.has(result.ruleId ?? '') ? 'low' : 'high',
            category: 'secret',
            phase: 'unknown'
          };
        }
      }
      const notScanned = (await listFiles(ctx.target)).flatMap(f => {
        const skip = GITLEAKS_SKIPPED.find(s => s.pattern.test(f.rel));
        return skip ? [{ path: f.rel, reason: skip.reason }] : [];
      });
      // Media, fonts and documents (binary formats gitleaks cannot read anyway)
      // are listed in the report, not findings.
      return annotate(log, 'gitleaks', 'secret', [config, ignore], notScanned, {
        findings: false
      });
    }
  };
}
