/**
 * RepoGuardClient: the one place that talks to the server extension.
 * Tests replace this class; nothing else calls `ServerConnection.makeRequest`.
 *
 * Reads are conditional: the client remembers each answer's ETag and sends it
 * back as `If-None-Match`, so a poll that finds nothing changed costs the
 * server a fingerprint check and the network a bodiless `304`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { RepoGuard } from './tokens';

/** A non-2xx answer; `errors` holds the per-field reasons of a 400 on submit. */
export class RepoGuardError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string,
    readonly errors: RepoGuard.IFieldError[] = []
  ) {
    super(response, message);
  }
}

export class RepoGuardClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Server version, mode and readiness; `version` lets the server spot a mismatch. */
  health(frontendVersion: string): Promise<RepoGuard.IHealth> {
    return this.request<RepoGuard.IHealth>(`health?version=${encodeURIComponent(frontendVersion)}`);
  }

  /** Submit a request; the server validates it and answers with its row (and id). */
  submit(fields: RepoGuard.ISubmission): Promise<{ request: RepoGuard.IRequestRow }> {
    return this.request('requests', { method: 'POST', body: JSON.stringify(fields) });
  }

  /** The requests of one requester (by email), newest first, with their live status. */
  async myRequests(email: string): Promise<RepoGuard.IRequestStatus[]> {
    const query = `requests?mine=1&email=${encodeURIComponent(email)}`;
    return (await this.cached<{ requests: RepoGuard.IRequestStatus[] }>(query)).requests;
  }

  pipeline(): Promise<RepoGuard.IPipeline> {
    return this.cached<RepoGuard.IPipeline>('pipeline');
  }

  async approved(): Promise<RepoGuard.IResultRow[]> {
    return (await this.cached<{ approved: RepoGuard.IResultRow[] }>('approved')).approved;
  }

  result(requestId: string): Promise<RepoGuard.IResultDetail> {
    return this.cached<RepoGuard.IResultDetail>(`results/${encodeURIComponent(requestId)}`);
  }

  /** The URL of a report page (served sandboxed), for an iframe or a new tab. */
  reportUrl(path: string): string {
    return URLExt.join(this.serverSettings.baseUrl, 'repoguard', path);
  }

  /** How many reads were answered 304 (for the benchmark and tests). */
  get notModified(): number {
    return this._notModified;
  }

  /** A GET that revalidates with the last ETag and reuses the cached body on 304. */
  private async cached<T>(endPoint: string): Promise<T> {
    const known = this._cache.get(endPoint);
    const headers: Record<string, string> = known ? { 'If-None-Match': known.etag } : {};
    // 'no-cache' (not JupyterLab's default 'no-store', which appends a cache-busting
    // query and so defeats the ETag): the server revalidates every read.
    const { data, etag, status } = await this.send<T>(endPoint, { headers, cache: 'no-cache' });
    if (status === 304 && known) {
      this._notModified++;
      return known.data as T;
    }
    if (etag) {
      this._cache.set(endPoint, { etag, data });
    }
    return data as T;
  }

  private async request<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    return (await this.send<T>(endPoint, init)).data as T;
  }

  private async send<T>(
    endPoint: string,
    init: RequestInit
  ): Promise<{ data: T | undefined; etag: string | null; status: number }> {
    const url = URLExt.join(this.serverSettings.baseUrl, 'repoguard', endPoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (response.status === 304) {
      return { data: undefined, etag: response.headers.get('ETag'), status: 304 };
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
      const body = (typeof data === 'object' && data !== null ? data : {}) as {
        message?: unknown;
        errors?: RepoGuard.IFieldError[];
      };
      const message =
        body.message !== undefined
          ? String(body.message)
          : `RepoGuard server answered ${response.status} ${response.statusText}`;
      throw new RepoGuardError(response, message, Array.isArray(body.errors) ? body.errors : []);
    }
    return { data: data as T, etag: response.headers.get('ETag'), status: response.status };
  }

  private _cache = new Map<string, { etag: string; data: unknown }>();
  private _notModified = 0;
}
