import { render, screen } from '@testing-library/react';
import * as React from 'react';
import { HealthView } from '../components/HealthView';

const trans = {
  __: (text: string, ...args: unknown[]) =>
    args.reduce<string>((out, arg, i) => out.replace(`%${i + 1}`, String(arg)), text)
} as any;

describe('HealthView', () => {
  it('shows the server version and mode', () => {
    render(
      <HealthView
        health={{ version: '0.1.0', mode: 'embedded', ready: true, workspace: '/ws' }}
        error={null}
        busy={false}
        trans={trans}
      />
    );
    expect(screen.getByTestId('repoguard-version').textContent).toBe('RepoGuard 0.1.0');
    expect(screen.getByTestId('repoguard-mode').textContent).toBe('embedded');
    expect(screen.getByText('ready')).toBeTruthy();
  });

  it('says what to do when the workspace is not ready', () => {
    render(
      <HealthView
        health={{ version: '0.1.0', mode: 'embedded', ready: false, detail: 'run init' }}
        error={null}
        busy={false}
        trans={trans}
      />
    );
    expect(screen.getByText('run init')).toBeTruthy();
  });

  it('shows an error as an alert', () => {
    render(<HealthView health={null} error="server down" busy={false} trans={trans} />);
    expect(screen.getByRole('alert').textContent).toBe('server down');
  });
});
