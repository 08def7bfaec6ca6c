/**
 * Secrets never reach a log line, an error message, a report, a results row
 * or an email: every secret the pipeline loads is registered here, and every
 * line it prints and every file it writes goes through `redact`.
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

/**
 * Token shapes of well-known providers, masked wherever they appear (even
 * when never registered: a request URL, a scanner's message, an install
 * script's output). Each is specific enough not to hit hashes or ids.
 */
const TOKEN_SHAPES: RegExp[] = [
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, // GitHub
  /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\bxapp-\d-[A-Za-z0-9-]{10,}/g, // Slack app tokens
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /\bnpm_[A-Za-z0-9]{36}\b/g, // npm
  /\bpypi-AgE[A-Za-z0-9_-]{50,}/g, // PyPI
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
  /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/g, // OpenAI / Anthropic style
  /\b(?:sk|rk)_live_[A-Za-z0-9]{20,}/g, // Stripe
  /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, // JWTs
  /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/g // Slack webhooks
];

/** `scheme://user:secret@host` → `scheme://***@host` (any userinfo is a credential). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]+@/gi;

/** PEM private keys, whole blocks. */
const PRIVATE_KEY =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\[nr])*(?:-----END [A-Z ]*PRIVATE KEY-----)?/g;

/**
 * Mask registered secrets, URL credentials (userinfo), well-known token
 * shapes, private keys and auth headers. Every output the pipeline writes
 * (log lines, results rows, reports, the SARIF copy, mail) goes through it.
 * Idempotent; JSON stays JSON (nothing it masks spans a quote).
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    out = out.split(secret).join('***');
  }
  for (const shape of TOKEN_SHAPES) {
    out = out.replace(shape, '***');
  }
  return out
    .replace(URL_USERINFO, '$1***@')
    .replace(PRIVATE_KEY, '-----BEGIN PRIVATE KEY----- *** (redacted)')
    .replace(/(authorization:\s*(?:basic|bearer|token)\s+)[^\s"',;]+/gi, '$1***');
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
