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
 *
 * Writers on the same machine as a local ledger (the embedded mode) also take
 * an advisory lock file beside the bare repo while they append, so that they
 * queue instead of colliding (optimistic retries cost a fetch and a push each;
 * 50 writers colliding on 2 cores waste most of their work). The push check
 * still guards against writers that do not take the lock (the Python side,
 * a person with git); a lock older than 30 s is taken over as stale.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, open, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import Papa from 'papaparse';
import {
  APPEND_LOCK,
  REQUESTS_FILE,
  RESULTS_FILE,
  appendRows,
  lostRace
} from '../../../src/common';
import { git, gitWithInput } from './git';

type Run = (args: string[], input?: string) => Promise<string>;

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
  /** Release local resources (scratch repository). */
  close?(): Promise<void>;
}

export interface IGitLedgerOptions {
  /** `file:///…/requests.git` or `https://…`; never with credentials in it. */
  url: string;
  branch?: string;
  /** Extra git environment (e.g. GIT_CONFIG_* carrying an auth header). */
  env?: NodeJS.ProcessEnv;
  /** Attempts after the first (default 100, enough for dozens of concurrent writers). */
  retries?: number;
  /** Advisory lock file for writers on this machine (GitLedger.local sets one). */
  lockFile?: string;
}

class PushRejected extends Error {}

/** Scratch repositories still on disk, removed when the process exits. */
const scratchDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of scratchDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
});

export class GitLedger implements ILedger {
  readonly url: string;
  private readonly branch: string;
  private scratch?: Promise<string>;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: IGitLedgerOptions) {
    this.url = options.url;
    this.branch = options.branch ?? 'main';
  }

  /** A local bare repository path as a ledger (file:// so shallow fetches work). */
  static local(bareRepo: string, options: { lock?: boolean } = {}): GitLedger {
    const repo = path.resolve(bareRepo);
    return new GitLedger({
      url: `file://${repo}`,
      lockFile: options.lock === false ? undefined : path.join(repo, APPEND_LOCK.file)
    });
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
    const release = this.options.lockFile ? await acquireLock(this.options.lockFile) : null;
    try {
      return await this.appendOptimistic(file, columns, rows, options);
    } finally {
      await release?.();
    }
  }

  private async appendOptimistic(
    file: string,
    columns: readonly string[],
    rows: Record<string, string>[],
    options: IAppendOptions
  ): Promise<IAppendResult> {
    let attempts = 0;
    return this.withScratch(async run =>
      pRetry(
        async () => {
          attempts++;
          const base = await this.fetchTip(run);
          const text = await this.show(run, base, file);
          const fresh = options.uniqueBy ? withoutPresent(text, rows, options.uniqueBy) : rows;
          if (fresh.length === 0) {
            return { sha: base, appended: 0, attempts };
          }
          const content = appendRows(text, columns, fresh);
          const blob = (await run(['hash-object', '-w', '--stdin'], content)).trim();
          // The new tree: the base tree with this one file replaced (no index, no checkout).
          const listing = await run(['ls-tree', '-z', base]);
          const entries = listing.split('\0').filter(e => e !== '' && !e.endsWith(`\t${file}`));
          entries.push(`100644 blob ${blob}\t${file}`);
          const tree = (await run(['mktree', '-z'], entries.join('\0') + '\0')).trim();
          const message = options.message ?? `Append ${fresh.length} row(s) to ${file}`;
          const commit = (await run(['commit-tree', tree, '-p', base, '-m', message])).trim();
          try {
            await run(['push', '--quiet', this.url, `${commit}:refs/heads/${this.branch}`]);
          } catch (error) {
            const text = error instanceof Error ? error.message : String(error);
            if (lostRace(text)) {
              throw new PushRejected(`push to ${this.url} rejected (someone appended first)`);
            }
            throw new AbortError(text);
          }
          return { sha: commit, appended: fresh.length, attempts };
        },
        {
          retries: this.options.retries ?? 100,
          minTimeout: 1,
          maxTimeout: 1,
          // Full jitter on top of p-retry's schedule: writers that collided
          // spread out instead of colliding again in lockstep.
          onFailedAttempt: async () => {
            const cap = Math.min(2000, 20 * 2 ** Math.min(attempts, 7));
            await new Promise(r => setTimeout(r, Math.random() * cap));
          },
          shouldRetry: error => error instanceof PushRejected
        }
      )
    );
  }

  /**
   * Run `work` in this ledger's scratch bare repository. The scratch is made
   * once per ledger instance and reused (serialized), so a later fetch in the
   * same run only transfers what changed; it is removed when the process exits.
   */
  private async withScratch<T>(work: (run: Run, scratch: string) => Promise<T>): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>(resolve => (release = resolve));
    await previous;
    try {
      if (!this.scratch) {
        this.scratch = mkdtemp(path.join(tmpdir(), 'repoguard-ledger-')).then(async dir => {
          await git(['init', '--quiet', '--bare', path.join(dir, 'repo.git')]);
          scratchDirs.add(dir);
          return dir;
        });
      }
      const scratch = await this.scratch;
      const gitDir = path.join(scratch, 'repo.git');
      const env = this.options.env;
      const run: Run = (args, input) =>
        input === undefined
          ? git(['--git-dir', gitDir, ...args], { env })
          : gitWithInput(['--git-dir', gitDir, ...args], input, { env });
      return await work(run, scratch);
    } catch (error) {
      // A failed command may leave the scratch half-updated: start afresh next time.
      const dir = await this.scratch?.catch(() => undefined);
      this.scratch = undefined;
      if (dir) {
        scratchDirs.delete(dir);
        await rm(dir, { recursive: true, force: true });
      }
      throw error;
    } finally {
      release();
    }
  }

  /** Remove the scratch repository now (it is removed at exit otherwise). */
  async close(): Promise<void> {
    await this.queue;
    const dir = await this.scratch?.catch(() => undefined);
    this.scratch = undefined;
    if (dir) {
      scratchDirs.delete(dir);
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async fetchTip(run: Run): Promise<string> {
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

  private async show(run: Run, sha: string, file: string): Promise<string> {
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
  // Fast path: a value that occurs nowhere in the file cannot be a key in it
  // (no parse of a long ledger for the common case of a new row).
  const distinct = new Set(rows.map(r => r[key] ?? ''));
  if (distinct.size === rows.length && [...distinct].every(v => v !== '' && !text.includes(v))) {
    return rows;
  }
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

const STALE_LOCK_MS = APPEND_LOCK.staleMs;

/** Take the advisory lock (O_EXCL create); returns its release. Gives up waiting after 2 minutes. */
async function acquireLock(file: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + APPEND_LOCK.waitMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        return async () => undefined; // cannot lock here (read-only?): rely on the push check alone
      }
    }
    try {
      const info = await stat(file);
      if (Date.now() - info.mtimeMs > STALE_LOCK_MS) {
        await unlink(file).catch(() => undefined);
        continue;
      }
    } catch {
      continue; // released meanwhile
    }
    if (Date.now() > deadline) {
      return async () => undefined;
    }
    await new Promise(r => setTimeout(r, 5 + Math.random() * 20));
  }
}
