import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as React from 'react';
import { RequestForm } from '../components/RequestForm';
import { trans } from './utils';

const policy = { allowedHosts: ['github.com'], allowedLocalRoots: [] };

function setup(onSubmit = jest.fn().mockResolvedValue([]), email = '') {
  render(
    <RequestForm
      policy={policy}
      email={email}
      busy={false}
      draft={{}}
      draftVersion={0}
      trans={trans}
      onSubmit={onSubmit}
    />
  );
  return onSubmit;
}

describe('RequestForm', () => {
  it('labels its fields and names its button', () => {
    setup();
    for (const label of ['Package name', 'Repository URL', 'Ref', 'Justification', 'Your email']) {
      expect(screen.getByLabelText(label)).toBeTruthy();
    }
    expect(screen.getByRole('button', { name: 'Request package' })).toBeTruthy();
  });

  it('tells each invalid field before sending anything', async () => {
    // Given a form with a bad name and a host off the allow list
    const onSubmit = setup();
    fireEvent.change(screen.getByLabelText('Package name'), { target: { value: '-x-' } });
    fireEvent.change(screen.getByLabelText('Repository URL'), {
      target: { value: 'https://evil.example/o/r' }
    });
    // When the user submits
    fireEvent.click(screen.getByRole('button', { name: 'Request package' }));
    // Then each field says why, and nothing was sent
    expect(await screen.findByText(/^Package name may only hold/)).toBeTruthy();
    expect(
      screen.getByText(/^Repository URL host evil.example is not on the allow list/)
    ).toBeTruthy();
    expect(screen.getByText(/^Your email is required once/)).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('sends a valid request with the email from the settings', async () => {
    const onSubmit = setup(undefined, 'ada@example.com');
    expect(screen.queryByLabelText('Your email')).toBeNull();
    fireEvent.change(screen.getByLabelText('Package name'), { target: { value: 'requests' } });
    fireEvent.change(screen.getByLabelText('Repository URL'), {
      target: { value: 'https://github.com/psf/requests' }
    });
    fireEvent.click(screen.getByRole('button', { name: 'Request package' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({
      package_name: 'requests',
      repo_url: 'https://github.com/psf/requests',
      ref: '',
      justification: '',
      requester_email: 'ada@example.com'
    });
    expect(await screen.findByRole('status')).toBeTruthy();
  });

  it('shows the server’s field errors', async () => {
    setup(jest.fn().mockResolvedValue([{ field: 'ref', reason: 'does not exist' }]), 'a@b.co');
    fireEvent.change(screen.getByLabelText('Package name'), { target: { value: 'requests' } });
    fireEvent.change(screen.getByLabelText('Repository URL'), {
      target: { value: 'https://github.com/psf/requests' }
    });
    fireEvent.click(screen.getByRole('button', { name: 'Request package' }));
    expect(await screen.findByText('Ref does not exist')).toBeTruthy();
  });
});
