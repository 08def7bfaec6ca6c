import { expect, galata, test } from '@jupyterlab/galata';
import { RepoGuardHelper } from '../helpers/RepoGuardHelper';

const EMAIL = 'ada@example.com';
const INFOSEC = 'secops@example.com';

// Poll every second while a request is in flight, so approval is seen quickly.
test.use({
  mockSettings: { ...galata.DEFAULT_SETTINGS, 'repoguard:plugin': { pollInterval: 1 } }
});

/** A clean package (the demo's clean-greeter, renamed) that pins one dependency in requirements.txt. */
function pinnedSource(name: string, dependency: string): Record<string, string> {
  const module = name.replace(/-/g, '_');
  return {
    'pyproject.toml': [
      '[build-system]',
      'requires = ["setuptools>=61"]',
      'build-backend = "setuptools.build_meta"',
      '',
      '[project]',
      `name = "${name}"`,
      'version = "1.0.0"',
      'description = "A tiny, clean package for the revocation Galata test."',
      'requires-python = ">=3.8"',
      'dependencies = []',
      ''
    ].join('\n'),
    'README.md': `# ${name}\n\nGreets; its development requirements pin ${dependency} 1.0.0.\n`,
    'requirements.txt': `${dependency}==1.0.0\n`,
    [`src/${module}/__init__.py`]:
      '"""Greetings."""\n\n\ndef greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
  };
}

/** An OSV record for `dependency` 1.0.0 (fixed in 1.0.1), critical. */
function advisory(id: string, dependency: string) {
  return {
    id,
    modified: '2026-12-01T00:00:00Z',
    published: '2026-12-01T00:00:00Z',
    summary: `Remote code execution in ${dependency} (Galata test advisory)`,
    details: 'An advisory published after the approval.',
    affected: [
      {
        package: { ecosystem: 'PyPI', name: dependency, purl: `pkg:pypi/${dependency}` },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.1' }] }],
        versions: ['1.0.0']
      }
    ],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }]
  };
}

// Each test seeds what it needs itself (its own source, its own advisory, its own
// rows) under names unique to the run: any order, or one test alone, passes.
test.describe('RepoGuard revocation', () => {
  test('approved, installed, then an advisory appears: the re-scan revokes it; mail, panel and install agree', async ({
    page
  }, testInfo) => {
    const repoguard = new RepoGuardHelper(page);
    const stamp = Date.now().toString(36);
    const name = `rg-revocable-${stamp}`;
    const dependency = `rg-galata-dep-${stamp}`;
    const advisoryId = `PYSEC-2099-${Date.now()}`;
    const source = await repoguard.addSource(name, pinnedSource(name, dependency));

    // Given the package requested from the panel and approved by the local runner
    await repoguard.open();
    await repoguard.request({
      name,
      url: source.url,
      justification: 'Revocation test',
      email: EMAIL
    });
    await repoguard.statusesUntil(name, 'approved', 150000);
    const requestId = (await repoguard.myRequest(name).getAttribute('data-request-id'))!;
    expect(requestId).toBeTruthy();
    await expect(repoguard.approvedRow(name)).toBeVisible();

    // … and installed from the panel into a running kernel
    await page.notebook.createNew(`revoked-${stamp}.ipynb`);
    await page.notebook.setCell(0, 'code', 'import sys; print(sys.executable)');
    await page.notebook.runCell(0);
    await repoguard.open();
    await repoguard.approvedRow(name).getByRole('button', { name: 'Install' }).click();
    await expect(
      repoguard.panel.getByText(`Installed ${name} into the notebook’s kernel.`)
    ).toBeVisible({ timeout: 120000 });

    // The list as the panel shows it now, before anything is revoked.
    const approvedBefore = await (await page.request.get('/repoguard/approved')).text();
    expect(JSON.parse(approvedBefore).approved.map((r: any) => r.package_name)).toContain(name);

    // When an advisory for the exact version it pins is added to the workspace's
    // advisory data, and the embedded mode's re-scan runs (InfoSec's address
    // given as the AWS deployment gives it, REPOGUARD_INFOSEC_EMAIL)
    await repoguard.addAdvisory(advisory(advisoryId, dependency));
    const t0 = Date.now();
    const output = await repoguard.rescan({ REPOGUARD_INFOSEC_EMAIL: INFOSEC });
    testInfo.annotations.push({ type: 'rescan (ms)', description: String(Date.now() - t0) });
    expect(output).toContain(`${name}@${source.sha.slice(0, 12)}  REVOKED`);

    // Then the revocation mail is in the workspace outbox, to the requester and to InfoSec
    const mails = await repoguard.outbox(`${requestId}-revoked-1`);
    const recipients = mails.map(m => /^To: (.*)$/m.exec(m.text)?.[1]?.trim()).sort();
    expect(recipients).toEqual([EMAIL, INFOSEC]);
    for (const mail of mails) {
      expect(mail.text).toContain(`${name}: approval revoked`);
      expect(mail.text).toContain(advisoryId);
    }

    // The panel's Install, pressed on the row the panel still shows (its list as
    // fetched before the re-scan, held here), is refused by the kernel with the reason
    await page.route('**/repoguard/approved*', route =>
      route.fulfill({ status: 200, contentType: 'application/json', body: approvedBefore })
    );
    await repoguard.reopen();
    await repoguard.approvedRow(name).getByRole('button', { name: 'Install' }).click();
    const refusal = repoguard.panel
      .getByRole('alert')
      .filter({ hasText: `Could not install ${name}.` });
    await expect(refusal).toBeVisible({ timeout: 120000 });
    await expect(refusal).toContainText(`${name} was revoked`);
    await expect(refusal).toContainText(advisoryId);
    await page.unroute('**/repoguard/approved*');

    // Once the panel refreshes, the request is marked revoked with the reason (and
    // announced, as decisions are), and the approved list no longer offers it
    await repoguard.reopen();
    await expect(repoguard.status(name)).toHaveText('revoked', { timeout: 15000 });
    await expect(page.getByText(`RepoGuard revoked ${name}: revoked on re-scan`)).toBeVisible();
    await expect(repoguard.myRequest(name)).toContainText('revoked on re-scan');
    await expect(repoguard.myRequest(name)).toContainText(advisoryId);
    await expect(repoguard.approvedRow(name)).toHaveCount(0);
    await testInfo.attach('panel-revoked.png', {
      body: await repoguard.panel.screenshot(),
      contentType: 'image/png'
    });

    // `%repoguard install NAME` in a cell refuses it too, and `%repoguard status`
    // warns about the copy installed in this kernel
    await page.notebook.setCell(0, 'code', `%load_ext repoguard\n%repoguard install ${name}`);
    await page.notebook.runCell(0);
    const installOut = (await page.notebook.getCellTextOutput(0))!.join('\n');
    expect(installOut).toContain(`nothing installed: ${name} was revoked`);
    await page.notebook.setCell(0, 'code', `%repoguard status ${name}`);
    await page.notebook.runCell(0);
    const statusOut = (await page.notebook.getCellTextOutput(0))!.join('\n');
    expect(statusOut).toMatch(new RegExp(`warning: ${name} .*revoked`));

    // Leave the test environment as it was.
    await page.notebook.setCell(0, 'code', `%pip uninstall -y -q ${name}`);
    await page.notebook.runCell(0);
  });

  test('a results row appended by hand, with a valid-looking sha, installs nothing', async ({
    page
  }) => {
    const repoguard = new RepoGuardHelper(page);
    const workspace = await repoguard.workspace();
    // A real mirror and commit to point the forged row at (seeded by this test).
    await repoguard.ensureApproved('clean-greeter', `file://${workspace}/sources/clean-greeter`);
    const approved = (await (await page.request.get('/repoguard/approved')).json()).approved as {
      package_name: string;
      commit_sha: string;
      private_repo_url: string;
      repo_url: string;
    }[];
    const real = approved.find(r => r.package_name === 'clean-greeter')!;
    const stamp = Date.now().toString(36);
    const forged = `rg-forged-${stamp}`;
    // Given an `approved` row that no pipeline wrote: a valid sha and mirror, no attestation
    await repoguard.appendResultRow({
      request_id: `rq-forged-${stamp}`,
      package_name: forged,
      repo_url: real.repo_url,
      ref: 'main',
      commit_sha: real.commit_sha,
      decision: 'approved',
      max_severity: 'none',
      critical: '0',
      high: '0',
      medium: '0',
      low: '0',
      private_repo_url: real.private_repo_url,
      scanned_at: new Date().toISOString(),
      execution_id: 'by-hand'
    });

    // When the user installs it from the panel (the list shows what the results file says)
    await page.notebook.createNew(`forged-${stamp}.ipynb`);
    const distributions = async (): Promise<string> => {
      await page.notebook.setCell(
        0,
        'code',
        'import importlib.metadata as m\nprint(sorted(str(d.metadata["Name"]) for d in m.distributions()))'
      );
      await page.notebook.runCell(0);
      return (await page.notebook.getCellTextOutput(0))!.join('');
    };
    const before = await distributions();
    await repoguard.reopen();
    const row = repoguard.approvedRow(forged);
    await expect(row).toBeVisible({ timeout: 15000 });
    await row.getByRole('button', { name: 'Install' }).click();

    // Then the install is refused, saying why, and nothing is installed
    const refusal = repoguard.panel
      .getByRole('alert')
      .filter({ hasText: `Could not install ${forged}.` });
    await expect(refusal).toBeVisible({ timeout: 120000 });
    await expect(refusal).toContainText(
      `request rq-forged-${stamp} has no signed attestation: the results row alone is not an approval`
    );
    expect(await distributions()).toEqual(before);
    expect(before).not.toContain(forged);
  });
});
