/** Names shared across RepoGuard's frontend plugins: the model token, wire types and command ids. */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';
import type * as common from './common';

/** Wire types of the `/repoguard/` REST API. */
export namespace RepoGuard {
  export type Mode = 'embedded' | 'aws';
  export type Decision = common.Decision;
  /** `requested`, `queued`, a stage name (`ingest`, `scan`, … or `Scan` in aws mode), or a decision. */
  export type Status = string;

  /** The request rules the server applies; the form checks them first. */
  export interface IPolicy {
    allowedHosts: string[];
    allowedLocalRoots: string[];
  }

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
    policy?: IPolicy;
  }

  /** A row of `external-package-request.csv`. */
  export type IRequestRow = common.IRequestRow;

  /** A row of `external-package-results.csv` (every column, `decision` typed). */
  export type IResultRow = common.IResultRow & { decision: Decision };

  /** One request with its live status (`GET /repoguard/requests`). */
  export interface IRequestStatus {
    request: IRequestRow;
    status: Status;
    stage: string | null;
    result: IResultRow | null;
    message: string | null;
    updated_at: string | null;
  }

  export interface IExecution {
    id: string;
    status: string;
    stage: string | null;
    started_at: string;
    updated_at: string;
  }

  /** `GET /repoguard/pipeline` */
  export interface IPipeline {
    mode: Mode;
    name: string;
    stages: string[];
    current: IExecution | null;
    executions: IExecution[];
  }

  /** One finding as the policy judged it (`findings.json`). */
  export type IFinding = common.IJudgedFinding;
  /** `findings.json` beside the report's SARIF log. */
  export type IFindings = common.IFindingsFile;

  /** `GET /repoguard/results/<request_id>` */
  export interface IResultDetail {
    request_id: string;
    package_name: string;
    decision: Decision;
    reason: string;
    result: IResultRow;
    /** The report's `findings.json` as the pipeline wrote it; null when the report has none. */
    findings: IFindings | null;
    /** Path of the report page under `/repoguard/`. */
    report: string;
  }

  /** A field error as the server (and `validateRequest`) name them. */
  export interface IFieldError {
    field: string;
    reason: string;
  }

  /** What the request form sends. */
  export interface ISubmission {
    package_name: string;
    repo_url: string;
    ref: string;
    justification: string;
    requester_email: string;
  }
}

/** The outcome of an Install from the panel. */
export interface IInstallState {
  name: string;
  status: 'running' | 'installed' | 'failed';
  /** What the kernel printed (or why nothing ran). */
  text: string;
  /** Packages to request before the install can go ahead (from the magic's install bundle). */
  missing?: string[];
}

/** A decision seen by the panel while it was open. */
export interface IDecisionEvent {
  request: RepoGuard.IRequestStatus;
  decision: RepoGuard.Decision;
}

/** The state the RepoGuard panel renders. */
export interface IRepoGuardModel {
  /** The last health answer, or null before the first one arrives. */
  readonly health: RepoGuard.IHealth | null;
  /** A user-facing error message, or null. */
  readonly error: string | null;
  /** True while a request to the server is in flight. */
  readonly busy: boolean;
  /** The user's requests, newest first. */
  readonly requests: readonly RepoGuard.IRequestStatus[];
  readonly pipeline: RepoGuard.IPipeline | null;
  readonly approved: readonly RepoGuard.IResultRow[];
  /** Emitted whenever any of the above changes. */
  readonly stateChanged: ISignal<IRepoGuardModel, void>;
  /** Emitted when one of the user's requests is decided. */
  readonly decided: ISignal<IRepoGuardModel, IDecisionEvent>;
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
  export const requestPackage = 'repoguard:request-package';
  export const installPackage = 'repoguard:install-package';
  export const openFindings = 'repoguard:open-findings';
  export const openReport = 'repoguard:open-report';
}
