import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The repository root (ui-tests/helpers/..). */
const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'backend-infra', 'pipeline', 'bin', 'repoguard-pipeline.js');
const GIT_USER = ['-c', 'user.name=RepoGuard Galata', '-c', 'user.email=galata@localhost'];

/** One .eml file of the workspace's outbox. */
export interface IOutboxMail {
  file: string;
  text: string;
}

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

  /**
   * A new git repository under the workspace's allowed local root (`sources/`),
   * one commit holding `files`; returns its `file://` URL and commit.
   */
  async addSource(
    name: string,
    files: Record<string, string>
  ): Promise<{ url: string; sha: string }> {
    const dir = path.join(await this.workspace(), 'sources', name);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    const git = (...args: string[]) => run('git', ['-C', dir, ...GIT_USER, ...args]);
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-qm', `${name} (Galata test source)`);
    const sha = (await git('rev-parse', 'HEAD')).stdout.trim();
    return { url: `file://${dir}`, sha };
  }

  /**
   * Add an OSV record to the workspace's local advisory data
   * (`advisories/<Ecosystem>/<id>.json`) and recompile `osv-db/` from it with
   * scripts/osv-db.py, as jupyter_server_test_config.py made it.
   */
  async addAdvisory(record: {
    id: string;
    affected: { package: { ecosystem: string } }[];
  }): Promise<string> {
    const workspace = await this.workspace();
    const folder = path.join(workspace, 'advisories', record.affected[0].package.ecosystem);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, `${record.id}.json`), JSON.stringify(record, null, 2));
    const db = this.advisoryDb(workspace);
    await run('python3', [
      path.join(ROOT, 'scripts', 'osv-db.py'),
      'fixture',
      path.join(workspace, 'advisories'),
      db
    ]);
    return db;
  }

  /** The compiled advisory database the workspace's runner and re-scan read. */
  advisoryDb(workspace: string): string {
    return path.join(workspace, 'osv-db');
  }

  /**
   * `repoguard-pipeline rescan --local WORKSPACE` (the embedded mode's
   * scheduled job), against the workspace's advisory data; its output.
   */
  async rescan(env: Record<string, string> = {}): Promise<string> {
    const workspace = await this.workspace();
    const { stdout, stderr } = await run(process.execPath, [CLI, 'rescan', '--local', workspace], {
      env: {
        ...process.env,
        REPOGUARD_OSV_ONLINE: '0',
        OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY: this.advisoryDb(workspace),
        ...env
      },
      timeout: 300000
    });
    return `${stdout}${stderr}`;
  }

  /** The workspace outbox's mails whose file name starts with `prefix`. */
  async outbox(prefix = ''): Promise<IOutboxMail[]> {
    const dir = path.join(await this.workspace(), 'outbox');
    const files = (await readdir(dir)).filter(f => f.startsWith(prefix) && f.endsWith('.eml'));
    return Promise.all(
      files.sort().map(async file => ({ file, text: await readFile(path.join(dir, file), 'utf8') }))
    );
  }

  /**
   * Append a row to the results file by hand, as anyone with write access to
   * the request repo could: clone, edit the CSV, commit, push (retried if the
   * runner pushed first). Columns not given stay empty.
   */
  async appendResultRow(values: Record<string, string>): Promise<void> {
    const repo = path.join(await this.workspace(), 'requests.git');
    const clone = await mkdtemp(path.join(tmpdir(), 'repoguard-galata-edit-'));
    const git = (...args: string[]) => run('git', ['-C', clone, ...GIT_USER, ...args]);
    try {
      await run('git', ['clone', '-q', repo, clone]);
      for (let attempt = 0; ; attempt++) {
        const file = path.join(clone, 'external-package-results.csv');
        const text = await readFile(file, 'utf8');
        const header = text.split('\n', 1)[0].split(',');
        const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
        const line = header.map(column => cell(values[column] ?? '')).join(',');
        await writeFile(file, `${text.endsWith('\n') ? text : `${text}\n`}${line}\n`);
        await git('commit', '-qam', `hand-made results row ${values.request_id ?? ''}`);
        try {
          await git('push', '-q', 'origin', 'HEAD:main');
          return;
        } catch (error) {
          if (attempt >= 4) throw error;
          await git('fetch', '-q', 'origin', 'main');
          await git('reset', '-q', '--hard', 'origin/main');
        }
      }
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  }

  /** Hide and show the panel again: it refreshes its lists when it is shown. */
  async reopen(): Promise<Locator> {
    if (await this.panel.isVisible()) {
      await this.tab.click();
      await this.panel.waitFor({ state: 'hidden' });
    }
    return this.open();
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
