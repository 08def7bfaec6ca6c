/**
 * The scanner sandbox, tested positively: what code run inside must not
 * reach is set up on the host first and checked from both sides.
 *
 * - a TCP listener on the host's 127.0.0.1 that must see no connection (from
 *   a probe and from a package's install script run by the dynamic scanner);
 * - canary files in the host home, in the workspace beside the scanned tree
 *   and in another request's clone, all outside /tmp, that must stay unread;
 * - a Unix socket on the host file system and an abstract one that must be
 *   unreachable;
 * - a scanner whose process overwrites every output it can find, run beside
 *   others (one of them real): their results stay intact, and no scanner
 *   can write the scanned tree (nor remount it writable);
 * - links and fifos left in a scanner's output folder are gone before it is read;
 * - a tool installed in a venv under /tmp, its data under /tmp (assembled
 *   from links), the tree and outputs under /tmp: it runs.
 *
 * Each probe is also run once with the access granted on purpose (network
 * on, the folder bound), which must then succeed: the probe itself works.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  stat,
  symlink,
  writeFile
} from 'node:fs/promises';
import net from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Log } from 'sarif';
import { findBwrap, toolchainPaths } from '../src/sandbox';
import type { ISandboxOptions } from '../src/sandbox';
import { dynamic } from '../src/scanners/dynamic';
import { gitleaks } from '../src/scanners/gitleaks';
import { bandit } from '../src/scanners/registry';
import type { IScannerSpec } from '../src/scanners/registry';
import { findExecutable, runContext, runScanner, runScanners } from '../src/scanners/run';
import type { IExit, IRunContext } from '../src/scanners/run';
import { makeLog, makeResult } from '../src/scanners/sarif';
import { tempDir, useVenvScanners } from './helpers';

useVenvScanners();

const REPO = path.resolve(__dirname, '..', '..', '..', '..', '..');

/**
 * A folder outside /tmp (the host home, else beside the checkout), removed at
 * exit: the sandbox's own /tmp would hide anything under the host's /tmp
 * anyway, so only a path outside it shows whether the host root is exposed.
 */
async function hostDir(): Promise<string> {
  let dir: string;
  try {
    dir = await mkdtemp(path.join(homedir(), '.rg-sandbox-test-'));
  } catch {
    dir = await mkdtemp(path.join(REPO, '.rg-sandbox-test-'));
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function files(dir: string, content: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(content)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

async function context(target: string, outDir: string): Promise<IRunContext> {
  const bwrap = await findBwrap();
  assert.ok(bwrap, 'bubblewrap is installed');
  return runContext({ target, outDir, timeoutMs: 60_000 }, bwrap, Date.now() + 60_000);
}

/** Run a Node script inside the sandbox (Node is the probe: the pipeline runs on it). */
async function probe(
  ctx: IRunContext,
  code: string,
  sandbox: ISandboxOptions = {},
  env: NodeJS.ProcessEnv = {}
): Promise<IExit & { result: Record<string, unknown> }> {
  const exit = await ctx.exec(process.execPath, ['-e', code], { sandbox, env });
  assert.equal(exit.code, 0, `probe exit ${exit.code}: ${exit.stderr}`);
  return { ...exit, result: JSON.parse(exit.stdout) as Record<string, unknown> };
}

/** A loopback TCP listener on the host that counts connections. */
async function listener(): Promise<{ port: number; count: () => number; close: () => void }> {
  let connections = 0;
  const server = net.createServer(socket => {
    connections += 1;
    socket.on('error', () => undefined); // the probe exits without closing
    socket.end('hello\n');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, count: () => connections, close: () => server.close() };
}

const CONNECT_TCP = `
const net = require('net');
const s = net.connect(Number(process.env.PORT), '127.0.0.1');
s.setTimeout(3000);
const done = r => { console.log(JSON.stringify(r)); process.exit(0); };
s.on('connect', () => done({ connected: true }));
s.on('data', () => {});
s.on('error', e => done({ connected: false, code: e.code }));
s.on('timeout', () => done({ connected: false, code: 'timeout' }));
`;

const CONNECT_UNIX = `
const net = require('net');
const s = net.connect({ path: process.env.SOCKET ?? String.fromCharCode(0) + process.env.ABSTRACT });
s.setTimeout(3000);
const done = r => { console.log(JSON.stringify(r)); process.exit(0); };
s.on('connect', () => done({ connected: true }));
s.on('data', () => {});
s.on('error', e => done({ connected: false, code: e.code }));
s.on('timeout', () => done({ connected: false, code: 'timeout' }));
`;

const READ_FILES = `
const fs = require('fs');
const out = {};
for (const f of JSON.parse(process.env.FILES)) {
  try { out[f] = fs.readFileSync(f, 'utf8'); } catch (e) { out[f] = e.code; }
}
for (const d of ['/root', '/home', '/run', '/var/run', '/srv', '/mnt', '/opt']) {
  out[d] = fs.existsSync(d) ? fs.readdirSync(d) : 'ENOENT';
}
console.log(JSON.stringify(out));
`;

describe('scanner sandbox isolation (real bubblewrap)', () => {
  let host: string;
  before(async () => {
    host = await hostDir();
  });

  it('no network: a listener on the host loopback sees no connection from inside', async () => {
    const tcp = await listener();
    try {
      const ctx = await context(await tempDir('rg-sbx-src-'), await tempDir('rg-sbx-out-'));
      const inside = await probe(ctx, CONNECT_TCP, {}, { PORT: String(tcp.port) });
      assert.equal(inside.result.connected, false, JSON.stringify(inside.result));
      assert.equal(inside.result.code, 'ECONNREFUSED'); // the sandbox's own, empty loopback
      assert.equal(tcp.count(), 0, 'the host listener saw a connection from the sandbox');
      // The probe works: the explicit online mode does reach the listener.
      const online = await probe(ctx, CONNECT_TCP, { network: true }, { PORT: String(tcp.port) });
      assert.equal(online.result.connected, true);
      assert.equal(tcp.count(), 1);
    } finally {
      tcp.close();
    }
  });

  it('no network for install scripts: a setup.py connecting to the host listener reaches nothing', async () => {
    const tcp = await listener();
    try {
      const target = await files(path.join(await tempDir('rg-sbx-pkg-'), 'src'), {
        'setup.py': [
          'import socket',
          'from setuptools import setup',
          'try:',
          `    socket.create_connection(("127.0.0.1", ${tcp.port}), timeout=2).recv(16)`,
          'except OSError:',
          '    pass',
          'setup(name="callhome", version="1.0", py_modules=[])',
          ''
        ].join('\n')
      });
      const run = await runScanner(dynamic({ platforms: ['linux'] }), {
        target,
        outDir: await tempDir('rg-sbx-out-'),
        timeoutMs: 120_000
      });
      assert.equal(run.status, 'ok', run.message);
      assert.ok(
        run.findings.some(f => f.ruleId === 'dynamic/network'),
        'the attempt is traced'
      );
      assert.equal(tcp.count(), 0, 'the install script reached the host listener');
    } finally {
      tcp.close();
    }
  });

  it('host files stay unreadable: the host home, the workspace, another request’s clone', async () => {
    const secret = randomBytes(12).toString('hex');
    const ws = path.join(host, 'ws');
    const target = await files(path.join(ws, 'sources', 'req-1'), { 'calc.py': 'x = 1\n' });
    const canaries = [
      path.join(host, '.aws', 'credentials'),
      path.join(ws, 'state.json'),
      path.join(ws, 'sources', 'req-2', 'settings.py'),
      path.join(ws, 'scans', 'req-2', 'semgrep.sarif')
    ];
    for (const f of canaries) await files(path.dirname(f), { [path.basename(f)]: secret });
    const ctx = await context(target, await tempDir('rg-sbx-out-'));
    const FILES = JSON.stringify([...canaries, path.join(target, 'calc.py')]);
    const { result } = await probe(ctx, READ_FILES, {}, { FILES });
    for (const f of canaries) {
      assert.equal(result[f], 'ENOENT', `${f} is visible in the sandbox`);
    }
    // Host folders do not exist, but as the path to what is bound (here the tree under the home).
    for (const d of ['/root', '/home', '/run', '/var/run', '/srv', '/mnt', '/opt']) {
      const through = target.startsWith(`${d}/`)
        ? [target.slice(d.length + 1).split('/')[0]]
        : 'ENOENT';
      assert.deepEqual(result[d], through, `${d} in the sandbox`);
    }
    assert.ok(!JSON.stringify(result).includes(secret));
    // The probe works: the scanned tree is readable, and so is a folder bound on purpose.
    assert.equal(result[path.join(target, 'calc.py')], 'x = 1\n');
    const bound = await probe(
      ctx,
      READ_FILES,
      { readOnly: [path.join(ws, 'sources', 'req-2')] },
      {
        FILES
      }
    );
    assert.equal(bound.result[canaries[2]], secret);
    assert.equal(bound.result[canaries[0]], 'ENOENT');
  });

  it('Unix sockets of the host are unreachable: one on the file system, one abstract', async () => {
    const sockets: net.Server[] = [];
    let connections = 0;
    const serve = async (where: string) => {
      const server = net.createServer(s => {
        connections += 1;
        s.on('error', () => undefined);
        s.end('hello\n');
      });
      await new Promise<void>(resolve => server.listen(where, resolve));
      sockets.push(server);
    };
    const dir = path.join(host, 'run');
    await mkdir(dir, { recursive: true });
    const onDisk = path.join(dir, 'runtime.sock'); // as a container runtime's socket would be
    const abstract = `repoguard-test-${randomBytes(6).toString('hex')}`;
    await serve(onDisk);
    await serve(`\0${abstract}`);
    try {
      const ctx = await context(await tempDir('rg-sbx-src-'), await tempDir('rg-sbx-out-'));
      const a = await probe(ctx, CONNECT_UNIX, {}, { SOCKET: onDisk });
      assert.equal(a.result.connected, false);
      assert.equal(a.result.code, 'ENOENT');
      const b = await probe(ctx, CONNECT_UNIX, {}, { ABSTRACT: abstract });
      assert.equal(b.result.connected, false);
      assert.equal(b.result.code, 'ECONNREFUSED');
      assert.equal(connections, 0, 'a host socket was reached from the sandbox');
      // The probe works: a socket in a folder bound on purpose is reached, and
      // the abstract one with the host's network namespace.
      const bound = await probe(ctx, CONNECT_UNIX, { readOnly: [dir] }, { SOCKET: onDisk });
      assert.equal(bound.result.connected, true);
      const shared = await probe(ctx, CONNECT_UNIX, { network: true }, { ABSTRACT: abstract });
      assert.equal(shared.result.connected, true);
      assert.equal(connections, 2);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

/** An empty SARIF log: what a hostile scanner would put in place of another's results. */
const EMPTY = JSON.stringify(makeLog({ name: 'nothing' }, []));

/** A scanner whose process writes its result, then stays 3 s in its sandbox before exiting. */
function victim(): IScannerSpec {
  return {
    name: 'victim',
    category: 'sast',
    async run(ctx) {
      const out = path.join(ctx.outDir, 'victim.sarif');
      const log = makeLog({ name: 'victim' }, [
        makeResult({
          ruleId: 'victim/finding',
          message: 'the finding that must survive',
          uri: 'calc.py',
          line: 1,
          severity: 'high',
          confidence: 'high'
        })
      ]);
      const code = `require('fs').writeFileSync(process.env.OUT, process.env.LOG); setTimeout(() => {}, 3000);`;
      const exit = await ctx.exec(process.execPath, ['-e', code], {
        env: { OUT: out, LOG: JSON.stringify(log) }
      });
      assert.equal(exit.code, 0, exit.stderr);
      return JSON.parse(await readFile(out, 'utf8')) as Log;
    }
  };
}

/**
 * A scanner whose process (as a scanned repo's code run by a scanner would)
 * looks for 4 s for other scanners' outputs (the request's output folder,
 * whatever of /tmp it sees) and overwrites each with an empty log, and tries
 * to plant a file in the scanned tree. What it saw and did is its result.
 */
interface IAttackReport {
  seen: string[];
  overwritten: string[];
  planted: string[];
}

function attacker(requestOut: string, reports: IAttackReport[]): IScannerSpec {
  return {
    name: 'attacker',
    category: 'sast',
    async run(ctx) {
      const own = path.join(ctx.outDir, 'attacker.json');
      const code = `
const fs = require('fs'), path = require('path');
const own = process.env.OWN, seen = new Set(), overwritten = [], planted = [];
const walk = (d, level) => {
  let entries;
  try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const f = path.join(d, e.name);
    if (f === own || f === process.env.TARGET) continue;
    if (e.isDirectory()) { if (level < 5) walk(f, level + 1); continue; }
    seen.add(f);
    if (/\\.(sarif|json)$/.test(f) && !overwritten.includes(f)) {
      try { fs.writeFileSync(f, process.env.EMPTY); overwritten.push(f); } catch {}
    }
  }
};
const until = Date.now() + 4000;
while (Date.now() < until) {
  walk(process.env.REQUEST_OUT, 0);
  walk('/tmp', 0);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
}
for (const f of ['planted.py', 'calc.py']) {
  try { fs.writeFileSync(path.join(process.env.TARGET, f), 'import os\\n'); planted.push(f); } catch {}
}
fs.writeFileSync(own, JSON.stringify({ seen: [...seen], overwritten, planted }));
`;
      const exit = await ctx.exec(process.execPath, ['-e', code], {
        env: { OWN: own, REQUEST_OUT: requestOut, TARGET: ctx.target, EMPTY }
      });
      assert.equal(exit.code, 0, exit.stderr);
      reports.push(JSON.parse(await readFile(own, 'utf8')) as IAttackReport);
      return makeLog({ name: 'attacker' }, []);
    }
  };
}

describe('scanner outputs are private to each scanner', () => {
  it('a scanner process cannot overwrite (or see) other scanners’ outputs, nor write the tree', async () => {
    const target = await files(path.join(await tempDir('rg-sbx-src-'), 'src'), {
      'calc.py': 'import os\nos.system("ls")\n'
    });
    const before = await readdir(target);
    const outDir = await tempDir('rg-sbx-out-');
    const reports: IAttackReport[] = [];
    const specs = new Map<string, IScannerSpec>([
      ['victim', victim()],
      ['bandit', bandit()],
      ['attacker', attacker(outDir, reports)]
    ]);
    const runs = await runScanners(['victim', 'bandit', 'attacker'], specs, {
      target,
      outDir,
      timeoutMs: 120_000
    });
    const byName = new Map(runs.map(r => [r.name, r]));
    for (const r of runs) assert.equal(r.status, 'ok', `${r.name}: ${r.message}`);
    assert.equal(reports.length, 1);
    const [report] = reports;
    assert.deepEqual(report.overwritten, [], 'the attacker overwrote another scanner’s output');
    assert.deepEqual(
      report.seen.filter(f => /victim|bandit/.test(f)),
      [],
      'another scanner’s output is visible'
    );
    assert.deepEqual(report.planted, [], 'the attacker wrote the scanned tree');
    // The others' results are intact, in their reports and in the SARIF files read later.
    assert.deepEqual(
      byName.get('victim')!.findings.map(f => f.ruleId),
      ['victim/finding']
    );
    assert.ok(byName.get('bandit')!.findings.some(f => f.ruleId === 'B605'));
    const sarif = JSON.parse(await readFile(path.join(outDir, 'victim.sarif'), 'utf8')) as Log;
    assert.equal(sarif.runs[0].results?.[0]?.ruleId, 'victim/finding');
    assert.deepEqual(await readdir(target), before);
    assert.equal(
      await readFile(path.join(target, 'calc.py'), 'utf8'),
      'import os\nos.system("ls")\n'
    );
  });

  it('the scanned tree cannot be remounted writable from inside (no capabilities)', async () => {
    const target = await files(path.join(await tempDir('rg-sbx-src-'), 'src'), {
      'calc.py': 'x = 1\n'
    });
    const ctx = await context(target, await tempDir('rg-sbx-out-'));
    const python = await findExecutable('python3');
    assert.ok(python, 'python3 on PATH');
    const code = [
      'import ctypes, json, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'MS_REMOUNT, MS_BIND = 32, 4096',
      't = sys.argv[1].encode()',
      'r = libc.mount(None, t, None, MS_REMOUNT | MS_BIND, None)',
      'err = ctypes.get_errno()',
      'wrote = False',
      'try:',
      '    open(os.path.join(sys.argv[1], "planted.py"), "w").write("x")',
      '    wrote = True',
      'except OSError:',
      '    pass',
      'print(json.dumps({"mount": r, "errno": err, "wrote": wrote}))'
    ].join('\n');
    const exit = await ctx.exec(python, ['-c', code, target]);
    assert.equal(exit.code, 0, exit.stderr);
    const result = JSON.parse(exit.stdout) as { mount: number; errno: number; wrote: boolean };
    assert.equal(result.mount, -1);
    assert.equal(result.errno, 1); // EPERM
    assert.equal(result.wrote, false);
    assert.ok(!existsSync(path.join(target, 'planted.py')));
  });

  it('a link or fifo a scanner leaves as its output is removed before the output is read', async () => {
    const secret = randomBytes(12).toString('hex');
    const canary = path.join(await hostDir(), 'credentials');
    // Shaped as a log, so that a host reading through the link would take it as the result.
    await writeFile(
      canary,
      JSON.stringify(
        makeLog({ name: 'host file' }, [
          makeResult({
            ruleId: 'host/credentials',
            message: `token = ${secret}`,
            uri: 'credentials',
            severity: 'info',
            confidence: 'high'
          })
        ])
      )
    );
    const left: string[] = [];
    const spec: IScannerSpec = {
      name: 'linker',
      category: 'sast',
      async run(ctx) {
        const code = `
const fs = require('fs'), path = require('path'), cp = require('child_process');
fs.symlinkSync(process.env.CANARY, path.join(process.env.OUT, 'linker.sarif'));
cp.execFileSync('mkfifo', [path.join(process.env.OUT, 'pipe.sarif')]);
`;
        const exit = await ctx.exec(process.execPath, ['-e', code], {
          env: { OUT: ctx.outDir, CANARY: canary }
        });
        assert.equal(exit.code, 0, exit.stderr);
        left.push(...(await readdir(ctx.outDir)));
        // An adapter reading its output as usual: a followed link would bring the canary in.
        return JSON.parse(await readFile(path.join(ctx.outDir, 'linker.sarif'), 'utf8')) as Log;
      }
    };
    const run = await runScanner(spec, {
      target: await tempDir('rg-sbx-src-'),
      outDir: await tempDir('rg-sbx-out-'),
      timeoutMs: 60_000
    });
    assert.ok(!JSON.stringify(run).includes(secret), 'the host file was read through the link');
    assert.deepEqual(left, [], 'links and fifos are removed once the sandbox is gone');
    assert.equal(run.status, 'crashed');
    assert.match(run.message ?? '', /ENOENT/);
  });
});

describe('the sandbox runs tools wherever they live, /tmp included', () => {
  let saved: string | undefined;
  before(() => {
    saved = process.env.PATH;
  });
  after(() => {
    process.env.PATH = saved;
  });

  it('a tool in a venv under /tmp, linked from a bin folder, reads its data (links) under /tmp', async () => {
    const root = await tempDir('rg-sbx-checkout-');
    const python = await findExecutable('python3');
    assert.ok(python, 'python3 on PATH');
    const venv = path.join(root, '.tools', 'venvs', 'probe');
    execFileSync(python, ['-m', 'venv', '--without-pip', venv]);
    const site = execFileSync(
      path.join(venv, 'bin', 'python3'),
      ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
      { encoding: 'utf8' }
    ).trim();
    await files(site, {
      'probe_tool/__init__.py': [
        'import json, pathlib, sys',
        '',
        '',
        'def main():',
        '    data, target, out = sys.argv[1:4]',
        '    word = (pathlib.Path(data) / "words.txt").read_text().strip()',
        '    hits = [p.name for p in sorted(pathlib.Path(target).iterdir()) if word in p.read_text()]',
        '    results = [{"ruleId": "probe/" + word, "level": "error",',
        '                "message": {"text": word + " in " + h},',
        '                "locations": [{"physicalLocation": {"artifactLocation": {"uri": h}}}]}',
        '               for h in hits]',
        '    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "probe"}}, "results": results}]}',
        '    pathlib.Path(out).write_text(json.dumps(log))',
        ''
      ].join('\n')
    });
    const script = path.join(venv, 'bin', 'probe-tool');
    await writeFile(
      script,
      `#!${path.join(venv, 'bin', 'python3')}\nimport probe_tool\nprobe_tool.main()\n`,
      { mode: 0o755 }
    );
    const bin = path.join(root, '.tools', 'bin');
    await mkdir(bin, { recursive: true });
    await symlink(script, path.join(bin, 'probe-tool'));
    // Data assembled from links, as .tools/osv-db is: the folder links to files elsewhere under /tmp.
    const store = await files(path.join(root, 'data-store'), { 'words.txt': 'frobnicate\n' });
    const data = path.join(root, '.tools', 'probe-data');
    await mkdir(data, { recursive: true });
    await symlink(path.join(store, 'words.txt'), path.join(data, 'words.txt'));
    const target = await files(path.join(root, 'ws', 'sources', 'req-1'), {
      'a.py': 'frobnicate()\n',
      'b.py': 'pass\n'
    });
    const spec: IScannerSpec = {
      name: 'probe',
      category: 'sast',
      async run(ctx) {
        const file = await ctx.which('probe-tool');
        const out = path.join(ctx.outDir, 'probe.sarif');
        const exit = await ctx.exec(file, [data, ctx.target, out], {
          sandbox: { readOnlyData: [data] }
        });
        assert.equal(exit.code, 0, exit.stderr);
        return JSON.parse(await readFile(out, 'utf8')) as Log;
      }
    };
    const outDir = path.join(root, 'ws', 'scans', 'req-1');
    await mkdir(outDir, { recursive: true });
    const run = await runScanner(spec, { target, outDir, timeoutMs: 60_000, binDir: bin });
    assert.equal(run.status, 'ok', run.message);
    assert.deepEqual(
      run.findings.map(f => [f.ruleId, f.path]),
      [['probe/frobnicate', 'a.py']]
    );
    // Its install was found from the link: the venv and the venv's base Python, nothing broader.
    const binds = toolchainPaths(path.join(bin, 'probe-tool'));
    assert.ok(binds.includes(venv), binds.join(' '));
    assert.ok(!binds.some(p => p === root || p === path.dirname(root)), binds.join(' '));
    assert.ok((await stat(run.sarifFile!)).isFile());
  });

  it('a real scanner copied under /tmp runs on a tree under /tmp', async () => {
    const installed = await findExecutable('gitleaks');
    assert.ok(installed, 'gitleaks installed (scripts/install-scanners.sh)');
    const bin = path.join(await tempDir('rg-sbx-tools-'), 'bin');
    await mkdir(bin, { recursive: true });
    await copyFile(installed, path.join(bin, 'gitleaks'));
    execFileSync('chmod', ['755', path.join(bin, 'gitleaks')]);
    // The install is the binary and the configuration generated beside it (bin/../scanner-config).
    const config = path.join(path.dirname(bin), 'scanner-config');
    await mkdir(config, { recursive: true });
    await copyFile(
      path.resolve(path.dirname(installed), '..', 'scanner-config', 'gitleaks.toml'),
      path.join(config, 'gitleaks.toml')
    );
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const key = `AKIA${Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
    const target = await files(path.join(await tempDir('rg-sbx-src-'), 'src'), {
      'settings.py': `AWS_ACCESS_KEY_ID = "${key}"\n`
    });
    const run = await runScanner(gitleaks(), {
      target,
      outDir: await tempDir('rg-sbx-out-'),
      timeoutMs: 60_000,
      binDir: bin
    });
    assert.equal(run.status, 'ok', run.message);
    assert.ok(run.findings.some(f => f.ruleId === 'aws-access-token' && f.path === 'settings.py'));
    assert.deepEqual(toolchainPaths(path.join(bin, 'gitleaks')), [bin]);
  });
});
