/**
 * The npm half of the dynamic scanner: the harness that runs inside the
 * install sandbox (written to the scratch folder at scan time), and the
 * reading of Node's own coverage (`NODE_V8_COVERAGE`) into executed lines.
 *
 * - `driver.js`: `npm pack --ignore-scripts` of the source copy (a user
 *   installs the packed tarball from the registry: `prepare`/`prepublish` do
 *   not run for them), then per platform `npm install <tarball>` into a
 *   scratch prefix (offline, scripts enabled: `preinstall`/`install`/
 *   `postinstall` run), then `importer.js`, which imports the package main
 *   and every `.js`/`.cjs`/`.mjs` file it ships (not its `node_modules`),
 *   restarted past a module that exits the process; it waits a moment so
 *   that what a module started (a request) happens under the trace.
 * - `platform.js` (a `--require` preload through NODE_OPTIONS): with
 *   `REPOGUARD_EMULATE=win32|darwin`, `process.platform`, `os.platform()`,
 *   `os.type()` and `os.release()` report that platform, in every node
 *   process but npm's own (npm would then run scripts through `cmd.exe`).
 * - A bare `require()` of a module that is not installed (a dependency: each
 *   is a request of its own) returns a permissive stub.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MARK_DIR, WORK } from './dynamic-python';

export const NODE_SITE = '/tmp/rg-site';

export const PLATFORM_JS = String.raw`
'use strict';
const plat = process.env.REPOGUARD_EMULATE;
const npmSelf = /npm-cli\.js$|[\\/]npm$|[\\/]npx-cli\.js$/.test(process.argv[1] || '');
if ((plat === 'win32' || plat === 'darwin') && !npmSelf) {
  const os = require('os');
  const fake = plat === 'win32'
    ? { platform: 'win32', type: 'Windows_NT', release: '10.0.19045' }
    : { platform: 'darwin', type: 'Darwin', release: '23.4.0' };
  Object.defineProperty(process, 'platform', { value: fake.platform, configurable: true, enumerable: true });
  os.platform = () => fake.platform;
  os.type = () => fake.type;
  os.release = () => fake.release;
}
`;

export const NODE_IMPORTER = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');
const { pathToFileURL } = require('url');
const [root, listFile, progress] = process.argv.slice(2);
const stubbed = new Set();
const stub = () => {
  const f = function () { return p; };
  const p = new Proxy(f, {
    get: (t, k) => (k === Symbol.toPrimitive ? () => '' : k === 'then' ? undefined : k === '__esModule' ? false : p),
    apply: () => p,
    construct: () => p
  });
  return p;
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    return load.apply(this, arguments);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && !request.startsWith('.') && !path.isAbsolute(request)) {
      stubbed.add(request.split('/').slice(0, request.startsWith('@') ? 2 : 1).join('/'));
      return stub();
    }
    throw e;
  }
};
const note = entry => fs.appendFileSync(progress, JSON.stringify(entry) + '\n');
const done = new Set();
try {
  for (const line of fs.readFileSync(progress, 'utf8').split('\n')) {
    if (line) done.add(JSON.parse(line).module);
  }
} catch {}
process.on('uncaughtException', e => note({ module: '', error: 'uncaught: ' + String(e && e.message).slice(0, 300) }));
process.on('unhandledRejection', e => note({ module: '', error: 'unhandled: ' + String(e && e.message).slice(0, 300) }));
(async () => {
  for (const rel of JSON.parse(fs.readFileSync(listFile, 'utf8'))) {
    if (done.has(rel)) continue;
    note({ module: rel, start: true });
    let error = null;
    try {
      await import(pathToFileURL(path.join(root, rel)).href);
    } catch (e) {
      error = (String(e && e.name) + ': ' + String(e && e.message)).slice(0, 300);
    }
    note({ module: rel, error });
  }
  note({ module: '', stubbed: [...stubbed], done: true });
  setTimeout(() => process.exit(0), 700);
})();
`;

export const NODE_DRIVER = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const PKG = '/tmp/pkg';
const WORK = '${WORK}';
const SITE = __dirname;
const [platforms, seconds, npmCli] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
const result = { status: 'ok', steps: [], installed: {}, imports: {}, stubbed: [] };
const save = () => fs.writeFileSync(WORK + '/result.json', JSON.stringify(result));
const mark = name => { try { fs.closeSync(fs.openSync('${MARK_DIR}/' + name, 'r')); } catch {} };
const left = () => deadline - Date.now();
const tail = s => String(s || '').trim().split('\n').slice(-40).join('\n').slice(-6000);
const run = (args, env, cwd, timeout) => {
  const p = spawnSync(process.execPath, [npmCli, ...args], { cwd, env, encoding: 'utf8', timeout: Math.max(1000, timeout), maxBuffer: 64 << 20 });
  return { code: p.status, timedOut: !!(p.error && p.error.code === 'ETIMEDOUT'), tail: tail((p.stdout || '') + '\n' + (p.stderr || '')) };
};
const walk = (dir, rel = '') => {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules') out.push(...walk(dir, r)); }
    else if (/\.(c|m)?js$/.test(e.name)) out.push(r);
  }
  return out;
};
fs.mkdirSync(WORK + '/pack', { recursive: true });
mark('install-linux');
const pack = run(['pack', '--ignore-scripts', '--json', '--pack-destination', WORK + '/pack'], process.env, PKG, left() - 2000);
const tarballs = fs.readdirSync(WORK + '/pack').filter(f => f.endsWith('.tgz'));
if (pack.code !== 0 || !tarballs.length) {
  result.status = pack.timedOut ? 'timeout' : 'build-failed';
  result.steps.push({ platform: 'linux', phase: 'pack', exit: pack.code, tail: pack.tail });
  save();
  process.exit(0);
}
const tarball = path.join(WORK, 'pack', tarballs[0]);
const name = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')).name;
for (const plat of platforms.split(',')) {
  if (left() < 5000 && plat !== 'linux') continue;
  const out = path.join(WORK, plat, 'out');
  fs.mkdirSync(out, { recursive: true });
  const pkgDir = path.join(out, 'node_modules', name);
  const env = { ...process.env };
  if (plat !== 'linux') {
    env.REPOGUARD_EMULATE = plat;
    env.NODE_OPTIONS = '--require ' + SITE + '/platform.js';
  }
  mark('install-' + plat);
  const install = run(['install', tarball, '--prefix', out, '--offline', '--ignore-scripts=false', '--no-audit', '--no-fund', '--no-package-lock', '--no-save', '--foreground-scripts'],
    { ...env, NODE_V8_COVERAGE: WORK + '/cov/install-' + plat }, out, left() - 2000);
  result.steps.push({ platform: plat, phase: 'install', exit: install.code, timedOut: install.timedOut, tail: install.tail });
  if (install.code !== 0 || !fs.existsSync(pkgDir)) {
    if (plat === 'linux') { result.status = install.timedOut ? 'timeout' : 'build-failed'; break; }
    continue;
  }
  mark('import-' + plat);
  const files = walk(pkgDir).sort();
  let main = 'index.js';
  try { main = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).main || main; } catch {}
  main = path.normalize(main);
  if (!/\.(c|m)?js$/.test(main) && fs.existsSync(path.join(pkgDir, main + '.js'))) main += '.js';
  const list = [...new Set([...(files.includes(main) ? [main] : []), ...files])];
  result.installed[plat] = files.map(p => ({ path: p }));
  const listFile = path.join(WORK, plat, 'modules.json');
  const progress = path.join(WORK, plat, 'progress.jsonl');
  fs.writeFileSync(listFile, JSON.stringify(list));
  fs.writeFileSync(progress, '');
  let finished = false;
  for (let i = 0; i < 20 && left() > 2000; i++) {
    const p = spawnSync(process.execPath, [SITE + '/importer.js', pkgDir, listFile, progress],
      { cwd: pkgDir, env: { ...env, NODE_V8_COVERAGE: WORK + '/cov/import-' + plat }, encoding: 'utf8', timeout: left() - 1000, maxBuffer: 64 << 20 });
    const entries = fs.readFileSync(progress, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
    if (entries.length && entries[entries.length - 1].done) { finished = true; break; }
    const started = entries.filter(e => e.start).map(e => e.module);
    const ended = new Set(entries.filter(e => 'error' in e && !e.start).map(e => e.module));
    const last = started[started.length - 1];
    if (!last || ended.has(last)) break;
    fs.appendFileSync(progress, JSON.stringify({ module: last, error: p.error ? 'timed out' : 'the process exited (' + p.status + ') while importing it' }) + '\n');
  }
  const entries = fs.readFileSync(progress, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
  result.imports[plat] = { modules: list.length, complete: finished, failed: entries.filter(e => e.error).map(e => ({ module: e.module, error: e.error })) };
  for (const e of entries) if (e.stubbed) result.stubbed.push(...e.stubbed);
}
result.stubbed = [...new Set(result.stubbed)].sort();
result.packageName = name;
mark('report-linux');
save();
`;

interface IV8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}

interface IV8Coverage {
  result?: { url: string; functions: { ranges: IV8Range[] }[] }[];
}

/**
 * Lines that ran, from V8 block coverage of one script: a line ran when the
 * innermost range holding its first non-blank character has a count above
 * zero (a function never called is a zero range over its body).
 */
export function linesFromRanges(source: string, ranges: IV8Range[]): number[] {
  const counts = new Int32Array(source.length + 1).fill(-1);
  // Outer ranges first, inner ones overwrite: each offset ends with its innermost count.
  const sorted = [...ranges].sort(
    (a, b) => b.endOffset - b.startOffset - (a.endOffset - a.startOffset)
  );
  for (const r of sorted) {
    counts.fill(r.count, Math.max(0, r.startOffset), Math.min(source.length, r.endOffset));
  }
  const lines: number[] = [];
  let offset = 0;
  source.split('\n').forEach((text, i) => {
    const first = text.search(/\S/);
    if (first >= 0 && counts[offset + first] > 0) lines.push(i + 1);
    offset += text.length + 1;
  });
  return lines;
}

/**
 * The executed lines per file under `root` (a host path), from a
 * NODE_V8_COVERAGE folder written inside the sandbox where `root` was
 * `insideRoot`. Keys are relative to the root.
 */
export async function readV8Coverage(
  dir: string,
  insideRoot: string,
  root: string
): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  let names: string[];
  try {
    names = (await readdir(dir)).filter(n => n.endsWith('.json'));
  } catch {
    return out;
  }
  const prefix = `file://${insideRoot.replace(/\/$/, '')}/`;
  for (const name of names) {
    let data: IV8Coverage;
    try {
      data = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as IV8Coverage;
    } catch {
      continue;
    }
    for (const script of data.result ?? []) {
      if (!script.url.startsWith(prefix)) continue;
      const rel = decodeURIComponent(script.url.slice(prefix.length));
      if (rel.split('/').includes('node_modules') || rel.split('/').includes('..')) continue;
      let source: string;
      try {
        source = await readFile(path.join(root, rel), 'utf8');
      } catch {
        continue;
      }
      const lines = linesFromRanges(
        source,
        script.functions.flatMap(f => f.ranges)
      );
      const set = out.get(rel) ?? new Set<number>();
      for (const l of lines) set.add(l);
      out.set(rel, set);
    }
  }
  return out;
}
