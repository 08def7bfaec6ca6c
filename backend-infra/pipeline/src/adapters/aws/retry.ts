/**
 * Retries with backoff for GitHub API calls (p-retry): 5xx, 429 and
 * rate-limited 403 answers are retried, waiting for `retry-after` or
 * `x-ratelimit-reset` when GitHub names it (capped). The AWS SDK clients use
 * their own standard retry strategy (5xx, throttling) with `maxAttempts`.
 */
import pRetry, { AbortError } from 'p-retry';

interface IHttpError {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

export function retryDelayMs(error: unknown, nowMs = Date.now()): number | null {
  const e = error as IHttpError;
  const status = e?.status;
  if (typeof status !== 'number') {
    return null;
  }
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  const remaining = headers['x-ratelimit-remaining'];
  const reset = Number(headers['x-ratelimit-reset']);
  const rateLimited =
    status === 429 ||
    (status === 403 && (String(remaining) === '0' || Number.isFinite(retryAfter)));
  if (rateLimited) {
    if (Number.isFinite(retryAfter)) return retryAfter * 1000;
    if (Number.isFinite(reset)) return Math.max(0, reset * 1000 - nowMs);
    return 1000;
  }
  if (status >= 500) {
    return 0;
  }
  return null;
}

export interface IRetryOptions {
  retries?: number;
  minTimeoutMs?: number;
  /** Longest wait for one rate-limit pause. */
  maxWaitMs?: number;
}

export async function withRetry<T>(
  work: () => Promise<T>,
  options: IRetryOptions = {}
): Promise<T> {
  const maxWait = options.maxWaitMs ?? 60_000;
  return pRetry(
    async () => {
      try {
        return await work();
      } catch (error) {
        const delay = retryDelayMs(error);
        if (delay === null) {
          throw new AbortError(error as Error);
        }
        if (delay > maxWait) {
          throw new AbortError(error as Error);
        }
        if (delay > 0) {
          await new Promise(r => setTimeout(r, delay));
        }
        throw error;
      }
    },
    {
      retries: options.retries ?? 4,
      minTimeout: options.minTimeoutMs ?? 500,
      maxTimeout: 10_000,
      factor: 2,
      randomize: true
    }
  );
}
