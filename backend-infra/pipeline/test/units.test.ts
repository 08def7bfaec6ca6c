/** Units: dependency metadata, the policy, the SSRF guard, hardened clone details, SARIF reading. */
import assert from 'node:assert/strict';
import { linePhases } from '../src/scanners/phase';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SourceRefused, hardenedClone } from '../src/clone';
import { declaredDependencies, formatDependencies, parseRequirement } from '../src/deps';
import { git, subcommand } from '../src/git';
import { checkHost, nonPublicRange } from '../src/net';
import { redact, registerSecret } from '../src/redact';
import { banditJsonToSarif } from '../src/scanners/registry';
import { findingsFromSarif } from '../src/scanners/sarif';
import { gitSync, makeRepo, tempDir } from './helpers';

describe('declared dependencies', () => {
  it('parses PEP 508 requirements, dropping extras and keeping markers', () => {
    assert.deepEqual(parseRequirement('requests[socks] >= 2.0 ; python_version < "3.8"'), {
      marker: 'python_version < "3.8"',
      name: 'requests',
      spec: '>=2.0'
    });
    assert.deepEqual(parseRequirement('numpy'), { name: 'numpy', spec: '' });
    assert.deepEqual(parseRequirement('attrs (>=19.2)'), { name: 'attrs', spec: '>=19.2' });
  });

  it('reads setup.cfg, setup.py (without running it), package.json and poetry', async () => {
    const dir = await tempDir();
    const cases: [string, string, string][] = [
      [
        'setup.cfg',
        '[metadata]\nname = x\n\n[options]\ninstall_requires =\n    click>=8\n    rich  # pretty\npackages = find:\n',
        'click >=8; rich'
      ],
      [
        'setup.py',
        'import os\nsetup(name="x", install_requires=["pyyaml>=6", \'six\'], extras_require={"dev": ["pytest"]})\nos.system("rm -rf /")\n',
        'pyyaml >=6; six'
      ],
      [
        'package.json',
        JSON.stringify({
          name: 'x',
          dependencies: { lodash: '^4.17.21', left: '1.0.0' },
          devDependencies: { jest: '*' }
        }),
        'lodash ^4.17.21; left 1.0.0'
      ],
      [
        'pyproject.toml',
        '[tool.poetry]\nname = "x"\n\n[tool.poetry.dependencies]\npython = "^3.10"\npandas = "^2.0"\nhttpx = { version = ">=0.27", optional = true }\n',
        'pandas ^2.0; httpx >=0.27'
      ]
    ];
    for (const [file, content, expected] of cases) {
      const sub = path.join(dir, file.replace('.', '-'));
      await mkdir(sub);
      await writeFile(path.join(sub, file), content);
      assert.equal(formatDependencies(await declaredDependencies(sub)), expected, file);
    }
    assert.deepEqual(await declaredDependencies(dir), []);
  });
});

describe('policy', () => {
  it('converts bandit JSON (results and unparsable files) to SARIF findings', () => {
    const log = banditJsonToSarif(
      JSON.stringify({
        errors: [{ filename: './broken.py', reason: 'syntax error while parsing AST from file' }],
        results: [
          {
            code: '4 eval(x)\n',
            filename: './calc.py',
            issue_confidence: 'HIGH',
            issue_cwe: { id: 78, link: 'https://cwe.mitre.org/data/definitions/78.html' },
            issue_severity: 'MEDIUM',
            issue_text:
              'Use of possibly insecure function - consider using safer ast.literal_eval.',
            line_number: 4,
            line_range: [4],
            more_info:
              'https://bandit.readthedocs.io/en/1.9.4/blacklists/blacklist_calls.html#b307-eval',
            test_id: 'B307',
            test_name: 'blacklist'
          }
        ]
      })
    );
    const findings = findingsFromSarif('bandit', log);
    assert.deepEqual(
      findings.map(f => [f.ruleId, f.severity, f.confidence, f.line]),
      [
        ['B307', 'medium', 'high', 4],
        ['bandit-parse-error', 'low', 'high', undefined]
      ]
    );
    assert.equal(log.version, '2.1.0');
    assert.throws(() => banditJsonToSarif('{"nope": 1}'), /not a bandit JSON report/);
  });

  it('reads severity and confidence from bandit and semgrep SARIF', () => {
    const bandit = findingsFromSarif('bandit', {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'Bandit' } },
          results: [
            {
              ruleId: 'B602',
              message: { text: 'shell' },
              properties: { issue_severity: 'HIGH', issue_confidence: 'LOW' },
              locations: [
                {
                  physicalLocation: { artifactLocation: { uri: 'a.py' }, region: { startLine: 2 } }
                }
              ]
            }
          ]
        }
      ]
    });
    assert.deepEqual(
      [bandit[0].severity, bandit[0].confidence, bandit[0].line],
      ['high', 'low', 2]
    );
    const semgrep = findingsFromSarif('semgrep', {
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'Semgrep OSS',
              rules: [
                {
                  id: 'r1',
                  defaultConfiguration: { level: 'error' },
                  properties: { tags: ['MEDIUM CONFIDENCE'] }
                }
              ]
            }
          },
          results: [
            { ruleId: 'r1', message: { text: 'x' }, locations: [] },
            { ruleId: 'r1', message: { text: 'y' }, suppressions: [{ kind: 'inSource' }] }
          ]
        }
      ]
    });
    // A suppression shipped in the source is evidence, never a waiver: the result counts.
    assert.equal(semgrep.length, 2, 'suppressed results count');
    assert.match(semgrep[1].message, /suppressed in the source: counted/);
    assert.deepEqual([semgrep[0].severity, semgrep[0].confidence], ['high', 'medium']);
  });
});

describe('static phase (the fallback without an observation)', () => {
  it('a function whose signature spans several lines keeps its body in the function (call), its defaults at import', () => {
    const text = [
      'import pickle',
      '',
      '',
      '@deprecated("use load()")',
      'def load_str_bytes(',
      '    b,',
      '    *,',
      '    allow_pickle: bool = default_allow(),',
      ') -> object:',
      '    """Decode b.',
      '',
      '    (pickle only when asked)"""',
      '    if allow_pickle:',
      '        return pickle.loads(b)',
      '    return {"x": (1, 2)}',
      '',
      '',
      'CACHE = dict(',
      '    a=1,',
      ')',
      'pickle.loads(CACHE)',
      ''
    ].join('\n');
    const phases = linePhases(text, true);
    const at = (n: number) => phases[n - 1];
    assert.equal(at(5), 'import');
    assert.equal(at(8), 'import', 'a default is evaluated when the def runs');
    assert.equal(at(9), 'import');
    assert.equal(at(14), 'call', 'the body runs only when called');
    assert.equal(at(15), 'call');
    assert.equal(at(19), 'import');
    assert.equal(at(21), 'import', 'after the bracketed statement: module level again');
  });
});

describe('SSRF guard', () => {
  it('refuses loopback, private, link-local (metadata, CodeBuild credentials), CGNAT and mapped addresses', async () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '169.254.170.2',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0'
    ]) {
      assert.notEqual(nonPublicRange(address), null, address);
      const check = await checkHost('github.com', async () => ['140.82.112.3', address]);
      assert.equal(check.ok, false, address);
      assert.match(
        check.reason ?? '',
        new RegExp(`resolves to ${address.replace(/[.:]/g, m => `\\${m}`)}`)
      );
    }
    assert.equal((await checkHost('github.com', async () => ['140.82.112.3'])).ok, true);
    assert.equal(
      (await checkHost('127.0.0.1')).ok,
      false,
      'a literal address is checked without DNS'
    );
    assert.match((await checkHost('nothing.invalid')).reason ?? '', /does not resolve/);
  });
});

describe('hardened clone', () => {
  it('checks symlinks out as plain files, runs no hooks, fetches no submodules, and resolves the ref to a sha', async () => {
    const root = await tempDir('rg-clone-');
    const sub = await makeRepo(path.join(root, 'sub'), { 'evil.py': 'print(1)\n' });
    const src = path.join(root, 'src');
    await mkdir(src);
    await symlink('/etc/passwd', path.join(src, 'passwd-link'));
    await writeFile(path.join(src, 'ok.py'), 'X = 1\n');
    gitSync(src, 'init', '--quiet', '--initial-branch=main');
    gitSync(src, 'add', '-A');
    gitSync(
      src,
      '-c',
      'protocol.file.allow=always',
      'submodule',
      'add',
      '--quiet',
      sub.url,
      'vendored'
    );
    gitSync(src, 'commit', '--quiet', '-m', 'with a symlink and a submodule');
    const sha = gitSync(src, 'rev-parse', 'HEAD').trim();
    const dest = path.join(root, 'dest');
    const result = await hardenedClone({
      url: `file://${src}`,
      ref: 'main',
      dest,
      allowedLocalRoots: [root],
      maxBytes: 1e6,
      timeoutMs: 30_000
    });
    assert.equal(result.commitSha, sha);
    const link = path.join(dest, 'passwd-link');
    assert.ok(!(await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(link, 'utf8'), '/etc/passwd');
    assert.ok(!existsSync(path.join(dest, 'vendored', 'evil.py')), 'a submodule was fetched');
    assert.ok(existsSync(path.join(dest, 'ok.py')));
  });

  it('refuses a file:// source outside the allowed roots and any other protocol', async () => {
    const root = await tempDir('rg-clone-');
    const repo = await makeRepo(path.join(root, 'r'), { 'a.py': 'A = 1\n' });
    await assert.rejects(
      hardenedClone({
        url: repo.url,
        ref: '',
        dest: path.join(root, 'd1'),
        allowedLocalRoots: [path.join(root, 'elsewhere')],
        maxBytes: 1e6,
        timeoutMs: 10_000
      }),
      (e: unknown) => e instanceof SourceRefused && /must lie under/.test(e.message)
    );
    await assert.rejects(
      hardenedClone({
        url: 'ssh://github.com/a/b',
        ref: '',
        dest: path.join(root, 'd2'),
        allowedLocalRoots: [],
        maxBytes: 1e6,
        timeoutMs: 10_000
      }),
      (e: unknown) => e instanceof SourceRefused && /must use https/.test(e.message)
    );
  });
});

describe('redaction', () => {
  it('masks registered secrets, GitHub token shapes and auth headers', () => {
    registerSecret('s3cr3t-value-123');
    assert.equal(redact('token s3cr3t-value-123 here'), 'token *** here');
    assert.equal(redact(`ghp_${'x'.repeat(36)}`), '***');
    assert.equal(redact('Authorization: Bearer abc.def'), 'Authorization: Bearer ***');
  });
});

describe('git errors', () => {
  it('name the command that failed, not the first option', async () => {
    assert.equal(
      subcommand(['-c', 'core.hooksPath=/dev/null', '--git-dir', 'x.git', 'push']),
      'push'
    );
    assert.equal(subcommand(['-C', 'repo', 'fetch', '--depth=1']), 'fetch');
    const missing = path.join(await tempDir('rg-git-'), 'none.git');
    await assert.rejects(
      git(['--git-dir', missing, 'rev-parse', 'HEAD']),
      /^Error: git rev-parse failed: /
    );
  });
});
