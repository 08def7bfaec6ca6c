/** RepoGuardModel: the state behind the panel. Widgets render it; only the model fetches. */
import { VDomModel } from '@jupyterlab/ui-components';
import { RepoGuardClient } from './api';
import { IRepoGuardModel, RepoGuard } from './tokens';
import { version as VERSION } from './version';

export class RepoGuardModel extends VDomModel implements IRepoGuardModel {
  constructor(options: RepoGuardModel.IOptions = {}) {
    super();
    this._client = options.client ?? new RepoGuardClient();
    this._version = options.frontendVersion ?? VERSION;
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

  /** The frontend/server version mismatch, or null when they agree. */
  get versionMismatch(): { frontend: string; server: string } | null {
    if (!this._health || this._health.version === this._version) {
      return null;
    }
    return { frontend: this._version, server: this._health.version };
  }

  async refresh(): Promise<void> {
    this._busy = true;
    this._emit();
    try {
      this._health = await this._client.health(this._version);
      this._error = null;
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

  private _emit(): void {
    this.stateChanged.emit(void 0);
  }

  private _client: RepoGuardClient;
  private _version: string;
  private _health: RepoGuard.IHealth | null = null;
  private _error: string | null = null;
  private _busy = false;
}

export namespace RepoGuardModel {
  export interface IOptions {
    client?: RepoGuardClient;
    frontendVersion?: string;
  }
}
