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
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { maskSecrets } from './sarif';

const LOW_CONFIDENCE = new Set(['generic-api-key']);

export function gitleaks(): IScannerSpec {
  return {
    name: 'gitleaks',
    category: 'secret',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('gitleaks');
      const out = path.join(ctx.outDir, 'gitleaks.raw.sarif');
      const exit = await ctx.exec(file, [
        'dir',
        ctx.target,
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
      ]);
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
      return log;
    }
  };
}
