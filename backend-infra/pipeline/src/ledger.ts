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
 *
 * Within one process (the embedded runner's worker pool), writers that queue
 * behind each other share work: appends to the same file that arrive while
 * one is waiting for the lock or the scratch repository join it and go out as
 * one commit (group commit; each caller still learns how many of its own rows
 * were new), and a read that arrives while another is queued shares that
 * read's result (it starts after both callers asked, so it is as fresh as
 * either needs). Without this, the ledger's serialized git calls were a third
 * of a small request's time on two workers.
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
import { git, gitBytes, gitWithInput, parseCatFileBatch } from './git';

type Run = (args: string[], input?: string) => Promise<string>;
type RunBytes = (args: string[], input: string) => Promise<Buffer>;

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

/** Appends to one file waiting to go out as one commit (see the header). */
interface IAppendBatch {
  rows: Record<string, string>[];
  messages: string[];
  done: Promise<{ sha: string; fresh: Set<Record<string, string>>; attempts: number }>;
}

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
  /** Appends not yet started, by file, columns and unique key: later callers join them. */
  private readonly batches = new Map<string, IAppendBatch>();
  /** This instance's appends, one after the other (they wait here, not by polling the lock file). */
  private appending: Promise<void> = Promise.resolve();
  /** A read not yet started: later callers share its result. */
  private queuedRead?: Promise<ILedgerSnapshot>;

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
    if (this.queuedRead) return { ...(await this.queuedRead) };
    const read: Promise<ILedgerSnapshot> = this.withScratch(async (run, runBytes) => {
      // From here on, a new caller asked after this read began: it gets a read of its own.
      if (this.queuedRead === read) this.queuedRead = undefined;
      await this.fetch(run);
      // The tip's id and both files in one process (a spawn costs the event loop ~5 ms).
      const [sha, requests, results] = await this.tipFiles(runBytes, [REQUESTS_FILE, RESULTS_FILE]);
      return { sha, requests, results };
    });
    this.queuedRead = read;
    // A failed read is not shared with callers that come after it failed.
    read
      .catch(() => undefined)
      .finally(() => {
        if (this.queuedRead === read) this.queuedRead = undefined;
      });
    return { ...(await read) };
  }

  async append(
    file: string,
    columns: readonly string[],
    rows: Record<string, string>[],
    options: IAppendOptions = {}
  ): Promise<IAppendResult> {
    const key = JSON.stringify([file, columns, options.uniqueBy ?? '']);
    let batch = this.batches.get(key);
    if (!batch) {
      const open: IAppendBatch = { rows: [], messages: [], done: undefined as never };
      batch = open;
      this.batches.set(key, open);
      const previous = this.appending;
      let finished!: () => void;
      this.appending = new Promise<void>(resolve => (finished = resolve));
      open.done = (async () => {
        // Let the callers of this tick join before the lock is even tried, and
        // this instance's earlier append finish (its waiters join this batch).
        await Promise.resolve();
        await previous;
        const release = this.options.lockFile ? await acquireLock(this.options.lockFile) : null;
        try {
          return await this.appendOptimistic(file, columns, open, options.uniqueBy, () => {
            // Joins close when the commit is about to be built.
            if (this.batches.get(key) === open) this.batches.delete(key);
          });
        } finally {
          await release?.();
          finished();
        }
      })();
      open.done.catch(() => {
        if (this.batches.get(key) === open) this.batches.delete(key);
      });
    }
    batch.rows.push(...rows);
    if (options.message) batch.messages.push(options.message);
    const { sha, fresh, attempts } = await batch.done;
    return { sha, appended: rows.filter(r => fresh.has(r)).length, attempts };
  }

  private async appendOptimistic(
    file: string,
    columns: readonly string[],
    batch: Pick<IAppendBatch, 'rows' | 'messages'>,
    uniqueBy: string | undefined,
    closeJoins: () => void
  ): Promise<{ sha: string; fresh: Set<Record<string, string>>; attempts: number }> {
    let attempts = 0;
    return this.withScratch(async (run, runBytes) => {
      closeJoins();
      const rows = batch.rows;
      return pRetry(
        async () => {
          attempts++;
          await this.fetch(run);
          const [base, text] = await this.tipFiles(runBytes, [file]);
          const fresh = uniqueBy ? withoutPresent(text, rows, uniqueBy) : rows;
          if (fresh.length === 0) {
            return { sha: base, fresh: new Set(fresh), attempts };
          }
          const content = appendRows(text, columns, fresh);
          const blob = (await run(['hash-object', '-w', '--stdin'], content)).trim();
          // The new tree: the base tree with this one file replaced (no index, no checkout).
          const listing = await run(['ls-tree', '-z', base]);
          const entries = listing.split('\0').filter(e => e !== '' && !e.endsWith(`\t${file}`));
          entries.push(`100644 blob ${blob}\t${file}`);
          const tree = (await run(['mktree', '-z'], entries.join('\0') + '\0')).trim();
          const message =
            batch.messages.length <= 1
              ? (batch.messages[0] ?? `Append ${fresh.length} row(s) to ${file}`)
              : [`Append ${fresh.length} row(s) to ${file}`, ...batch.messages].join('\n\n');
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
          return { sha: commit, fresh: new Set(fresh), attempts };
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
      );
    });
  }

  /**
   * Run `work` in this ledger's scratch bare repository. The scratch is made
   * once per ledger instance and reused (serialized), so a later fetch in the
   * same run only transfers what changed; it is removed when the process exits.
   */
  private async withScratch<T>(
    work: (run: Run, runBytes: RunBytes, scratch: string) => Promise<T>
  ): Promise<T> {
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
      const runBytes: RunBytes = (args, input) =>
        gitBytes(['--git-dir', gitDir, ...args], input, { env });
      return await work(run, runBytes, scratch);
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

  private async fetch(run: Run): Promise<void> {
    await run([
      'fetch',
      '--quiet',
      '--depth',
      '1',
      '--no-tags',
      this.url,
      `+refs/heads/${this.branch}:refs/heads/tip`
    ]);
  }

  /** The fetched tip's commit id, then each file's text at it ('' for a file not there yet). */
  private async tipFiles(runBytes: RunBytes, files: string[]): Promise<string[]> {
    const names = ['refs/heads/tip', ...files.map(f => `refs/heads/tip:${f}`)];
    const objects = parseCatFileBatch(
      await runBytes(['cat-file', '--batch'], names.join('\n') + '\n'),
      names.length
    );
    const tip = objects[0];
    if (!tip || tip.type !== 'commit') throw new Error(`${this.url}: no ${this.branch} branch`);
    // A file not there yet reads as empty (appendRows adds the header).
    return [tip.oid, ...objects.slice(1).map(o => (o ? o.content.toString('utf8') : ''))];
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
