/** Names shared across RepoGuard's frontend plugins: the model token, wire types and command ids. */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** Wire types of the `/repoguard/` REST API. */
export namespace RepoGuard {
  export type Mode = 'embedded' | 'aws';

  /** `GET /repoguard/health` */
  export interface IHealth {
    /** Version of the Python package serving the API. */
    version: string;
    mode: Mode;
    /** Embedded mode: the workspace folder the server reads. */
    workspace?: string | null;
    /** Whether the workspace (embedded) or the backend (aws) is ready. */
    ready: boolean;
    /** What the administrator should do when `ready` is false. */
    detail?: string;
  }
}

/** The state the RepoGuard panel renders. */
export interface IRepoGuardModel {
  /** The last health answer, or null before the first one arrives. */
  readonly health: RepoGuard.IHealth | null;
  /** A user-facing error message, or null. */
  readonly error: string | null;
  /** True while a request to the server is in flight. */
  readonly busy: boolean;
  /** Emitted whenever any of the above changes. */
  readonly stateChanged: ISignal<IRepoGuardModel, void>;
  /** Ask the server again. */
  refresh(): Promise<void>;
}

export const IRepoGuardModel = new Token<IRepoGuardModel>(
  'repoguard:IRepoGuardModel',
  'The RepoGuard model: server health, requests, pipeline state and results.'
);

/** Command ids, in `repoguard:verb-noun` form. */
export namespace CommandIDs {
  export const openPanel = 'repoguard:open-panel';
  export const refresh = 'repoguard:refresh';
}
