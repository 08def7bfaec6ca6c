/**
 * RepoGuardClient: the one place that talks to the server extension.
 * Tests replace this class; nothing else calls `ServerConnection.makeRequest`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { RepoGuard } from './tokens';

export class RepoGuardClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Server version, mode and readiness; `version` lets the server spot a mismatch. */
  health(frontendVersion: string): Promise<RepoGuard.IHealth> {
    return this.request<RepoGuard.IHealth>(`health?version=${encodeURIComponent(frontendVersion)}`);
  }

  private async request<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.serverSettings.baseUrl, 'repoguard', endPoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let data: unknown = text;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        // Not JSON (e.g. an HTML error page from a proxy): keep the text.
      }
    }
    if (!response.ok) {
      const message =
        typeof data === 'object' && data !== null && 'message' in data
          ? String((data as { message: unknown }).message)
          : `RepoGuard server answered ${response.status} ${response.statusText}`;
      throw new ServerConnection.ResponseError(response, message);
    }
    return data as T;
  }
}
