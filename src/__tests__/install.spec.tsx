/**
 * The panel reads `%repoguard install`'s machine-readable bundle: the shared
 * vector that pytest builds from the installer (repoguard/tests/test_magics.py).
 */
import { readFileSync } from 'fs';
import path from 'path';
import { render, screen } from '@testing-library/react';
import * as React from 'react';
import { INSTALL_MIME, readInstallBundle } from '../common';
import contract from '../common/contract.json';
import { ApprovedList } from '../components/ApprovedList';
import { installOutcome } from '../status';
import { trans } from './utils';

const vector = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'common', 'fixtures', 'install-bundle.json'), 'utf8')
) as { bundle: unknown; installedBundle: unknown };

describe('the install bundle', () => {
  it('has the contract MIME type', () => {
    expect(INSTALL_MIME).toBe(contract.mime.install);
  });

  it('names the packages to request, whatever the human text says', () => {
    // Given the bundle of a failed install and a reworded message
    const bundle = readInstallBundle(vector.bundle);
    expect(bundle).not.toBeNull();
    const state = installOutcome('rg-app', false, 'RepoGuard could not do it (reworded)', bundle);
    // Then the outcome is failed and offers exactly the bundle's missing names
    expect(state.status).toBe('failed');
    expect(state.missing).toEqual(['rg-lib']);
  });

  it('reads a successful install', () => {
    const bundle = readInstallBundle(vector.installedBundle);
    const state = installOutcome('rg-alpha', true, '', bundle);
    expect(state.status).toBe('installed');
    expect(state.missing).toEqual([]);
  });

  it('refuses a malformed bundle', () => {
    expect(readInstallBundle({ format: 'repoguard-install/1', ok: 'yes' })).toBeNull();
    expect(readInstallBundle(null)).toBeNull();
  });

  it('offers one Request button per missing package', () => {
    const state = installOutcome('rg-app', false, 'anything', readInstallBundle(vector.bundle));
    const onRequest = jest.fn();
    render(
      <ApprovedList
        approved={[]}
        installs={new Map([[state.name, state]])}
        trans={trans}
        onInstall={jest.fn()}
        onRequest={onRequest}
        onOpenReport={jest.fn()}
      />
    );
    screen.getByRole('button', { name: 'Request rg-lib' }).click();
    expect(onRequest).toHaveBeenCalledWith('rg-lib');
  });
});
