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
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { IAdvisoryData } from '../types';
import type { IScannerSpec } from './registry';
import { annotate, pinnedFile, SCANNER_CONFIG_DIR, type INotScanned } from './pinned';
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

/** The ecosystems osv-scanner reads lock files of (the names of OSV's database folders). */
const OSV_ECOSYSTEMS = [
  'PyPI',
  'npm',
  'crates.io',
  'Go',
  'Maven',
  'RubyGems',
  'Packagist',
  'NuGet',
  'Pub',
  'Hex',
  'CRAN'
];

/** A zip archive with no entries (its end-of-central-directory record alone). */
const EMPTY_ZIP = Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]);

/**
 * The `--local-db-path` folder, in 2.5.0's layout (osv-scalibr/<Ecosystem>/all.zip),
 * made in the scanner's scratch folder: each ecosystem the database carries linked
 * in, each other one an empty archive. osv-scanner stops matching altogether at the
 * first ecosystem it cannot load (so one Cargo.lock would hide every PyPI finding);
 * with the empty ones it matches what it has, and the adapter lists the lock files of
 * the missing ecosystems as not scanned. Returns the folder, the carried ecosystems
 * and the real paths the sandbox must bind.
 */
async function dbLayout(
  db: string,
  scratch: string
): Promise<{ layout: string; carried: string[]; binds: string[] }> {
  const source = ['osv-scalibr', 'osv-scanner']
    .map(sub => path.join(db, sub))
    .concat(db)
    .find(
      dir => existsSync(dir) && readdirSync(dir).some(e => existsSync(path.join(dir, e, 'all.zip')))
    );
  const layout = path.join(scratch, 'osv-local-db');
  const root = path.join(layout, 'osv-scalibr');
  const carried: string[] = [];
  const binds: string[] = [];
  for (const entry of source ? readdirSync(source) : []) {
    const zip = path.join(source!, entry, 'all.zip');
    if (!existsSync(zip)) continue;
    await mkdir(path.join(root, entry), { recursive: true });
    await symlink(zip, path.join(root, entry, 'all.zip'));
    binds.push(path.dirname(await realpath(zip)));
    carried.push(entry);
  }
  for (const ecosystem of OSV_ECOSYSTEMS.filter(e => !carried.includes(e))) {
    await mkdir(path.join(root, ecosystem), { recursive: true });
    await writeFile(path.join(root, ecosystem, 'all.zip'), EMPTY_ZIP);
  }
  return { layout, carried: carried.sort(), binds };
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
      let carried: string[] | undefined;
      if (db) {
        const layout = await dbLayout(db, ctx.outDir);
        args.push('--offline', '--offline-vulnerabilities', '--local-db-path', layout.layout);
        readOnly.push(db, await realpath(db), ...layout.binds);
        carried = layout.carried;
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
      // Ecosystems the database has no advisories for: their manifests are listed as not
      // scanned (a coverage gap in the report, low), never read as "no vulnerabilities".
      const gaps = advisoryGaps(exit.stderr, ctx.target, carried);
      const code = exit.code === 127 && gaps.onlyGaps ? 0 : exit.code;
      if (code !== 0 && code !== 1) {
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
        [pinned],
        gaps.notScanned
      );
    }
  };
}

/** The OSV ecosystem of a manifest or lock file osv-scanner reads, by its name. */
const MANIFEST_ECOSYSTEM: [RegExp, string][] = [
  [
    /(^|\/)(package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?)$/,
    'npm'
  ],
  [/(^|\/)Cargo\.(lock|toml)$/, 'crates.io'],
  [/(^|\/)go\.(mod|sum)$/, 'Go'],
  [
    /(^|\/)(pom\.xml|gradle\.lockfile|buildscript-gradle\.lockfile|[^/]*\.gradle(\.kts)?)$/,
    'Maven'
  ],
  [/(^|\/)Gemfile\.lock$/, 'RubyGems'],
  [/(^|\/)composer\.lock$/, 'Packagist'],
  [/(^|\/)(packages\.lock\.json|packages\.config|[^/]*\.csproj)$/, 'NuGet'],
  [/(^|\/)pubspec\.lock$/, 'Pub'],
  [/(^|\/)mix\.lock$/, 'Hex'],
  [/(^|\/)renv\.lock$/, 'CRAN']
];

/**
 * What osv-scanner's log says it could not check: `could not load db for X
 * ecosystem` per ecosystem without offline data, and the manifests it read
 * (`Scanned PATH file and found N package`); `carried`: the ecosystems the
 * database holds (SOURCE.json), when known. `onlyGaps`: every error line is
 * of that kind (exit 127 then means "some ecosystems unchecked", not a crash).
 */
export function advisoryGaps(
  stderr: string,
  target: string,
  carried?: string[]
): { ecosystems: string[]; notScanned: INotScanned[]; onlyGaps: boolean } {
  const ecosystems = new Set<string>();
  const manifests: string[] = [];
  let other = false;
  for (const line of stderr.split('\n')) {
    const missing = /could not load db for (.+?) ecosystem: .*no offline version/.exec(line);
    if (missing) {
      ecosystems.add(missing[1]);
      continue;
    }
    const scanned = /^Scanned (.+) file and found \d+ packages?/.exec(line);
    if (scanned) {
      manifests.push(path.relative(target, scanned[1]) || path.basename(scanned[1]));
      continue;
    }
    if (/no offline version of the OSV database is available/.test(line)) continue;
    if (/\b(error|fatal|panic)\b/i.test(line)) other = true;
  }
  // The ecosystems the database does not carry (their archives are empty) are gaps.
  if (carried) {
    for (const m of manifests) {
      const eco = MANIFEST_ECOSYSTEM.find(([pattern]) => pattern.test(m))?.[1];
      if (eco && !carried.includes(eco)) ecosystems.add(eco);
    }
  }
  const notScanned: INotScanned[] = [];
  for (const ecosystem of [...ecosystems].sort()) {
    const files = manifests.filter(m =>
      MANIFEST_ECOSYSTEM.some(([pattern, eco]) => eco === ecosystem && pattern.test(m))
    );
    for (const file of files.length ? files : ['.']) {
      notScanned.push({
        path: file,
        reason: `no ${ecosystem} advisory data in this deployment's OSV database, so its ${ecosystem} packages were not checked for known vulnerabilities (add ${ecosystem} to REPOGUARD_OSV_ECOSYSTEMS in scripts/install-scanners.sh)`
      });
    }
  }
  return {
    ecosystems: [...ecosystems].sort(),
    notScanned,
    onlyGaps: ecosystems.size > 0 && !other
  };
}
