import { fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';
import { PipelineView } from '../components/PipelineView';
import { RefusedList } from '../components/RefusedList';
import { trans } from './utils';

const request = (name: string, status: string, stage: string | null = null) =>
  ({
    request: { request_id: `rq-${name}`, package_name: name, requested_at: '2026-01-01T00:00:00Z' },
    status,
    stage,
    result: null,
    message: status === 'refused' ? 'shell=True' : null,
    updated_at: null
  }) as any;

const pipeline = {
  mode: 'embedded',
  name: 'local runner',
  stages: ['ingest', 'scan', 'decide', 'publish', 'record', 'notify'],
  current: { id: 'local-1', status: 'InProgress', stage: 'scan', started_at: '', updated_at: '' },
  executions: []
} as any;

describe('PipelineView', () => {
  it('shows each request with its status and the stage in progress', () => {
    render(
      <PipelineView
        requests={[request('a', 'scan', 'scan'), request('b', 'approved')]}
        pipeline={pipeline}
        email="ada@example.com"
        trans={trans}
        onOpenFindings={jest.fn()}
      />
    );
    const a = screen.getByRole('listitem', { name: 'a' });
    expect(within(a).getByTestId('repoguard-status').textContent).toBe('scan…');
    const stages = within(a).getByRole('list', { name: 'Stages of a' });
    expect(stages.querySelector('[aria-current="step"]')?.textContent).toBe('scan');
    expect(within(screen.getByRole('listitem', { name: 'b' })).getByText('approved')).toBeTruthy();
    expect(screen.getByText('local runner: running local-1 (stage scan)')).toBeTruthy();
  });

  it('marks a revoked approval and opens the revocation findings', () => {
    // Given an approved request whose commit a re-scan revoked
    const onOpen = jest.fn();
    const revoked = {
      ...request('c', 'revoked'),
      result: { request_id: 'rq-c-revoked-1', decision: 'revoked' },
      message: 'revoked on re-scan: refused by the vulnerability gate'
    };
    render(
      <PipelineView
        requests={[revoked]}
        pipeline={pipeline}
        email="ada@example.com"
        trans={trans}
        onOpenFindings={onOpen}
      />
    );
    // Then it reads revoked, and Findings opens the revocation's report
    const c = screen.getByRole('listitem', { name: 'c' });
    expect(within(c).getByTestId('repoguard-status').textContent).toBe('revoked');
    fireEvent.click(within(c).getByRole('button', { name: 'Findings' }));
    expect(onOpen).toHaveBeenCalledWith('rq-c-revoked-1');
  });

  it('asks for the email before it can list anything', () => {
    render(
      <PipelineView
        requests={[]}
        pipeline={null}
        email=""
        trans={trans}
        onOpenFindings={jest.fn()}
      />
    );
    expect(screen.getByText(/after your first request/)).toBeTruthy();
  });
});

describe('RefusedList', () => {
  it('opens the findings of a refused request', () => {
    const onOpen = jest.fn();
    render(
      <RefusedList refused={[request('bad', 'refused')]} trans={trans} onOpenFindings={onOpen} />
    );
    const row = screen.getByRole('listitem', { name: 'bad' });
    fireEvent.click(within(row).getByRole('button'));
    expect(onOpen).toHaveBeenCalledWith('rq-bad');
  });
});
