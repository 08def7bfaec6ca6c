/**
 * SCA: osv-scanner (v2.5.0, go install, pinned by scripts/install-scanners.sh)
 * over the tree's lock files and manifests (requirements*.txt, pyproject /
 * poetry / uv / Pipfile locks, package-lock.json, yarn/pnpm locks, …).
 *
 * Offline by default, against a local OSV database: the folder named by
 * `OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY`, else `.tools/osv-db` beside the
 * scanner's bin folder (scripts/install-scanners.sh makes it: the live database
 * when online, else the committed fixture, backend-infra/pipeline/advisories).
 * Its `SOURCE.json` (source, date, records, ecosystems; scripts/osv-db.py)
 * travels in the SARIF run's `properties.advisoryData`, and so into the report.
 * osv-scanner 2.5.0 ignores OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY, so the folder is
 * passed as `--local-db-path`; the folder may hold `osv-scalibr/<Ecosystem>/all.zip`
 * (2.5.0's layout), `osv-scanner/<Ecosystem>/all.zip` (older releases) or
 * `<Ecosystem>/all.zip`, linked into the layout 2.5.0 reads. With no database
 * the scan fails closed, unless `REPOGUARD_OSV_ONLINE=1` lets this one scanner
 * (which parses manifests and never runs the package's code) query osv.dev.
 *
 * Severity: the group's `max_severity` (the worst CVSS base score osv-scanner
 * computed from the advisories' vectors): ≥9 critical, ≥7 high, ≥4 medium,
 * else low; an advisory without a CVSS score counts as medium.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { IAdvisoryData } from '../types';
import type { IScannerSpec } from './registry';
import { annotate, pinnedFile, SCANNER_CONFIG_DIR } from './pinned';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { makeLog, makeResult, severityFromScore } from './sarif';

interface IOsvJson {
  results?: {
    source?: { path?: string };
    packages?: {
      package: { name: string; version?: string; ecosystem?: string };
      groups?: { ids?: string[]; aliases?: string[]; max_severity?: string }[];
      vulnerabilities?: {
        id: string;
        summary?: string;
        details?: string;
        affected?: { ranges?: { type?: string; events?: { fixed?: string }[] }[] }[];
      }[];
    }[];
  }[];
}

/** The OSV database folder (env, else `.tools/osv-db`), or null. */
export function osvDatabase(scannerFile: string): string | null {
  const fromEnv = process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
  if (fromEnv) {
    return path.resolve(fromEnv);
  }
  const beside = path.resolve(path.dirname(scannerFile), '..', 'osv-db');
  return existsSync(beside) ? beside : null;
}

/** The database's SOURCE.json (written by scripts/osv-db.py); an unnamed database says so. */
export async function advisoryData(db: string): Promise<IAdvisoryData> {
  try {
    const info = JSON.parse(await readFile(path.join(db, 'SOURCE.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    if (typeof info.source === 'string' && typeof info.date === 'string') {
      return {
        source: info.source,
        date: info.date,
        records: typeof info.records === 'number' ? info.records : undefined,
        ecosystems: Array.isArray(info.ecosystems) ? info.ecosystems.map(String) : undefined,
        kind: typeof info.kind === 'string' ? info.kind : 'unknown'
      };
    }
  } catch {
    // no (readable) SOURCE.json: a database made by hand
  }
  return { source: `local OSV database ${db} (no SOURCE.json)`, date: 'unknown', kind: 'unknown' };
}

/** `--local-db-path` folder in 2.5.0's layout, linking the given database in. */
async function dbLayout(db: string, scratch: string): Promise<string> {
  if (existsSync(path.join(db, 'osv-scalibr'))) {
    return db;
  }
  const linked = path.join(scratch, 'osv-local-db');
  await mkdir(linked, { recursive: true });
  const source = existsSync(path.join(db, 'osv-scanner')) ? path.join(db, 'osv-scanner') : db;
  if (!existsSync(path.join(linked, 'osv-scalibr'))) {
    await symlink(source, path.join(linked, 'osv-scalibr'));
  }
  return linked;
}

function withAdvisoryData(log: Log, data: IAdvisoryData): Log {
  for (const run of log.runs) {
    run.properties = { ...run.properties, advisoryData: data };
  }
  return log;
}

export function osvSeverity(maxSeverity: string | undefined): Severity {
  const score = Number(maxSeverity);
  return maxSeverity && Number.isFinite(score) && score > 0 ? severityFromScore(score) : 'medium';
}

async function lineOf(file: string, name: string): Promise<number | undefined> {
  try {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const needle = name.toLowerCase();
    const i = lines.findIndex(l => l.toLowerCase().includes(needle));
    return i >= 0 ? i + 1 : undefined;
  } catch {
    return undefined;
  }
}

export function osv(): IScannerSpec {
  return {
    name: 'osv',
    category: 'vulnerability',
    async run(ctx: IRunContext) {
      const file = await ctx.which('osv-scanner');
      const db = osvDatabase(file);
      const online = !db && process.env.REPOGUARD_OSV_ONLINE === '1';
      if (!db && !online) {
        throw new ScannerFailure(
          'missing',
          'osv: no OSV database (set OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY, or REPOGUARD_OSV_ONLINE=1 to query osv.dev)'
        );
      }
      const out = path.join(ctx.outDir, 'osv.json');
      // Pinned: a source's osv-scanner.toml (ignore = true, IgnoredVulns) has no
      // effect, and manifests a .gitignore lists are read too.
      const pinned = await pinnedFile('osv-scanner.toml');
      const args = ['scan', 'source', '-r', '--config', pinned.file, '--no-ignore'];
      args.push('--format', 'json', '--output-file', out);
      const readOnly: string[] = [SCANNER_CONFIG_DIR];
      const data: IAdvisoryData = db
        ? await advisoryData(db)
        : { source: 'osv.dev API (online)', date: new Date().toISOString(), kind: 'online' };
      if (db) {
        const layout = await dbLayout(db, ctx.outDir);
        args.push('--offline', '--offline-vulnerabilities', '--local-db-path', layout);
        readOnly.push(db, await realpath(db));
        const linked = path.join(layout, 'osv-scalibr');
        if (existsSync(linked)) readOnly.push(await realpath(linked));
      }
      args.push(ctx.target);
      const exit = await ctx.exec(file, args, {
        sandbox: { readOnlyData: readOnly, network: online }
      });
      // 0 clean, 1 vulnerabilities, 128 no packages found; 127 and others are errors.
      if (exit.code === 128) {
        return annotate(
          withAdvisoryData(makeLog({ name: 'osv-scanner' }, []), data),
          'osv',
          'vulnerability',
          [pinned]
        );
      }
      if (exit.code !== 0 && exit.code !== 1) {
        const detail = exit.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
        throw new ScannerFailure(
          'crashed',
          `failed (exit ${exit.code ?? 'signal'}): ${detail}`,
          exit.code
        );
      }
      const report = JSON.parse(await readFile(out, 'utf8')) as IOsvJson;
      const results: Result[] = [];
      for (const source of report.results ?? []) {
        const manifest = source.source?.path ?? '';
        for (const pkg of source.packages ?? []) {
          const { name, version = '', ecosystem = '' } = pkg.package;
          const line = manifest ? await lineOf(manifest, name) : undefined;
          for (const group of pkg.groups ?? []) {
            const ids = group.ids ?? [];
            const vulns = (pkg.vulnerabilities ?? []).filter(v => ids.includes(v.id));
            const fixed = [
              ...new Set(
                vulns.flatMap(v =>
                  (v.affected ?? []).flatMap(a =>
                    (a.ranges ?? [])
                      .filter(r => r.type === 'ECOSYSTEM')
                      .flatMap(r => (r.events ?? []).map(e => e.fixed).filter(Boolean))
                  )
                )
              )
            ] as string[];
            const cve = (group.aliases ?? []).find(a => a.startsWith('CVE-'));
            const summary =
              vulns.find(v => v.summary)?.summary ?? vulns[0]?.details?.split('\n')[0] ?? '';
            const severity = osvSeverity(group.max_severity);
            results.push(
              makeResult({
                ruleId: ids[0] ?? 'osv-vulnerability',
                message:
                  `${ecosystem} ${name} ${version}: ${[ids[0], cve].filter(Boolean).join(' / ')}` +
                  `${summary ? ` ${summary.slice(0, 200)}` : ''}` +
                  `${fixed.length ? ` (fixed in ${fixed.slice(0, 3).join(', ')})` : ''}` +
                  `${group.max_severity ? ` CVSS ${group.max_severity}` : ' (no CVSS score: counted as medium)'}`,
                uri: manifest,
                line,
                severity,
                confidence: 'high',
                phase: 'unknown',
                extra: {
                  package: name,
                  version,
                  ecosystem,
                  aliases: group.aliases ?? [],
                  cvss: group.max_severity ?? ''
                }
              })
            );
          }
        }
      }
      return annotate(
        withAdvisoryData(
          makeLog({ name: 'osv-scanner', informationUri: 'https://osv.dev' }, results),
          data
        ),
        'osv',
        'vulnerability',
        [pinned]
      );
    }
  };
}
