/**
 * The embedded workspace: everything the local mode keeps, in one folder.
 *
 *   DIR/requests.git              bare request repo (both CSV files, branch main)
 *   DIR/private/<name>.git        one bare repo per approved package
 *   DIR/reports/<request_id>/     report.md, report.html, report.sarif
 *   DIR/outbox/                   .eml files when no SMTP server is configured
 *   DIR/state/<request_id>.json   run state of each request (read by the Studio panel)
 *   DIR/sources/                  the default allowed local root for file:// sources
 *   DIR/work/                     scratch space of a run (clones), removed after it
 *   DIR/repoguard.config.json     the configuration below
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localSigner } from './attest';
import { ALL_SCANNERS } from './scanners/registry';
import {
  DEFAULT_ALLOWED_HOSTS,
  Severity,
  REQUEST_COLUMNS,
  REQUESTS_FILE,
  RESULT_COLUMNS,
  RESULTS_FILE,
  appendRows
} from '../../../src/common';
import { git } from './git';

export interface IMailConfig {
  /** `outbox`: write .eml files to DIR/outbox; `smtp`: send through host:port. */
  transport: 'outbox' | 'smtp';
  from: string;
  host?: string;
  port?: number;
  /** SMTP over TLS from the start (port 465). Default false (STARTTLS when offered). */
  secure?: boolean;
  /** Do not use STARTTLS even when offered (a local test server). */
  ignoreTLS?: boolean;
  /** SMTP user; the password comes from env REPOGUARD_SMTP_PASSWORD. */
  user?: string;
}

export interface IWorkspaceConfig {
  allowedHosts: string[];
  allowedLocalRoots: string[];
  severityThreshold: Severity;
  maxRepoSizeMB: number;
  scanTimeoutSeconds: number;
  scanners: string[];
  mail: IMailConfig;
  /**
   * Folder holding the scanner executables; when set, scanners are looked up
   * there only (env REPOGUARD_SCANNER_BIN_DIR does the same). Default: PATH.
   */
  scannerBinDir?: string;
  /** Time limit of one clone, in seconds (default 300). */
  cloneTimeoutSeconds?: number;
  /** InfoSec waivers: a matching finding is reported but does not count. */
  waivers?: IWaiver[];
}

export interface IWaiver {
  /** Package name the waiver applies to (`*` for every package). */
  package: string;
  /** Rule id as reported (e.g. `B101`, `repoguard.python.eval-exec`). */
  ruleId: string;
  /** Optional path prefix inside the repository. */
  path?: string;
  reason: string;
}

export function defaultConfig(root: string): IWorkspaceConfig {
  return {
    allowedHosts: [...DEFAULT_ALLOWED_HOSTS],
    allowedLocalRoots: [path.join(root, 'sources')],
    severityThreshold: 'medium',
    maxRepoSizeMB: 200,
    scanTimeoutSeconds: 300,
    scanners: [...ALL_SCANNERS],
    mail: { transport: 'outbox', from: 'repoguard@localhost' }
  };
}

export class Workspace {
  constructor(readonly root: string) {}

  get requestRepo(): string {
    return path.join(this.root, 'requests.git');
  }
  get privateDir(): string {
    return path.join(this.root, 'private');
  }
  /** The pipeline's attestation key pair (the private key is the pipeline's alone). */
  get keysDir(): string {
    return path.join(this.root, 'keys');
  }

  get reportsDir(): string {
    return path.join(this.root, 'reports');
  }
  get outboxDir(): string {
    return path.join(this.root, 'outbox');
  }
  get stateDir(): string {
    return path.join(this.root, 'state');
  }
  get workDir(): string {
    return path.join(this.root, 'work');
  }
  get sourcesDir(): string {
    return path.join(this.root, 'sources');
  }
  get configFile(): string {
    return path.join(this.root, 'repoguard.config.json');
  }

  async config(): Promise<IWorkspaceConfig> {
    let text: string;
    try {
      text = await readFile(this.configFile, 'utf8');
    } catch {
      throw new Error(
        `${this.root} is not a RepoGuard workspace: run \`repoguard-pipeline init --local ${this.root}\``
      );
    }
    return { ...defaultConfig(this.root), ...(JSON.parse(text) as Partial<IWorkspaceConfig>) };
  }

  /**
   * Create the workspace (idempotent: an existing workspace is left as it is,
   * and only what is missing is added).
   */
  async init(): Promise<{ created: boolean }> {
    const created = !existsSync(this.configFile);
    for (const dir of [
      this.root,
      this.privateDir,
      this.reportsDir,
      this.outboxDir,
      this.stateDir,
      this.sourcesDir
    ]) {
      await mkdir(dir, { recursive: true });
    }
    if (created) {
      await writeFile(
        this.configFile,
        JSON.stringify(defaultConfig(this.root), null, 2) + '\n',
        'utf8'
      );
    }
    if (!existsSync(path.join(this.requestRepo, 'HEAD'))) {
      await git(['init', '--quiet', '--bare', '--initial-branch=main', this.requestRepo]);
      await this.seedRequestRepo();
    }
    // The attestation key pair: installers trust keys/attestation-ed25519.pub.pem.
    await localSigner(this.keysDir).publicKeyPem();
    return { created };
  }

  /** First commit of the request repo: both CSV files with their headers. */
  private async seedRequestRepo(): Promise<void> {
    const work = await mkdtemp(path.join(tmpdir(), 'repoguard-seed-'));
    try {
      await git(['clone', '--quiet', this.requestRepo, work]);
      await writeFile(path.join(work, REQUESTS_FILE), appendRows('', REQUEST_COLUMNS, []));
      await writeFile(path.join(work, RESULTS_FILE), appendRows('', RESULT_COLUMNS, []));
      await git(['add', REQUESTS_FILE, RESULTS_FILE], { cwd: work });
      await git(['commit', '--quiet', '-m', 'Start the RepoGuard request repo'], { cwd: work });
      await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: work });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
