/**
 * Build requirements the sandbox does not carry, fetched before the sandbox
 * starts, so that a package needing Cython, numpy or a newer setuptools-scm to
 * build is observed instead of ending as `error`.
 *
 * The sandbox Python carries the common build backends (scripts/install-sandbox-python.sh).
 * For anything else `[build-system] requires` names:
 * 1. `NEEDS` (run by the sandbox Python, outside the sandbox, isolated mode):
 *    reads pyproject.toml with tomllib (a parser: no package code runs),
 *    evaluates markers and lists the requirements that are absent or whose
 *    carried version does not match. Direct URL references are refused (they
 *    could point anywhere; the index is the only source).
 * 2. `pip install --only-binary=:all: --target DIR` of those, from the index pip
 *    is configured with: wheels only, so nothing is built and no code of theirs
 *    runs here (a wheel install copies files). The folder is cached per
 *    requirement set (`REPOGUARD_CACHE`, else ~/.cache/repoguard).
 *    `REPOGUARD_FETCH_BUILD_REQUIREMENTS=0` turns this off (no fetch: `missing`).
 * 3. The folder is bound read-only into the sandbox and put on the harness's
 *    path after its own site folder (dynamic-install.ts); the build, offline,
 *    then runs them under trace like the package's own install-time code.
 * When the index cannot be reached or has no wheel, the run stays `missing`
 * (fail closed) and says which requirement and why.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the fetched requirements appear inside the sandbox. */
export const BUILD_REQS_DIR = '/tmp/rg-build-requirements';

/** At most this many requirements are fetched for one package. */
const MAX_REQUIREMENTS = 25;

const NEEDS = String.raw`
import json, os, sys, tomllib
from importlib import metadata
from packaging.requirements import Requirement

pkg = sys.argv[1]
out = {"need": [], "refused": [], "requires": None}
path = os.path.join(pkg, "pyproject.toml")
if os.path.isfile(path) and os.path.getsize(path) < 1_000_000:
    try:
        with open(path, "rb") as f:
            out["requires"] = (tomllib.load(f).get("build-system") or {}).get("requires")
    except Exception as e:
        out["error"] = "pyproject.toml: %s" % e
for text in out["requires"] or []:
    try:
        req = Requirement(str(text))
    except Exception:
        out["refused"].append("%s (not a valid requirement)" % text)
        continue
    if req.url:
        out["refused"].append("%s (a direct URL: build requirements come from the index only)" % req.name)
        continue
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        version = metadata.version(req.name)
        if not req.specifier or req.specifier.contains(version, prereleases=True):
            continue
    except metadata.PackageNotFoundError:
        pass
    out["need"].append(str(req))
print(json.dumps(out))
`;

export interface IBuildRequirements {
  /** The folder holding them (host path), when some were needed and fetched. */
  dir?: string;
  /** The requirements fetched (or found in the cache). */
  fetched: string[];
  /** Why some could not be supplied (the build then fails closed on them). */
  problem?: string;
}

/** The cache folder of fetched build requirements. */
function cacheRoot(): string {
  return path.join(
    process.env.REPOGUARD_CACHE || path.join(homedir(), '.cache', 'repoguard'),
    'build-requirements'
  );
}

/**
 * Fetch (or reuse) the build requirements of the source at `pkg` that the
 * sandbox Python at `python` lacks. Never throws: a problem is returned.
 */
export async function supplyBuildRequirements(
  python: string,
  pkg: string,
  timeoutMs: number
): Promise<IBuildRequirements> {
  if (process.env.REPOGUARD_FETCH_BUILD_REQUIREMENTS === '0') return { fetched: [] };
  let needs: { need: string[]; refused: string[]; error?: string };
  try {
    const { stdout } = await run(python, ['-I', '-c', NEEDS, pkg], {
      timeout: 30_000,
      maxBuffer: 1 << 20,
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }
    });
    needs = JSON.parse(stdout) as typeof needs;
  } catch (error) {
    return { fetched: [], problem: `reading the build requirements failed: ${String(error)}` };
  }
  if (needs.error || needs.refused.length > 0) {
    return { fetched: [], problem: needs.error ?? `refused: ${needs.refused.join('; ')}` };
  }
  const need = [...new Set(needs.need)].sort();
  if (need.length === 0) return { fetched: [] };
  if (need.length > MAX_REQUIREMENTS) {
    return {
      fetched: [],
      problem: `${need.length} build requirements (more than ${MAX_REQUIREMENTS})`
    };
  }
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        python: path.resolve(python),
        need,
        index: process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX ?? ''
      })
    )
    .digest('hex')
    .slice(0, 32);
  const dir = path.join(cacheRoot(), key);
  // REPOGUARD_BUILD_REQUIREMENTS_INDEX: this index only, pip's configuration ignored (the tests' loopback index).
  const index = process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX;
  if (existsSync(path.join(dir, '.complete'))) return { dir, fetched: need };
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await run(
      python,
      [
        '-I',
        '-m',
        'pip',
        'install',
        '--only-binary=:all:',
        '--no-compile',
        '--no-warn-script-location',
        '--disable-pip-version-check',
        '--no-input',
        '--quiet',
        ...(index ? ['--isolated', '--index-url', index] : []),
        '--target',
        partial,
        '--',
        ...need
      ],
      {
        timeout: Math.round(Math.max(10_000, timeoutMs)),
        maxBuffer: 8 << 20,
        // pip's own configuration (index URL, proxy, certificates) stays; nothing else of the host.
        env: Object.fromEntries(
          Object.entries(process.env).filter(
            ([k]) =>
              /^(PIP_|HTTPS?_PROXY$|NO_PROXY$|SSL_CERT_|REQUESTS_CA_BUNDLE$)/i.test(k) ||
              ['PATH', 'HOME', 'LANG', 'XDG_CONFIG_HOME'].includes(k)
          )
        )
      }
    );
    await writeFile(path.join(partial, '.complete'), `${need.join('\n')}\n`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    await rename(partial, dir);
    return { dir, fetched: need };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    const stderr = String((error as { stderr?: string }).stderr ?? error)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ')
      .slice(0, 300);
    return { fetched: [], problem: `fetching ${need.join(', ')} from the index failed: ${stderr}` };
  }
}
