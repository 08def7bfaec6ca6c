import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

export interface IRequestFields {
  name: string;
  url: string;
  ref?: string;
  justification?: string;
  /** Asked once, until the settings hold it. */
  email?: string;
}

/** Page object for the RepoGuard sidebar. */
export class RepoGuardHelper {
  constructor(readonly page: IJupyterLabPageFixture) {}

  /** The sidebar tab that opens the panel. */
  get tab(): Locator {
    return this.page.getByRole('tab', { name: 'RepoGuard' });
  }

  get panel(): Locator {
    return this.page.locator('#repoguard-panel');
  }

  async open(): Promise<Locator> {
    if (!(await this.panel.isVisible())) {
      await this.tab.click();
    }
    await this.panel.waitFor({ state: 'visible' });
    return this.panel;
  }

  get serverStatus(): Locator {
    return this.panel.getByRole('definition').filter({ hasText: /RepoGuard \d/ });
  }

  /** The embedded workspace the server reads (from /repoguard/health). */
  async workspace(): Promise<string> {
    const response = await this.page.request.get('/repoguard/health');
    return (await response.json()).workspace as string;
  }

  field(
    label: 'Package name' | 'Repository URL' | 'Ref' | 'Justification' | 'Your email'
  ): Locator {
    return this.panel.getByLabel(label, { exact: true });
  }

  get requestButton(): Locator {
    return this.panel.getByRole('button', { name: 'Request package' });
  }

  /** Fill the form and press "Request package" (does not wait for anything). */
  async request(fields: IRequestFields): Promise<void> {
    await this.fill(fields);
    await this.requestButton.click();
  }

  /** Fill the request form. */
  async fill(fields: IRequestFields): Promise<void> {
    await this.field('Package name').fill(fields.name);
    await this.field('Repository URL').fill(fields.url);
    await this.field('Ref').fill(fields.ref ?? '');
    await this.field('Justification').fill(fields.justification ?? 'Galata test');
    const email = this.field('Your email');
    if (fields.email && (await email.count()) > 0) {
      await email.fill(fields.email);
    }
  }

  /** A row of "My requests" in the Pipeline section. */
  myRequest(name: string): Locator {
    return this.panel
      .getByRole('list', { name: 'My requests' })
      .getByRole('listitem', { name, exact: true })
      .first();
  }

  status(name: string): Locator {
    return this.myRequest(name).getByTestId('repoguard-status');
  }

  approvedRow(name: string): Locator {
    return this.panel
      .getByRole('list', { name: 'Approved packages' })
      .getByRole('listitem', { name, exact: true });
  }

  refusedRow(name: string): Locator {
    return this.panel
      .getByRole('list', { name: 'Refused requests' })
      .getByRole('listitem', { name, exact: true })
      .first();
  }

  /**
   * Make sure `name` is approved, whatever ran before: unless it already is,
   * submit it through the REST API (as another requester, so it is not in
   * this user's "My requests") and wait until the local runner approves it.
   * A test that needs an approved package seeds it with this, not with an
   * earlier test.
   */
  async ensureApproved(name: string, url: string, timeoutMs = 150000): Promise<void> {
    const isApproved = async (): Promise<boolean> => {
      const response = await this.page.request.get('/repoguard/approved');
      const body = (await response.json()) as { approved: { package_name: string }[] };
      return body.approved.some(a => a.package_name === name);
    };
    if (await isApproved()) {
      return;
    }
    const xsrf = (await this.page.context().cookies()).find(c => c.name === '_xsrf')?.value;
    const response = await this.page.request.post('/repoguard/requests', {
      data: {
        package_name: name,
        repo_url: url,
        ref: '',
        requester_email: 'seed@example.com',
        justification: 'Seeded by a Galata test'
      },
      headers: xsrf ? { 'X-XSRFToken': xsrf } : {}
    });
    if (response.status() !== 201) {
      throw new Error(`seeding ${name}: HTTP ${response.status()} ${await response.text()}`);
    }
    const { request } = (await response.json()) as { request: { request_id: string } };
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (await isApproved()) {
        return;
      }
      const mine = (await (await this.page.request.get('/repoguard/requests')).json()) as {
        requests: { request: { request_id: string }; status: string; message?: string }[];
      };
      const state = mine.requests.find(r => r.request.request_id === request.request_id);
      last = state ? `${state.status}${state.message ? `: ${state.message}` : ''}` : 'not listed';
      if (state && (state.status === 'refused' || state.status === 'error')) {
        break; // final, and not approved
      }
      await this.page.waitForTimeout(1000);
    }
    throw new Error(`seeding ${name}: not approved (${last.slice(0, 400)})`);
  }

  /** Wait for a request's status to reach `final`, returning every status seen on the way. */
  async statusesUntil(name: string, final: string, timeoutMs = 120000): Promise<string[]> {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = ((await this.status(name).textContent({ timeout: 5000 })) ?? '').trim();
      if (text && seen[seen.length - 1] !== text) {
        seen.push(text);
      }
      if (text === final) {
        return seen;
      }
      await this.page.waitForTimeout(150);
    }
    throw new Error(`${name} never reached ${final}; saw ${seen.join(' → ')}`);
  }
}
