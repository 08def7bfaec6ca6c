/**
 * Secrets never reach a log line, an error message, a report or an email:
 * every secret the pipeline loads is registered here, and every line it
 * prints goes through `redact`.
 */
const secrets = new Set<string>();

/** Register a secret (a token) so that it is masked wherever it would appear. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) {
    secrets.add(value);
    // git's extraHeader carries the token base64-encoded.
    secrets.add(Buffer.from(`x-access-token:${value}`).toString('base64'));
  }
}

/** Mask registered secrets and anything that looks like a GitHub token or an auth header. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    out = out.split(secret).join('***');
  }
  return out
    .replace(/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '***')
    .replace(/(authorization:\s*(?:basic|bearer|token)\s+)\S+/gi, '$1***');
}

/** The message of an error, redacted. */
export function errorMessage(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/** One short line for a results row's `reason` (git errors are multi-line). */
export function oneLine(text: string, max = 300): string {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
