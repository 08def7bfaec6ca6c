/**
 * The request repo as a ledger: read both CSV files at the tip of `main`, and
 * append rows with optimistic concurrency. Real git in both modes (a bare
 * repository in the workspace, or the GitHub request repo over https).
 *
 * An append fetches the tip (depth 1, so history never slows it down), writes
 * the new file content as a blob, builds a commit on top of the tip with
 * plumbing (no checkout), and pushes it. A push that is not a fast-forward
 * (someone else appended first) is retried from a fresh fetch with jittered
 * exponential backoff (p-retry): concurrent writers never lose a row. Rows
 * whose key already appears in the file are not appended again, so a retried
 * or repeated append is a no-op.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import Papa from 'papaparse';
import { REQUESTS_FILE, RESULTS_FILE, appendRows } from '../../../src/common';
import { git } from './git';

export interface ILedgerSnapshot {
  /** Commit the files were read at. */
  sha: string;
  requests: string;
  results: string;
}

export interface IAppendOptions {
  /** Column whose value must be unique: rows already present are skipped. */
  uniqueBy?: string;
  message?: string;
}

export interface IAppendResult {
  sha: string;
  appended: number;
  attempts: number;
}

export interface ILedger {
  /** Where the ledger lives, for messages (never carries credentials). */
  readonly url: string;
  read(): Promise<ILedgerSnapshot>;
  append(
    file: string,
    columns: readonly string[],
    rows: Record<string, string>[],
    options?: IAppendOptions
  ): Promise<IAppendResult>;
}

export interface IGitLedgerOptions {
  /** `file:///…/requests.git` or `https://…`; never with credentials in it. */
  url: string;
  branch?: string;
  /** Extra git environment (e.g. GIT_CONFIG_* carrying an auth header). */
  env?: NodeJS.ProcessEnv;
  /** Attempts after the first (default 60, enough for dozens of concurrent writers). */
  retries?: number;
}

class PushRejected extends Error {}

const REJECTED =
  /non-fast-forward|fetch first|\[rejected\]|cannot lock ref|failed to update ref|stale info|unable to update local ref|incorrect old value/i;

export class GitLedger implements ILedger {
  readonly url: string;
  private readonly branch: string;

  constructor(private readonly options: IGitLedgerOptions) {
    this.url = options.url;
    this.branch = options.branch ?? 'main';
  }

  /** A local bare repository path as a ledger (file:// so shallow fetches work). */
  static local(bareRepo: string): GitLedger {
    return new GitLedger({ url: `file://${path.resolve(bareRepo)}` });
  }

  async read(): Promise<ILedgerSnapshot> {
    return this.withScratch(async run => {
      const sha = await this.fetchTip(run);
      const [requests, results] = await Promise.all([
        this.show(run, sha, REQUESTS_FILE),
        this.show(run, sha, RESULTS_FILE)
      ]);
      return { sha, requests, results };
    });
  }

  async append(
    file: string,
    columns: readonly string[],
    rows: Record<string, string>[],
    options: IAppendOptions = {}
  ): Promise<IAppendResult> {
    let attempts = 0;
    return pRetry(
      async () => {
        attempts++;
        return this.withScratch(async (run, scratch) => {
          const base = await this.fetchTip(run);
          const text = await this.show(run, base, file);
          const fresh = options.uniqueBy
            ? withoutPresent(text, rows, options.uniqueBy)
            : rows;
          if (fresh.length === 0) {
            return { sha: base, appended: 0, attempts };
          }
          const content = appendRows(text, columns, fresh);
          const blobFile = path.join(scratch, 'blob');
          await writeFile(blobFile, content);
          const blob = (await run(['hash-object', '-w', blobFile])).trim();
          const index = { GIT_INDEX_FILE: path.join(scratch, 'index') };
          await run(['read-tree', base], index);
          await run(['update-index', '--cacheinfo', `100644,${blob},${file}`], index);
          const tree = (await run(['write-tree'], index)).trim();
          const message = options.message ?? `Append ${fresh.length} row(s) to ${file}`;
          const commit = (await run(['commit-tree', tree, '-p', base, '-m', message])).trim();
          try {
            await run(['push', '--quiet', this.url, `${commit}:refs/heads/${this.branch}`]);
          } catch (error) {
            const text = error instanceof Error ? error.message : String(error);
            if (REJECTED.test(text)) {
              throw new PushRejected(`push to ${this.url} rejected (someone appended first)`);
            }
            throw new AbortError(text);
          }
          return { sha: commit, appended: fresh.length, attempts };
        });
      },
      {
        retries: this.options.retries ?? 60,
        factor: 1.5,
        minTimeout: 25,
        maxTimeout: 1000,
        randomize: true,
        shouldRetry: error => error instanceof PushRejected
      }
    );
  }

  private async withScratch<T>(
    work: (
      run: (args: string[], env?: NodeJS.ProcessEnv) => Promise<string>,
      scratch: string
    ) => Promise<T>
  ): Promise<T> {
    const scratch = await mkdtemp(path.join(tmpdir(), 'repoguard-ledger-'));
    const gitDir = path.join(scratch, 'repo.git');
    const run = (args: string[], env?: NodeJS.ProcessEnv): Promise<string> =>
      git(['--git-dir', gitDir, ...args], { env: { ...this.options.env, ...env } });
    try {
      await git(['init', '--quiet', '--bare', gitDir]);
      return await work(run, scratch);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async fetchTip(
    run: (args: string[], env?: NodeJS.ProcessEnv) => Promise<string>
  ): Promise<string> {
    await run([
      'fetch',
      '--quiet',
      '--depth',
      '1',
      '--no-tags',
      this.url,
      `+refs/heads/${this.branch}:refs/heads/tip`
    ]);
    return (await run(['rev-parse', 'refs/heads/tip'])).trim();
  }

  private async show(
    run: (args: string[], env?: NodeJS.ProcessEnv) => Promise<string>,
    sha: string,
    file: string
  ): Promise<string> {
    try {
      return await run(['show', `${sha}:${file}`]);
    } catch {
      return ''; // a file not there yet reads as empty (appendRows adds the header)
    }
  }
}

function withoutPresent(
  text: string,
  rows: Record<string, string>[],
  key: string
): Record<string, string>[] {
  const body = text.replace(/^\uFEFF/, '');
  const parsed = Papa.parse<Record<string, string>>(body, {
    header: true,
    skipEmptyLines: 'greedy'
  });
  const present = new Set(parsed.data.map(r => r[key]));
  const seen = new Set<string>();
  return rows.filter(r => {
    const value = r[key] ?? '';
    if (present.has(value) || seen.has(value)) {
      return false;
    }
    seen.add(value);
    return true;
  });
}
