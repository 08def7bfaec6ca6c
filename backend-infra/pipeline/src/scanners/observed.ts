/**
 * Observed phases: what the dynamic scanner saw run, applied to the static
 * findings of every scanner (after all of them finished).
 *
 * The dynamic scanner writes `observed.json` beside its SARIF: per file of
 * the scanned tree (path relative to it), whether the package installs it,
 * the lines that ran at install (the build backend, setup.py, npm lifecycle
 * scripts) and at import (every installed module imported, npm: every .js
 * file loaded), the lines that ran only under an emulated platform, the
 * platforms tried, and the modules that failed to import and why.
 *
 * A static finding's `phase` then comes from it, with `observed: true`:
 * - its line ran at install → `install`; at import → `import`;
 * - in an installed module, not run → `call` (only when the import of that
 *   module completed; else the heuristic phase, `observed: false`);
 * - in a file the package does not install (tests, docs, CI, scripts) that
 *   did not run at install → `not-installed`;
 * - a line that did not run in a file that did run at install (setup.py) →
 *   `install`, `observed: false` (install-time code, not reached here).
 * Without an observation (no dynamic run, not a Python/npm package, a file
 * type that is not executed: manifests, .ts, text), the heuristic phase
 * (phase.ts) stays, with `observed: false`. Findings of the dynamic scanner
 * itself are observations (`observed: true`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { FindingPhase, IFinding, IScannerRun } from '../types';

export type Ecosystem = 'python' | 'npm';

export interface IObservedFile {
  /** The package installs this file (a module of the wheel, a file of the npm tarball). */
  installed: boolean;
  /** Lines that ran at install, on any platform tried. */
  install: number[];
  /** Lines that ran when the installed modules were imported, on any platform tried. */
  import: number[];
  /** Lines that ran only under an emulated platform: platform → phase → lines. */
  platformOnly?: Record<string, { install?: number[]; import?: number[] }>;
  /** The import of this module raised or ended the process: later lines did not get the chance to run. */
  importError?: string;
}

export interface IObservation {
  version: 1;
  /** The ecosystems whose install and import were observed completely. */
  ecosystems: Ecosystem[];
  /** The platforms tried (`linux`, and the emulated `win32`, `darwin`). */
  platforms: string[];
  files: Record<string, IObservedFile>;
  importFailures: { ecosystem: Ecosystem; platform: string; module: string; error: string }[];
  /** Third-party modules replaced by stubs at import (dependencies are not installed). */
  stubbed: string[];
  notes: string[];
}

export const OBSERVED_FILE = 'observed.json';
/** Where the dynamic scanner's SARIF carries the observation (until the scan stage moves it out). */
export const OBSERVATION_PROPERTY = 'repoguard/observation';

/** The dynamic scanner's log with its observation attached (its scratch folder does not outlive it). */
export function withObservation(log: Log, observation: IObservation): Log {
  log.runs[0].properties = {
    ...(log.runs[0].properties ?? {}),
    [OBSERVATION_PROPERTY]: observation
  };
  return log;
}

export function emptyObservation(): IObservation {
  return {
    version: 1,
    ecosystems: [],
    platforms: [],
    files: {},
    importFailures: [],
    stubbed: [],
    notes: []
  };
}

const EXTENSIONS: Record<Ecosystem, Set<string>> = {
  python: new Set(['.py', '.pyw']),
  npm: new Set(['.js', '.cjs', '.mjs'])
};

function ecosystemOf(file: string): Ecosystem | null {
  const ext = path.extname(file).toLowerCase();
  if (EXTENSIONS.python.has(ext)) return 'python';
  if (EXTENSIONS.npm.has(ext)) return 'npm';
  return null;
}

/** The observed phase of one finding, or null when the observation does not say. */
export function observedPhase(
  finding: Pick<IFinding, 'path' | 'line'>,
  observation: IObservation
): FindingPhase | null {
  const ecosystem = ecosystemOf(finding.path);
  if (!ecosystem || !observation.ecosystems.includes(ecosystem)) return null;
  const entry = observation.files[path.normalize(finding.path)];
  if (!entry) return 'not-installed';
  const ranAtInstall = entry.install.length > 0;
  if (finding.line === undefined) {
    if (ranAtInstall) return 'install';
    if (entry.import.length > 0) return 'import';
    return entry.installed ? (entry.importError ? null : 'call') : 'not-installed';
  }
  if (entry.install.includes(finding.line)) return 'install';
  if (entry.import.includes(finding.line)) return 'import';
  if (ranAtInstall && !entry.installed) return null; // install-time code not reached
  if (!entry.installed) return 'not-installed';
  return entry.importError ? null : 'call';
}

/** The platform a finding's line ran on only (an emulated one), if any. */
function onlyOn(finding: IFinding, observation: IObservation): string | undefined {
  const entry = observation.files[path.normalize(finding.path)];
  if (!entry?.platformOnly || finding.line === undefined) return undefined;
  for (const [platform, phases] of Object.entries(entry.platformOnly)) {
    if (phases.install?.includes(finding.line) || phases.import?.includes(finding.line)) {
      return platform;
    }
  }
  return undefined;
}

/** Set `phase` and `observed` on findings from an observation (null: none was made). */
export function applyObservation(
  findings: IFinding[],
  observation: IObservation | null
): IFinding[] {
  return findings.map(f => {
    if (f.category === 'dynamic') return { ...f, observed: true };
    let phase = observation ? observedPhase(f, observation) : null;
    if (!phase) return { ...f, observed: false };
    // Not run in an installed module, and in its `if __name__ == "__main__":`
    // block (phase.ts): it runs only when the module is run as a script.
    if (phase === 'call' && f.phase === 'not-installed') phase = 'not-installed';
    const platform = observation ? onlyOn(f, observation) : undefined;
    return { ...f, phase, observed: true, ...(platform ? { platform } : {}) };
  });
}

function validObservation(data: unknown): IObservation | null {
  const o = data as IObservation | undefined;
  return o && o.version === 1 && typeof o.files === 'object' && Array.isArray(o.ecosystems)
    ? o
    : null;
}

/** Read an observation file; null when absent or unreadable (then nothing was observed). */
export async function readObservation(file: string): Promise<IObservation | null> {
  try {
    return validObservation(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return null;
  }
}

/**
 * After all scanners finished: the dynamic run's observation moved out of
 * its SARIF into `observed.json` beside it, and applied to every run's
 * findings. A dynamic run that did not complete observed nothing (and fails
 * the request closed by itself); the heuristic phases then stay.
 */
export async function applyObservedPhases(runs: IScannerRun[]): Promise<IObservation | null> {
  const dynamicRun = runs.find(r => r.name === 'dynamic' && r.status === 'ok' && r.sarifFile);
  let observation: IObservation | null = null;
  if (dynamicRun?.sarifFile) {
    try {
      const log = JSON.parse(await readFile(dynamicRun.sarifFile, 'utf8')) as Log;
      const props = log.runs?.[0]?.properties;
      observation = validObservation(props?.[OBSERVATION_PROPERTY]);
      if (props && OBSERVATION_PROPERTY in props) {
        delete props[OBSERVATION_PROPERTY];
        await writeFile(dynamicRun.sarifFile, JSON.stringify(log));
      }
      if (observation) {
        await writeFile(
          path.join(path.dirname(dynamicRun.sarifFile), OBSERVED_FILE),
          JSON.stringify(observation, null, 1)
        );
      }
    } catch {
      observation = null;
    }
  }
  for (const run of runs) {
    run.findings = applyObservation(run.findings, observation);
  }
  return observation;
}
