import { fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';
import { ApprovedList } from '../components/ApprovedList';
import { trans } from './utils';

const rows = Array.from({ length: 10000 }, (_, i) => ({
  request_id: `rq-${i}`,
  package_name: `package-${i}`,
  repo_url: `https://github.com/o/package-${i}`,
  commit_sha: 'a'.repeat(40),
  scanned_at: '2026-01-01T00:00:00Z',
  report_url: `reports/rq-${i}/report.html`,
  dependencies: i === 1 ? 'package-0; missing-dep' : ''
})) as any[];

describe('ApprovedList', () => {
  it('renders only a window of 10,000 rows and filters them', () => {
    const onInstall = jest.fn();
    const t0 = performance.now();
    render(
      <ApprovedList
        approved={rows}
        installs={new Map()}
        trans={trans}
        onInstall={onInstall}
        onRequest={jest.fn()}
        onOpenReport={jest.fn()}
      />
    );
    const list = screen.getByRole('list', { name: 'Approved packages' });
    expect(within(list).getAllByRole('listitem').length).toBeLessThan(50);
    fireEvent.change(screen.getByLabelText('Filter approved packages'), {
      target: { value: 'package-9999' }
    });
    expect(performance.now() - t0).toBeLessThan(1000); // jsdom; the browser figure is in bench/
    const row = screen.getByRole('listitem', { name: 'package-9999' });
    fireEvent.click(within(row).getByRole('button', { name: 'Install' }));
    expect(onInstall).toHaveBeenCalledWith('package-9999');
  });

  it('offers a one-click request for a dependency that is not approved', () => {
    const onRequest = jest.fn();
    render(
      <ApprovedList
        approved={rows.slice(0, 3)}
        installs={new Map()}
        trans={trans}
        onInstall={jest.fn()}
        onRequest={onRequest}
        onOpenReport={jest.fn()}
      />
    );
    const row = screen.getByRole('listitem', { name: 'package-1' });
    expect(within(row).queryByRole('button', { name: 'package-0' })).toBeNull();
    fireEvent.click(within(row).getByRole('button', { name: 'missing-dep' }));
    expect(onRequest).toHaveBeenCalledWith('missing-dep');
  });

  it('shows an install failure with a request button per missing dependency', () => {
    const onRequest = jest.fn();
    const installs = new Map([
      [
        'package-1',
        {
          name: 'package-1',
          status: 'failed' as const,
          // the names come from the install bundle, not from the (reworded) text
          text: 'repoguard: error: nothing installed (worded any way)',
          missing: ['six']
        }
      ]
    ]);
    render(
      <ApprovedList
        approved={rows.slice(0, 3)}
        installs={installs}
        trans={trans}
        onInstall={jest.fn()}
        onRequest={onRequest}
        onOpenReport={jest.fn()}
      />
    );
    expect(screen.getByRole('alert').textContent).toContain('Could not install package-1.');
    fireEvent.click(screen.getByRole('button', { name: 'Request six' }));
    expect(onRequest).toHaveBeenCalledWith('six');
  });
});
