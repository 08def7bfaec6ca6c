/**
 * The run-state file `DIR/state/<request_id>.json`: written by the pipeline
 * (`backend-infra/pipeline/src/progress.ts`) as each stage starts and ends, read
 * by the server extension (`repoguard/pipeline_status.py`). Its fields, stages
 * and statuses are the contract's `runState`; `fixtures/run-state.json` is the
 * shared vector (jest checks this writer, pytest the reader).
 */
import { IRunState, RUN_STATE } from './contract';

/** The file's text: the contract's fields in order, two-space JSON, a final newline. */
export function formatRunState(state: IRunState): string {
  const ordered: Record<string, string> = {};
  for (const field of RUN_STATE.fields) {
    ordered[field] = state[field];
  }
  return JSON.stringify(ordered, null, 2) + '\n';
}

/** The file's name for a request (its safe key). */
export function runStateFile(key: string): string {
  return `${RUN_STATE.dir}/${key}.json`;
}
