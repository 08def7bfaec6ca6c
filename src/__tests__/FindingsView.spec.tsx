/**
 * The Findings view renders the pipeline's findings.json as is: the shared
 * fixture the server test serves (repoguard/tests/test_handlers.py).
 */
import { readFileSync } from 'fs';
import path from 'path';
import { render, screen, within } from '@testing-library/react';
import * as React from 'react';
import { FindingsView } from '../components/FindingsView';
import type { RepoGuard } from '../tokens';
import { trans } from './utils';

const findings = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'common', 'fixtures', 'findings.json'), 'utf8')
) as RepoGuard.IFindings;

function detail(file: RepoGuard.IFindings | null): RepoGuard.IResultDetail {
  return {
    request_id: 'rq-bad',
    package_name: 'shell-runner',
    decision: 'refused',
    reason: '1 finding(s) at or above medium',
    result: { repo_url: 'file:///s/shell-runner', commit_sha: 'e5cd093' } as RepoGuard.IResultRow,
    findings: file,
    report: 'reports/rq-bad/report.html'
  };
}

describe('FindingsView', () => {
  it('shows each finding as the policy counted it, with its gate and why', () => {
    render(
      <FindingsView detail={detail(findings)} error={null} trans={trans} onOpenReport={jest.fn()} />
    );
    const rows = within(screen.getByRole('table', { name: 'Findings' })).getAllByRole('row');
    // header + 3 findings, in the file's order (worst counted first)
    expect(rows).toHaveLength(4);
    expect(rows[1].textContent).toContain('drove the decision');
    // the adjusted severity is shown, with the scanner's own rating beside it
    expect(rows[2].textContent).toContain('low (rated high)');
    expect(rows[2].textContent).toContain('not installed code (tests)');
    // a waived finding says so, with the waiver's reason, and counts as info
    expect(rows[3].textContent).toContain('info (rated high)');
    expect(rows[3].textContent).toContain('waived: a documented test key');
    expect(rows[3].textContent).toContain('secret');
  });

  it('says when the report has no findings file', () => {
    render(
      <FindingsView detail={detail(null)} error={null} trans={trans} onOpenReport={jest.fn()} />
    );
    expect(screen.getByText('The report has no findings file.')).toBeTruthy();
  });
});
