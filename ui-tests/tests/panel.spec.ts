import { expect, test } from '@jupyterlab/galata';
import { RepoGuardHelper } from '../helpers/RepoGuardHelper';

test.describe('RepoGuard panel', () => {
  test('opens from the left sidebar and shows the server health', async ({ page }) => {
    const repoguard = new RepoGuardHelper(page);
    // Given JupyterLab with RepoGuard, when the user clicks the sidebar icon
    const panel = await repoguard.open();
    // Then the panel shows the server's version, the embedded mode and a ready workspace
    await expect(panel.getByTestId('repoguard-version')).toHaveText(/^RepoGuard \d+\.\d+\.\d+/);
    await expect(panel.getByTestId('repoguard-mode')).toHaveText('embedded');
    await expect(panel.getByText('ready', { exact: true })).toBeVisible();
  });

  test('opens from the command palette', async ({ page }) => {
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('repoguard:open-panel');
    });
    await expect(page.locator('#repoguard-panel')).toBeVisible();
  });
});
