/**
 * Malicious-package heuristics: DataDog's GuardDog (3.2.0, in its own venv,
 * pinned by scripts/install-scanners.sh) on the source tree, with the PyPI
 * rule set when the tree holds Python (setup.py, pyproject.toml, *.py) and
 * the npm rule set when it holds a package.json; both when both.
 *
 * GuardDog tries to download lists of popular package names at start; in the
 * sandbox it has no network, so nothing leaves the machine (it then goes on
 * without them). `scan` writes JSON only, converted here to SARIF.
 *
 * Severity: a `threat-*` rule is high (medium confidence); when GuardDog ties
 * it to a capability in its `risks` list, the risk's own severity is used with
 * high confidence. A `capability-*` rule alone (reads files, opens sockets:
 * what most benign packages do) is low with low confidence. Any other rule
 * (metadata and older rule names) is medium, medium confidence.
 *
 * Fail closed: a rule in GuardDog's `errors` did not analyse the source, so
 * any error is a failed run (decision `error`), never a clean one.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import { SEVERITIES as ALL_SEVERITIES, type Severity } from '../../../../src/common';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { annotate, pinnedArgs } from './pinned';
import { makeLog, makeResult } from './sarif';

interface IGuardDogHit {
  location?: string;
  code?: string;
  message?: string;
}

interface IGuardDogJson {
  results?: Record<string, IGuardDogHit[] | Record<string, never> | string | null>;
  errors?: Record<string, string>;
  risks?: { threat_rule?: string; threat_location?: string; severity?: string; name?: string }[];
}

/** Which GuardDog ecosystems a tree calls for. */
export async function guarddogEcosystems(target: string): Promise<('pypi' | 'npm')[]> {
  const found = new Set<'pypi' | 'npm'>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 6 || found.size === 2) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (e.name !== '.git' && e.name !== 'node_modules')
          await walk(path.join(dir, e.name), depth + 1);
      } else if (e.name === 'package.json') {
        found.add('npm');
      } else if (/\.py$/.test(e.name) || e.name === 'pyproject.toml' || e.name === 'setup.cfg') {
        found.add('pypi');
      }
    }
  };
  await walk(target, 0);
  return (['pypi', 'npm'] as const).filter(e => found.has(e));
}

/** guarddog rates critical to low (never info). */
const SEVERITIES = new Set<string>(ALL_SEVERITIES.filter(s => s !== 'info'));

export function guarddogToResults(report: IGuardDogJson, ecosystem: string): Result[] {
  const results: Result[] = [];
  const risks = report.risks ?? [];
  for (const [rule, hits] of Object.entries(report.results ?? {})) {
    const list: IGuardDogHit[] = Array.isArray(hits)
      ? hits
      : typeof hits === 'string' && hits
        ? [{ message: hits }]
        : [];
    for (const hit of list) {
      const m = /^(.*):(\d+)$/.exec(hit.location ?? '');
      const uri = m ? m[1] : (hit.location ?? '');
      const line = m ? Number(m[2]) : undefined;
      let severity: Severity = 'medium';
      let confidence: 'high' | 'medium' | 'low' = 'medium';
      if (rule.startsWith('capability-')) {
        severity = 'low';
        confidence = 'low';
      } else if (rule.startsWith('threat-')) {
        severity = 'high';
        const risk = risks.find(r => r.threat_rule === rule && r.threat_location === hit.location);
        if (risk) {
          confidence = 'high';
          if (SEVERITIES.has(String(risk.severity))) severity = risk.severity as Severity;
        }
      }
      results.push(
        makeResult({
          ruleId: rule,
          message: `${hit.message ?? rule} (guarddog ${ecosystem})`.slice(0, 400),
          uri,
          line,
          severity,
          confidence,
          category: 'malicious',
          extra: { ecosystem }
        })
      );
    }
  }
  return results;
}

export function guarddog(): IScannerSpec {
  return {
    name: 'guarddog',
    category: 'malicious',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('guarddog');
      const results: Result[] = [];
      const argvs: string[] = [];
      for (const ecosystem of await guarddogEcosystems(ctx.target)) {
        const args = [ecosystem, 'scan', ctx.target, '--output-format', 'json'];
        let exit = await ctx.exec(file, args, { env: { NO_COLOR: '1' } });
        if (exit.code !== 0 && /landlock|sandbox/i.test(exit.stderr)) {
          // The kernel lacks Landlock: bubblewrap still confines it.
          exit = await ctx.exec(file, [...args, '--no-sandbox'], { env: { NO_COLOR: '1' } });
        }
        let report: IGuardDogJson;
        try {
          if (exit.code !== 0) throw new Error(`exit ${exit.code}`);
          report = JSON.parse(exit.stdout) as IGuardDogJson;
        } catch (error) {
          throw new ScannerFailure(
            'crashed',
            `${ecosystem} scan failed (${error instanceof Error ? error.message : String(error)}): ${exit.stderr.trim().slice(-300)}`,
            exit.code
          );
        }
        // A rule that failed did not look at the source (one file name that is
        // not UTF-8 fails every YARA rule): an incomplete analysis is a failed run.
        const failed = Object.entries(report.errors ?? {});
        if (failed.length > 0) {
          const [rule, why] = failed[0];
          throw new ScannerFailure(
            'crashed',
            `${ecosystem} scan incomplete: ${failed.length} rule(s) failed, e.g. ${rule}: ${String(why).slice(0, 200)}`,
            exit.code
          );
        }
        results.push(...guarddogToResults(report, ecosystem));
        argvs.push(args.slice(1).join(' '));
      }
      return annotate(
        makeLog(
          { name: 'GuardDog', informationUri: 'https://github.com/DataDog/guarddog' },
          results
        ),
        'guarddog',
        'malicious',
        [pinnedArgs('guarddog built-in rules (no configuration)', argvs)]
      );
    }
  };
}
