/**
 * Dynamic: install the package as a user would and import what it installs,
 * inside the bubblewrap sandbox (no network: only its own loopback;
 * `--clearenv`; a minimal root; a throw-away home holding fake credential
 * files as bait), traced from outside with `strace -f` (the trace file is
 * outside the sandbox: the package cannot touch it), with line coverage.
 *
 * - Python (setup.py or pyproject.toml at the root): `pip wheel --no-deps
 *   --no-build-isolation --no-index` of a copy of the source with the build
 *   backends of the sandbox toolchain (`.tools/sandbox-python`, built by
 *   scripts/install-sandbox-python.sh: setuptools, wheel, hatchling,
 *   flit-core, pdm-backend, poetry-core, scikit-build-core, meson-python,
 *   maturin, coverage), `pip install` of that wheel into a target, then an
 *   import of every module it installed; coverage.py measures the install
 *   and the import phase apart (see dynamic-python.ts).
 * - npm (package.json at the root): `npm pack`, then `npm install` of the
 *   tarball into a scratch prefix (offline, scripts enabled, the
 *   dependencies removed from the copy's package.json: each is a request of
 *   its own), then every .js file it ships is loaded; NODE_V8_COVERAGE gives
 *   the executed ranges (see dynamic-npm.ts).
 * - Each of these runs on linux, then as if on Windows (`win32`) and macOS
 *   (`darwin`): the package's code sees that platform's `sys.platform`,
 *   `os.name`, `platform.system()` / `process.platform`, so platform-gated
 *   payloads show themselves; their events name the platform.
 *
 * Reported: the behaviour rules of dynamic-trace.ts (phase `install` or
 * `import`, `extra.platform`), and `dynamic/build-failed` (medium): the
 * package's own build or install failed (its setup.py raised, a lifecycle
 * script exited non-zero, its pyproject.toml is not TOML): its install-time
 * code did not run to the end, so the observation is partial, and the package
 * does not install as delivered; InfoSec can waive it. An install that failed
 * because of the sandbox (a build backend or build requirement it does not
 * carry, a missing compiler or tool, npm needing the registry) is no
 * finding: the run fails (`missing`/`crashed`), so the decision is `error`.
 * All output that reaches the report is redacted and capped (`scrub`).
 *
 * The observation (`observed.json`, beside the SARIF; see observed.ts) gives
 * every static finding its phase once all scanners are done.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import { runNpm, runPython } from './dynamic-install';
import { PLATFORMS, failureSummary, settle } from './dynamic-observe';
import type { IEvent } from './dynamic-trace';
import { scrub } from './dynamic-trace';
import { emptyObservation, withObservation } from './observed';
import type { Ecosystem } from './observed';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { makeLog, makeResult } from './sarif';

export { parseTrace, scrub } from './dynamic-trace';
export { nativeToolchainCause, PLATFORMS, sandboxCause, sandboxPython } from './dynamic-observe';

export interface IDynamicOptions {
  /** Platforms to try (default: linux, win32, darwin). */
  platforms?: string[];
}

export function dynamic(options: IDynamicOptions = {}): IScannerSpec {
  const platforms = options.platforms ?? PLATFORMS;
  return {
    name: 'dynamic',
    category: 'dynamic',
    async run(ctx: IRunContext): Promise<Log> {
      const isPython =
        existsSync(path.join(ctx.target, 'setup.py')) ||
        existsSync(path.join(ctx.target, 'pyproject.toml'));
      const isNpm = existsSync(path.join(ctx.target, 'package.json'));
      const results: Result[] = [];
      const observation = emptyObservation();
      observation.platforms = platforms;
      if (!isPython && !isNpm) {
        return withObservation(makeLog({ name: 'RepoGuard dynamic' }, results), observation);
      }
      const strace = await ctx.which('strace').catch(async () => {
        if (existsSync('/usr/bin/strace')) return '/usr/bin/strace';
        throw new ScannerFailure('missing', 'dynamic: strace is not installed');
      });
      const scratch = await mkdtemp(path.join(tmpdir(), 'rg-dynamic-'));
      try {
        const kinds: Ecosystem[] = [
          ...(isPython ? (['python'] as const) : []),
          ...(isNpm ? (['npm'] as const) : [])
        ];
        for (const kind of kinds) {
          const work = path.join(scratch, kind);
          await mkdir(work, { recursive: true });
          const entry =
            kind === 'npm'
              ? 'package.json'
              : existsSync(path.join(ctx.target, 'setup.py'))
                ? 'setup.py'
                : 'pyproject.toml';
          const outcome =
            kind === 'python'
              ? await runPython(ctx, work, strace, observation, platforms)
              : await runNpm(ctx, work, strace, observation, platforms);
          // One result per event; an event seen on several platforms names the first.
          const seen = new Map<string, IEvent>();
          for (const e of outcome.events) {
            const key = `${e.rule} ${e.phase} ${e.snippet}`;
            if (!seen.has(key)) seen.set(key, e);
          }
          for (const e of seen.values()) {
            const emulated = e.platform !== 'linux';
            results.push(
              makeResult({
                ruleId: e.rule,
                message: emulated ? `${e.message} (as ${e.platform})` : e.message,
                uri: path.join(ctx.target, entry),
                severity: e.severity,
                confidence: 'high',
                category: 'dynamic',
                phase: e.phase,
                snippet: e.snippet,
                extra: { installer: kind, platform: e.platform }
              })
            );
          }
          if (outcome.partial !== undefined) {
            results.push(
              makeResult({
                ruleId: 'dynamic/partial-observation',
                message: `${kind} install observed only until its native build stopped: ${outcome.partial}. Its install-time code ran under trace up to there; the compiled part and the import phase were not observed (the static scanners' findings keep their structural phase).`,
                uri: path.join(ctx.target, entry),
                severity: 'low',
                confidence: 'high',
                category: 'dynamic',
                phase: 'install',
                extra: { installer: kind, coverage: 'partial' }
              })
            );
          }
          if (outcome.buildFailure !== undefined) {
            const last = failureSummary(outcome.buildFailure);
            results.push(
              makeResult({
                ruleId: 'dynamic/build-failed',
                message: scrub(`${kind} build/install of the package failed: ${last}`, 400),
                uri: path.join(ctx.target, entry),
                severity: 'medium',
                confidence: 'high',
                category: 'dynamic',
                phase: 'install',
                snippet: scrub(last, 240),
                extra: { installer: kind }
              })
            );
          }
        }
      } finally {
        // REPOGUARD_DYNAMIC_KEEP=1 keeps the scratch folder (trace, harness result) to debug.
        if (process.env.REPOGUARD_DYNAMIC_KEEP !== '1') {
          await rm(scratch, { recursive: true, force: true });
        }
      }
      settle(observation);
      observation.stubbed = [...new Set(observation.stubbed)].sort();
      return withObservation(
        makeLog({ name: 'RepoGuard dynamic (bubblewrap + strace)' }, results),
        observation
      );
    }
  };
}
