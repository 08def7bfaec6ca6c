/** RepoGuardModel: the state behind the panel. Widgets render it; only the model fetches. */
import type { Kernel } from '@jupyterlab/services';
import { VDomModel } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { RepoGuardClient, RepoGuardError } from './api';
import { installInKernel } from './kernelInstall';
import { inFlight, newDecisions } from './status';
import { IDecisionEvent, IInstallState, IRepoGuardModel, RepoGuard } from './tokens';
import { version as VERSION } from './version';

/** Seconds between polls while nothing of the user's is in flight. */
const IDLE_INTERVAL = 60;

export class RepoGuardModel extends VDomModel implements IRepoGuardModel {
  constructor(options: RepoGuardModel.IOptions = {}) {
    super();
    this._client = options.client ?? new RepoGuardClient();
    this._version = options.frontendVersion ?? VERSION;
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: { interval: IDLE_INTERVAL * 1000, backoff: true, max: 300 * 1000 },
      name: 'repoguard:poll',
      // Stand by while the panel is hidden, and while the browser tab is.
      standby: () => (this._visible ? 'when-hidden' : true)
    });
  }

  get client(): RepoGuardClient {
    return this._client;
  }

  get health(): RepoGuard.IHealth | null {
    return this._health;
  }

  get error(): string | null {
    return this._error;
  }

  get busy(): boolean {
    return this._busy;
  }

  get requests(): readonly RepoGuard.IRequestStatus[] {
    return this._requests;
  }

  get pipeline(): RepoGuard.IPipeline | null {
    return this._pipeline;
  }

  get approved(): readonly RepoGuard.IResultRow[] {
    return this._approved;
  }

  /** The decided requests that were refused or errored, newest first. */
  get refused(): readonly RepoGuard.IRequestStatus[] {
    return this._requests.filter(r => r.status === 'refused' || r.status === 'error');
  }

  get installs(): ReadonlyMap<string, IInstallState> {
    return this._installs;
  }

  /** The requester email from the settings ('' until the user gives it once). */
  get email(): string {
    return this._email;
  }

  /** A request to pre-fill the form with (e.g. a missing dependency), and its version. */
  get draft(): { fields: Partial<RepoGuard.ISubmission>; version: number } {
    return this._draft;
  }

  get decided(): ISignal<this, IDecisionEvent> {
    return this._decided;
  }

  /** The frontend/server version mismatch, or null when they agree. */
  get versionMismatch(): { frontend: string; server: string } | null {
    if (!this._health || this._health.version === this._version) {
      return null;
    }
    return { frontend: this._version, server: this._health.version };
  }

  /** What the settings say about the deployment (mode, region, pipeline, repos). */
  get config(): RepoGuardModel.IConfig {
    return this._config;
  }

  set config(config: RepoGuardModel.IConfig) {
    this._config = config;
    this._emit();
  }

  /** A link to the pipeline in the AWS console (aws mode with region and name set). */
  get consoleUrl(): string | null {
    const { region, pipelineName } = this._config;
    if (this._health?.mode !== 'aws' || !region || !pipelineName) {
      return null;
    }
    return `https://${region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${encodeURIComponent(pipelineName)}/view?region=${region}`;
  }

  /** Seconds between polls while one of the user's requests is in flight. */
  set pollInterval(seconds: number) {
    this._fastInterval = Math.max(1, seconds || 3);
    this._adaptFrequency();
  }

  /** Where Install runs: the active notebook's kernel, or null when none is open. */
  set kernelProvider(provider: (() => Kernel.IKernelConnection | null | undefined) | null) {
    this._kernelProvider = provider;
  }

  /** Called when the user gives their email (the plugin saves it in the settings). */
  set persistEmail(persist: ((email: string) => void) | null) {
    this._persistEmail = persist;
  }

  /** Set the requester email (from the settings or the form). */
  setEmail(email: string): void {
    const value = email.trim();
    if (value === this._email) {
      return;
    }
    this._email = value;
    this._known.clear();
    this._primed = false;
    this._emit();
    void this._poll.refresh();
  }

  /** The panel is shown or hidden: poll only while it is shown. */
  setVisible(visible: boolean): void {
    const wasHidden = !this._visible;
    this._visible = visible;
    if (visible && wasHidden && this._health) {
      void this._poll.refresh();
    }
  }

  setDraft(fields: Partial<RepoGuard.ISubmission>): void {
    this._draft = { fields, version: this._draft.version + 1 };
    this._emit();
  }

  /** Health handshake, then fresh lists. */
  async refresh(): Promise<void> {
    this._busy = true;
    this._emit();
    try {
      this._health = await this._client.health(this._version);
      this._error = null;
      if (this._poll.state.phase === 'constructed') {
        void this._poll.start();
      } else {
        await this._poll.refresh();
      }
    } catch (reason) {
      this._error =
        reason instanceof Error
          ? `RepoGuard server unreachable: ${reason.message}. Check that the "repoguard" server extension is enabled (jupyter server extension list).`
          : String(reason);
    } finally {
      this._busy = false;
      this._emit();
    }
  }

  /**
   * Submit a request. Resolves with the field errors the server named (an
   * empty list on success); the new request shows in the lists at once.
   */
  async submit(fields: RepoGuard.ISubmission): Promise<RepoGuard.IFieldError[]> {
    const email = fields.requester_email.trim();
    if (email && email !== this._email) {
      this._persistEmail?.(email);
      this._email = email;
    }
    this._busy = true;
    this._emit();
    try {
      const { request } = await this._client.submit(fields);
      const entry: RepoGuard.IRequestStatus = {
        request,
        status: 'requested',
        stage: null,
        result: null,
        message: null,
        updated_at: request.requested_at
      };
      this._known.set(request.request_id, 'requested');
      this._requests = [entry, ...this._requests];
      this._error = null;
      this._adaptFrequency();
      void this._poll.refresh();
      return [];
    } catch (reason) {
      if (reason instanceof RepoGuardError && reason.errors.length > 0) {
        return reason.errors;
      }
      const message = reason instanceof Error ? reason.message : String(reason);
      return [{ field: 'form', reason: message }];
    } finally {
      this._busy = false;
      this._emit();
    }
  }

  /** Findings of one decided request (cached by ETag). */
  result(requestId: string): Promise<RepoGuard.IResultDetail> {
    return this._client.result(requestId);
  }

  reportUrl(path: string): string {
    return this._client.reportUrl(path);
  }

  /**
   * Install an approved package into the active notebook's kernel, by running
   * `%load_ext repoguard` and `%repoguard install NAME` there (the magic
   * resolves the pinned commit and refuses anything not approved).
   */
  async install(name: string): Promise<IInstallState> {
    const kernel = this._kernelProvider?.() ?? null;
    if (!kernel) {
      return this._setInstall({
        name,
        status: 'failed',
        text: 'Open a notebook first: Install runs in the active notebook’s kernel.'
      });
    }
    this._setInstall({ name, status: 'running', text: '' });
    return this._setInstall(await installInKernel(kernel, name));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    super.dispose();
  }

  private _setInstall(state: IInstallState): IInstallState {
    this._installs = new Map(this._installs).set(state.name, state);
    this._emit();
    return state;
  }

  private async _tick(): Promise<void> {
    try {
      const [requests, pipeline, approved] = await Promise.all([
        this._email ? this._client.myRequests(this._email) : Promise.resolve(this._requests),
        this._client.pipeline(),
        this._client.approved()
      ]);
      let changed = this._error !== null;
      this._error = null;
      if (requests !== this._requests) {
        this._notifyDecisions(requests);
        this._requests = requests;
        changed = true;
      }
      if (pipeline !== this._pipeline) {
        this._pipeline = pipeline;
        changed = true;
      }
      if (approved !== this._approved) {
        this._approved = approved;
        changed = true;
      }
      this._adaptFrequency();
      if (changed) {
        this._emit();
      }
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
      this._emit();
      throw reason; // the poll backs off
    }
  }

  private _notifyDecisions(requests: readonly RepoGuard.IRequestStatus[]): void {
    for (const entry of newDecisions(this._known, this._primed, requests)) {
      this._decided.emit({ request: entry, decision: entry.status as RepoGuard.Decision });
    }
    for (const entry of requests) {
      this._known.set(entry.request.request_id, entry.status);
    }
    this._primed = true;
  }

  private _adaptFrequency(): void {
    const seconds = inFlight(this._requests) ? this._fastInterval : IDLE_INTERVAL;
    const frequency = this._poll.frequency;
    if (frequency.interval !== seconds * 1000) {
      this._poll.frequency = { ...frequency, interval: seconds * 1000 };
    }
  }

  private _emit(): void {
    this.stateChanged.emit(void 0);
  }

  private _client: RepoGuardClient;
  private _version: string;
  private _poll: Poll;
  private _visible = false;
  private _fastInterval = 3;
  private _config: RepoGuardModel.IConfig = { mode: 'embedded' };
  private _health: RepoGuard.IHealth | null = null;
  private _error: string | null = null;
  private _busy = false;
  private _email = '';
  private _requests: readonly RepoGuard.IRequestStatus[] = [];
  private _pipeline: RepoGuard.IPipeline | null = null;
  private _approved: readonly RepoGuard.IResultRow[] = [];
  private _installs: ReadonlyMap<string, IInstallState> = new Map();
  private _draft: { fields: Partial<RepoGuard.ISubmission>; version: number } = {
    fields: {},
    version: 0
  };
  private _known = new Map<string, string>();
  private _primed = false;
  private _decided = new Signal<this, IDecisionEvent>(this);
  private _kernelProvider: (() => Kernel.IKernelConnection | null | undefined) | null = null;
  private _persistEmail: ((email: string) => void) | null = null;
}

export namespace RepoGuardModel {
  export interface IOptions {
    client?: RepoGuardClient;
    frontendVersion?: string;
  }

  export interface IConfig {
    mode: RepoGuard.Mode;
    region?: string;
    pipelineName?: string;
    requestRepo?: string;
    org?: string;
  }
}
