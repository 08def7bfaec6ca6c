import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

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
}
