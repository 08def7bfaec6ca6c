/**
 * findings.json: the findings as the policy judged them, written beside the
 * SARIF; the report page and the mail read the same normalisation (the panel
 * reads the file itself, see src/__tests__/FindingsView.spec.tsx).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FINDINGS_FORMAT } from '../../../src/common';
import { findingsFile, findingsJson } from '../src/findings';
import type { IPolicyFinding } from '../src/policy';
import { renderMail, renderMarkdown } from '../src/report';
import type { IManifestItem } from '../src/types';

function finding(extra: Partial<IPolicyFinding>): IPolicyFinding {
  return {
    scanner: 'bandit',
    ruleId: 'B602',
    severity: 'high',
    effectiveSeverity: 'high',
    confidence: 'high',
    message: 'subprocess call with shell=True',
    path: 'src/x/__init__.py',
    line: 8,
    gate: 'sast',
    ...extra
  } as IPolicyFinding;
}

function item(): IManifestItem {
  const driver = finding({});
  const lowered = finding({
    scanner: 'semgrep',
    ruleId: 'eval',
    effectiveSeverity: 'low',
    note: 'not installed code (tests)',
    path: 'tests/test_x.py',
    line: 3
  });
  const waiver = {
    ruleId: 'generic-api-key',
    packageName: 'shell-runner',
    covers: 'docs/example.md',
    expires: '2027-01-01',
    reason: 'a documented test key',
    approver: 'infosec@example.com',
    path: 'docs/example.md',
    line: 12
  };
  const waived = finding({
    scanner: 'gitleaks',
    ruleId: 'generic-api-key',
    effectiveSeverity: 'info',
    gate: 'secret',
    path: 'docs/example.md',
    line: 12,
    message: 'token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB in docs',
    waiver
  } as Partial<IPolicyFinding>);
  return {
    request: {
      request_id: 'rq-bad',
      package_name: 'shell-runner',
      repo_url: 'https://github.com/o/shell-runner',
      ref: '',
      requester_email: 'ana@example.com',
      justification: '',
      requested_at: ''
    },
    row: 1,
    key: 'rq-bad',
    decision: 'refused',
    reason: '1 finding(s) at or above medium',
    maxSeverity: 'high',
    counts: { critical: 0, high: 1, medium: 0, low: 1 },
    drivers: [driver],
    waivers: [waiver],
    scanners: [
      { name: 'semgrep', status: 'ok', durationMs: 1, findings: [lowered] },
      { name: 'bandit', status: 'ok', durationMs: 1, findings: [driver] },
      { name: 'gitleaks', status: 'ok', durationMs: 1, findings: [waived] }
    ]
  } as unknown as IManifestItem;
}

describe('findings.json', () => {
  it('records each finding as judged: counted severity, gate, waived, drove, why', () => {
    const file = findingsFile(item());
    assert.equal(file.format, FINDINGS_FORMAT);
    assert.equal(file.decision, 'refused');
    assert.deepEqual(
      file.findings.map(f => [
        f.rule_id,
        f.severity,
        f.scanner_severity,
        f.gate,
        f.waived,
        f.drove
      ]),
      [
        ['B602', 'high', 'high', 'sast', false, true],
        ['eval', 'low', 'high', 'sast', false, false],
        ['generic-api-key', 'info', 'high', 'secret', true, false]
      ]
    );
    assert.equal(file.findings[1].reason, 'not installed code (tests)');
    assert.equal(file.findings[2].reason, 'a documented test key');
    assert.equal(file.waivers[0].approver, 'infosec@example.com');
  });

  it('is written through the redactor', () => {
    assert.doesNotMatch(findingsJson(item()), /ghp_0123456789abcdefghij/);
  });

  it('is what the report page and the mail show', () => {
    const it0 = item();
    const file = findingsFile(it0);
    file.findings[0].rule_id = 'FROM-THE-FILE';
    assert.match(renderMail(it0, 'reports/rq-bad/report.html', file).text, /FROM-THE-FILE/);
    const md = renderMarkdown(it0, 'exec-1', file);
    assert.match(md, /\| sast \| high \| bandit \| FROM-THE-FILE \|/);
    assert.match(md, /high → low \(not installed code \(tests\)\)/);
  });
});
