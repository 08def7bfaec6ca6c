/**
 * The machine-readable result of `%repoguard install`: the magic displays it
 * as `application/vnd.repoguard.install+json` (contract.json `mime.install`)
 * beside its text and HTML, and the panel reads it instead of the human text.
 * `fixtures/install-bundle.json` is the shared vector (jest and pytest).
 */
import contract from './contract.json';
import { MIME } from './contract';

export const INSTALL_MIME = MIME.install;
export const INSTALL_FORMAT: string = contract.formats.install;

export interface IInstalledRow {
  package: string;
  version: string;
  /** `installed`, `already installed` or `would install`. */
  status: string;
  source: string;
  commit: string;
  approved: string;
  request: string;
  why: string;
}

export interface IInstallProblem {
  name: string;
  message: string;
  /** One line to run that fixes or follows up the problem, or `''`. */
  hint: string;
}

export interface IInstallBundle {
  /** `INSTALL_FORMAT` (contract.json `formats.install`). */
  format: string;
  /** True when everything asked for is installed (or would be, on a dry run). */
  ok: boolean;
  dry_run: boolean;
  installed: IInstalledRow[];
  problems: IInstallProblem[];
  /** Packages that must be requested (not approved yet) before the install can go ahead. */
  missing: string[];
  notes: string[];
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** The bundle out of a kernel's display data, or null when it is absent or malformed. */
export function readInstallBundle(data: unknown): IInstallBundle | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const b = data as Record<string, unknown>;
  const rows = (v: unknown, keys: readonly string[]): boolean =>
    Array.isArray(v) &&
    v.every(
      r =>
        typeof r === 'object' &&
        r !== null &&
        keys.every(k => isString((r as Record<string, unknown>)[k]))
    );
  if (
    b.format !== INSTALL_FORMAT ||
    typeof b.ok !== 'boolean' ||
    typeof b.dry_run !== 'boolean' ||
    !rows(b.installed, ['package', 'version', 'status', 'source', 'commit']) ||
    !rows(b.problems, ['name', 'message', 'hint']) ||
    !Array.isArray(b.missing) ||
    !b.missing.every(isString) ||
    !Array.isArray(b.notes) ||
    !b.notes.every(isString)
  ) {
    return null;
  }
  return b as unknown as IInstallBundle;
}
