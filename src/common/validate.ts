/**
 * Validation of a request row, which is hostile input: it comes from a form,
 * a magic, a CLI or a plain git edit of the request file. The same rules run
 * in the panel (to tell the user early) and in the pipeline (to decide).
 */
import { IRequestRow, RequestColumn } from './columns';
import { LIMITS, PATTERNS } from './contract';

export { LIMITS };

export interface IValidationPolicy {
  /** Hosts a `https://` repository URL may name (exact, case-insensitive). */
  allowedHosts: readonly string[];
  /**
   * Absolute folders under which a `file://` URL is accepted (embedded mode
   * only). Empty or absent: no local source is accepted.
   */
  allowedLocalRoots?: readonly string[];
}

/** One reason a field was refused. */
export interface IFieldError {
  field: RequestColumn;
  reason: string;
}

// Control characters other than tab/newline (which only justification may hold).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

const REQUEST_ID = PATTERNS.requestId;
const PACKAGE_NAME = PATTERNS.packageName;
const EMAIL =
  /^[A-Za-z0-9.!#%&+^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** A git ref as `git check-ref-format` would accept it, minus anything option-like. */
export function refProblem(ref: string): string | null {
  if (ref === '') {
    return null; // default branch
  }
  if (ref.length > LIMITS.ref) {
    return `is longer than ${LIMITS.ref} characters`;
  }
  if (ref.startsWith('-')) {
    return 'must not start with "-" (it would be read as an option)';
  }
  if (!/^[A-Za-z0-9._/+-]+$/.test(ref)) {
    return 'may only hold letters, digits and . _ / + -';
  }
  if (
    ref.includes('..') ||
    ref.includes('//') ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    ref.endsWith('.lock') ||
    ref.split('/').some(part => part.startsWith('.'))
  ) {
    return 'is not a valid git ref name';
  }
  return null;
}

function localPathUnder(segments: readonly string[], roots: readonly string[]): boolean {
  if (segments.some(s => s === '..' || s === '.')) {
    return false;
  }
  const pathname = '/' + segments.join('/');
  return roots.some(root => {
    const base = root.replace(/\/+$/, '');
    return base.startsWith('/') && (pathname === base || pathname.startsWith(base + '/'));
  });
}

/** `scheme://authority/path` read literally, without a URL library's normalisation. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const HIERARCHICAL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/]*)(.*)$/;

/** The %-decoded, non-empty segments of a path; null on an invalid escape. */
function segmentsOf(path: string): string[] | null {
  try {
    return path
      .split('/')
      .filter(p => p !== '')
      .map(p => decodeURIComponent(p));
  } catch {
    return null;
  }
}

/**
 * Why a repository URL is refused, or null when it is acceptable.
 *
 * The URL is read literally (the same grammar as `repoguard/validation.py`):
 * what git would be handed is what is checked. A URL that a WHATWG parser would
 * first normalise (`\\` for `/`, a default `:443`, `..` segments, a %-escaped
 * host, an empty `@` user) is refused, not rewritten.
 */
export function repoUrlProblem(url: string, policy: IValidationPolicy): string | null {
  if (url === '') {
    return 'is required';
  }
  if (url.length > LIMITS.repoUrl) {
    return `is longer than ${LIMITS.repoUrl} characters`;
  }
  if (ANY_CONTROL.test(url) || url.includes(' ')) {
    return 'must not contain spaces or control characters';
  }
  if (url.startsWith('-')) {
    return 'must not start with "-" (it would be read as an option)';
  }
  if (url.includes('\\')) {
    return 'must not contain a backslash';
  }
  if (![...url].every(c => c.charCodeAt(0) < 128)) {
    return 'must be ASCII (%-escape anything else)';
  }
  const scheme = SCHEME.exec(url)?.[1].toLowerCase();
  const parts = HIERARCHICAL.exec(url);
  if (!scheme || !parts) {
    return 'is not a URL';
  }
  if (scheme !== 'https' && scheme !== 'file') {
    return `must use https:// (not ${scheme})`;
  }
  const [, authority, path] = parts;
  if (authority.includes('@')) {
    return 'must not contain credentials (user:password@)';
  }
  if (url.includes('?') || url.includes('#')) {
    return 'must not have a query (?) or fragment (#)';
  }
  const segments = segmentsOf(path);
  if (segments === null) {
    return 'has an invalid %-escape';
  }
  if (scheme === 'file') {
    const roots = policy.allowedLocalRoots ?? [];
    if (roots.length === 0) {
      return 'file:// sources are accepted only in the embedded mode';
    }
    if (authority !== '') {
      return 'a file:// URL must not name a host';
    }
    if (!localPathUnder(segments, roots)) {
      return `a file:// source must lie under ${roots.join(' or ')}`;
    }
    return null;
  }
  const colon = authority.indexOf(':');
  const host = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
  if (!policy.allowedHosts.map(h => h.toLowerCase()).includes(host)) {
    return `host ${host} is not on the allow list (${policy.allowedHosts.join(', ')})`;
  }
  if (colon >= 0) {
    return 'must not name a port';
  }
  if (segments.length < 2) {
    return 'must name a repository (https://HOST/OWNER/REPO)';
  }
  if (segments.some(p => p === '..' || p === '.' || p.startsWith('-') || p.includes('/'))) {
    return 'has a path segment that is not allowed';
  }
  return null;
}

/**
 * Every problem of a request row, each naming its field. An empty list means
 * the row is acceptable. `requested_at` and `requester_email` may be empty in
 * rows converted from the legacy format.
 */
export function validateRequest(row: IRequestRow, policy: IValidationPolicy): IFieldError[] {
  const errors: IFieldError[] = [];
  const add = (field: RequestColumn, reason: string | null): void => {
    if (reason) {
      errors.push({ field, reason });
    }
  };

  const id = row.request_id;
  add(
    'request_id',
    id === ''
      ? 'is required'
      : id.length > LIMITS.requestId
        ? `is longer than ${LIMITS.requestId} characters`
        : REQUEST_ID.test(id)
          ? null
          : 'may only hold letters, digits, "_" and "-", starting with a letter or digit'
  );

  const name = row.package_name;
  add(
    'package_name',
    name === ''
      ? 'is required'
      : name.length > LIMITS.packageName
        ? `is longer than ${LIMITS.packageName} characters`
        : PACKAGE_NAME.test(name)
          ? null
          : 'may only hold letters, digits, ".", "_" and "-", starting and ending with a letter or digit'
  );

  add('repo_url', repoUrlProblem(row.repo_url, policy));
  add('ref', refProblem(row.ref));

  const email = row.requester_email;
  add(
    'requester_email',
    email === ''
      ? null
      : email.length > LIMITS.email || !EMAIL.test(email)
        ? 'is not an email address'
        : null
  );

  const why = row.justification;
  add(
    'justification',
    why.length > LIMITS.justification
      ? `is longer than ${LIMITS.justification} characters`
      : CONTROL.test(why)
        ? 'must not contain control characters'
        : null
  );

  const at = row.requested_at;
  add(
    'requested_at',
    at === '' || (ISO_TIME.test(at) && !Number.isNaN(Date.parse(at)))
      ? null
      : 'is not an ISO 8601 time (e.g. 2026-11-24T10:00:00Z)'
  );
  return errors;
}
