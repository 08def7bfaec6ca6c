/** Shared helpers of the pipeline tests: real workspaces, real git, real packages. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IRequestRow, REQUEST_COLUMNS, REQUESTS_FILE, parseResults } from '../../../src/common';
import { GitLedger } from '../src/ledger';
import { IWorkspaceConfig, Workspace } from '../src/workspace';

/**
 * Put the repo's scanner folders on PATH, as scripts/test.sh does:
 * `.tools/bin` (scripts/install-scanners.sh), then `.venv/bin`.
 */
export function useVenvScanners(): void {
  const root = path.resolve(__dirname, '..', '..', '..', '..', '..');
  for (const dir of [path.join(root, '.venv', 'bin'), path.join(root, '.tools', 'bin')]) {
    if (existsSync(dir) && !(process.env.PATH ?? '').split(':').includes(dir)) {
      process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
    }
  }
}

// The tests choose their scanners (real ones on PATH, or stand-ins through
// the workspace's scannerBinDir): an inherited override would change that.
delete process.env.REPOGUARD_SCANNER_BIN_DIR;
delete process.env.REPOGUARD_SCANNER_BIN;

// No test reaches a public package index: build requirements the sandbox lacks are
// fetched from a loopback index a test starts, else from nowhere (port 9: refused).
process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX ??= 'http://127.0.0.1:9/simple/';

/** Temporary folders of this test process, removed when it exits. */
const temporaries: string[] = [];
process.once('exit', () => {
  for (const dir of temporaries) {
    rmSync(dir, { recursive: true, force: true });
  }
});

export async function tempDir(prefix = 'rg-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  temporaries.push(dir);
  return dir;
}

export async function makeWorkspace(overrides: Partial<IWorkspaceConfig> = {}): Promise<Workspace> {
  const ws = new Workspace(path.join(await tempDir('rg-ws-'), 'ws'));
  await ws.init();
  const config = JSON.parse(await readFile(ws.configFile, 'utf8')) as IWorkspaceConfig;
  await writeFile(
    ws.configFile,
    JSON.stringify(
      {
        ...config,
        allowedHosts: ['github.com', 'evil.invalid'],
        scanTimeoutSeconds: 120,
        ...overrides
      },
      null,
      2
    )
  );
  return ws;
}

const GIT_ID = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1'
};

export function gitSync(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ID }, encoding: 'utf8' });
}

/** A real git repo with `files`, one commit on main (+ optional tag); returns its file:// URL and sha. */
export async function makeRepo(
  dir: string,
  files: Record<string, string>,
  tag?: string
): Promise<{ url: string; sha: string }> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  gitSync(dir, 'init', '--quiet', '--initial-branch=main');
  gitSync(dir, 'add', '-A');
  gitSync(dir, 'commit', '--quiet', '-m', 'initial');
  if (tag) {
    gitSync(dir, 'tag', tag);
  }
  return { url: `file://${dir}`, sha: gitSync(dir, 'rev-parse', 'HEAD').trim() };
}

/** A small, clean, real Python package (src layout, pyproject with dependencies). */
export function cleanPackageFiles(name: string): Record<string, string> {
  return {
    'pyproject.toml': `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "${name}"
version = "0.1.0"
description = "A tiny statistics helper"
requires-python = ">=3.9"
dependencies = [
    "requests>=2.31",
    "numpy>=1.24,<3",
    "importlib-metadata>=6; python_version < '3.10'",
]
`,
    'README.md': `# ${name}\n\nMean and median.\n`,
    [`src/${name.replace(/-/g, '_')}/__init__.py`]: `"""Small statistics helpers."""\n\nfrom .stats import mean, median\n\n__all__ = ["mean", "median"]\n`,
    [`src/${name.replace(/-/g, '_')}/stats.py`]: `"""Mean and median of a list of numbers."""\n\n\ndef mean(values):\n    values = list(values)\n    if not values:\n        raise ValueError("mean of an empty list")\n    return sum(values) / len(values)\n\n\ndef median(values):\n    ordered = sorted(values)\n    if not ordered:\n        raise ValueError("median of an empty list")\n    middle = len(ordered) // 2\n    if len(ordered) % 2:\n        return ordered[middle]\n    return (ordered[middle - 1] + ordered[middle]) / 2\n`
  };
}

/**
 * A package with a medium-severity finding that counts under the default
 * policy: eval of the environment when the module is imported (bandit B307
 * MEDIUM/HIGH confidence, import phase). An eval inside a function only runs
 * when called and counts two levels lower (src/policy).
 */
export function mediumFindingFiles(name: string): Record<string, string> {
  return {
    'setup.py': `from setuptools import setup\n\nsetup(name="${name}", version="1.0", py_modules=["calc"], install_requires=["click>=8"])\n`,
    'calc.py': `"""A calculator that evaluates what it is given."""\nimport os\n\n# the expression comes from the environment\nRESULT = eval(os.environ.get("CALC_EXPR", "0"))\n`
  };
}

export function requestRow(overrides: Partial<IRequestRow>): IRequestRow {
  return {
    request_id: 'req-1',
    package_name: 'pkg',
    repo_url: 'https://github.com/o/r',
    ref: '',
    requester_email: 'ds@example.com',
    justification: 'needed for a model',
    requested_at: '2026-11-24T10:00:00Z',
    ...overrides
  };
}

export async function addRequests(ws: Workspace, rows: IRequestRow[]): Promise<void> {
  await GitLedger.local(ws.requestRepo).append(
    REQUESTS_FILE,
    REQUEST_COLUMNS,
    rows as unknown as Record<string, string>[]
  );
}

export async function results(ws: Workspace) {
  const snapshot = await GitLedger.local(ws.requestRepo).read();
  return parseResults(snapshot.results).rows.map(r => r.values);
}

/**
 * Fake scanner executables (node scripts) for tests of the orchestration and
 * of fail-closed behaviour: `ok` writes an empty SARIF log, `crash` exits 2,
 * `hang` sleeps past any test timeout, `sleep:N` takes N ms then writes its
 * report (SARIF; bandit's JSON for `bandit`), `nosarif` exits 0 writing nothing.
 */
export async function fakeScanners(
  behaviours: Record<string, 'ok' | 'crash' | 'hang' | 'nosarif' | `sleep:${number}`>
): Promise<string> {
  const dir = await tempDir('rg-fake-bin-');
  for (const [name, behaviour] of Object.entries(behaviours)) {
    const script = `#!/usr/bin/env node
const fs = require('fs');
const args = process.argv.slice(2);
let out = null;
let jsonOut = null;
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--sarif-output=')) out = args[i].slice('--sarif-output='.length);
  if (args[i].startsWith('--json-output=')) jsonOut = args[i].slice('--json-output='.length);
  if (args[i] === '-o') out = args[i + 1];
}
const behaviour = ${JSON.stringify(behaviour)};
const report = ${JSON.stringify(name)} === 'bandit'
  ? { errors: [], generated_at: '2026-11-24T00:00:00Z', metrics: {}, results: [] }
  : { version: '2.1.0', runs: [{ tool: { driver: { name: ${JSON.stringify(name)}, rules: [] } }, results: [] }] };
const write = () => {
  fs.writeFileSync(out, JSON.stringify(report));
  // semgrep's JSON beside its SARIF (skipped files, rule metadata)
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ results: [], errors: [], paths: { scanned: [], skipped: [] } }));
};
if (behaviour === 'crash') { process.stderr.write('boom: internal error\\n'); process.exit(2); }
if (behaviour === 'hang') { setTimeout(() => {}, 1e9); }
else if (behaviour === 'nosarif') { process.exit(0); }
else if (behaviour.startsWith('sleep:')) { setTimeout(() => { write(); process.exit(0); }, Number(behaviour.slice(6))); }
else { write(); process.exit(0); }
`;
    const file = path.join(dir, name);
    await writeFile(file, script);
    await chmod(file, 0o755);
  }
  return dir;
}

/** Capture lines written by a runner. */
export function collector(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: line => lines.push(line) };
}

/** AWS-shaped credentials made at run time (tests never commit key-shaped strings). */
export function fakeAwsCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64')
  };
}

/** The stage CLI as a user runs it (backend-infra/pipeline/bin, on the compiled dist). */
export const PIPELINE_CLI = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'pipeline',
  'bin',
  'repoguard-pipeline.js'
);
