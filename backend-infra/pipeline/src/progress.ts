/**
 * Progress: one line per stage per request with its elapsed time, and the
 * run state file `DIR/state/<request_id>.json` that the Studio panel reads,
 * written atomically as each stage starts and ends. The file's format is the
 * contract's `runState` (`src/common/runstate.ts`), which the server reads.
 */
import path from 'node:path';
import { IRunState, RunStage, formatRunState } from '../../../src/common';
import { writeAtomic } from './fsutil';
import { redact, errorMessage } from './redact';
import type { IManifestItem } from './types';

export type StageName = RunStage;
export type { IRunState };

export interface IProgress {
  /** Run `work` as `stage` of `item`, print its line and keep the state file current. */
  track<T extends string | void>(
    stage: StageName,
    item: IManifestItem,
    work: () => Promise<T>
  ): Promise<T>;
  /** Set the state without running anything (queued, done). */
  state(item: IManifestItem, stage: StageName, status: string, message?: string): Promise<void>;
  log(line: string): void;
}

export interface IProgressOptions {
  executionId: string;
  /** Folder of the state files; none in a mode without a workspace. */
  stateDir?: string;
  write?: (line: string) => void;
  now?: () => Date;
}

export class Progress implements IProgress {
  private readonly started = new Map<string, string>();
  private readonly write: (line: string) => void;
  private readonly now: () => Date;

  constructor(private readonly options: IProgressOptions) {
    this.write = options.write ?? (line => process.stdout.write(line + '\n'));
    this.now = options.now ?? (() => new Date());
  }

  log(line: string): void {
    this.write(redact(line));
  }

  async state(item: IManifestItem, stage: StageName, status: string, message = ''): Promise<void> {
    if (!this.options.stateDir || !item.key) {
      return;
    }
    const now = this.now().toISOString();
    const started = this.started.get(item.key) ?? now;
    this.started.set(item.key, started);
    const state: IRunState = {
      request_id: item.request.request_id,
      stage,
      status,
      started_at: started,
      updated_at: now,
      execution_id: this.options.executionId,
      message: redact(message)
    };
    await writeAtomic(path.join(this.options.stateDir, `${item.key}.json`), formatRunState(state));
  }

  async track<T extends string | void>(
    stage: StageName,
    item: IManifestItem,
    work: () => Promise<T>
  ): Promise<T> {
    const t0 = process.hrtime.bigint();
    await this.state(item, stage, 'running');
    const id = item.request.request_id || `row ${item.row}`;
    try {
      const message = await work();
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
      this.log(
        `${stage.padEnd(7)} ${id}  ok ${elapsed.toFixed(2)}s${message ? `  ${message}` : ''}`
      );
      await this.state(item, stage, 'done', message ?? '');
      return message;
    } catch (error) {
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
      const message = errorMessage(error);
      this.log(`${stage.padEnd(7)} ${id}  FAILED ${elapsed.toFixed(2)}s  ${message}`);
      await this.state(item, stage, 'failed', message);
      throw error;
    }
  }
}

/** A progress that prints nothing and writes no state (tests, library use). */
export class SilentProgress extends Progress {
  constructor(executionId = 'test', stateDir?: string) {
    super({ executionId, stateDir, write: () => undefined });
  }
}
