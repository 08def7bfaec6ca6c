/**
 * Reading and appending the request/result CSV files (papaparse).
 *
 * Both files are untrusted: a bad row becomes an entry in `errors` naming the
 * row and the reason, and never stops the other rows from being read.
 */
import Papa from 'papaparse';
import {
  IRequestRow,
  IResultRow,
  LEGACY_REQUEST_COLUMNS,
  REQUEST_COLUMNS,
  RESULT_COLUMNS
} from './columns';
import { fromLegacyUrl } from './legacy';

/** A problem with one row (or the header, row 0) of a CSV file. */
export interface IRowError {
  /** 1-based data row number; 0 for the header. */
  row: number;
  /** The column concerned, when one is. */
  field?: string;
  message: string;
}

export interface IParsedRow<T> {
  /** 1-based data row number (the header is row 0). */
  row: number;
  values: T;
}

export interface IParsedFile<T> {
  /** `legacy` for the original sample's two-column request file. */
  format: 'current' | 'legacy';
  rows: IParsedRow<T>[];
  errors: IRowError[];
}

const BOM = '\uFEFF';

/**
 * Formula injection: a spreadsheet evaluates a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return. Such a cell is written
 * with one `'` in front (what spreadsheets show as text), and so is a cell
 * that already starts with `'`s before one of those characters; a reader
 * removes exactly one `'` from a cell that starts with `'`s and then one of
 * those characters. Every value round-trips (`=1+1` → `'=1+1` → `=1+1`,
 * `'=x` → `''=x` → `'=x`). repoguard/ledger.py does the same.
 */
const FORMULA_WRITTEN = /^'*[=+\-@\t\r]/;
const FORMULA_READ = /^'+[=+\-@\t\r]/;

/** A cell as written to a CSV file (see FORMULA_WRITTEN). */
export function escapeCell(value: string): string {
  return FORMULA_WRITTEN.test(value) ? `'${value}` : value;
}

/** A cell as read from a CSV file (the inverse of `escapeCell`). */
export function unescapeCell(value: string): string {
  return FORMULA_READ.test(value) ? value.slice(1) : value;
}

function parseTable(text: string): { table: string[][]; errors: IRowError[] } {
  const input = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  const result = Papa.parse<string[]>(input, {
    header: false,
    skipEmptyLines: 'greedy'
  });
  const errors: IRowError[] = [];
  for (const e of result.errors) {
    // Field-count errors are reported per row below; keep quote errors.
    if (e.type === 'Quotes' || e.type === 'Delimiter') {
      errors.push({ row: e.row ?? 0, message: `malformed CSV: ${e.message}` });
    }
  }
  // A CRLF checkout must not change a value: line breaks inside quoted
  // values read as \n whatever the file's line ending.
  const table = result.data.map(cells => cells.map(c => unescapeCell(c.replace(/\r\n/g, '\n'))));
  return { table, errors };
}

function parseWith<C extends string>(
  text: string,
  columns: readonly C[],
  required: number
): { header: string[]; rows: IParsedRow<Record<C, string>>[]; errors: IRowError[] } {
  const { table, errors } = parseTable(text);
  const rows: IParsedRow<Record<C, string>>[] = [];
  if (table.length === 0) {
    return { header: [], rows, errors };
  }
  const header = table[0].map(h => h.trim());
  const missing = columns.slice(0, required).filter(c => !header.includes(c));
  if (missing.length > 0) {
    errors.push({
      row: 0,
      message: `header lacks column(s) ${missing.join(', ')}; expected ${columns.join(',')}`
    });
    return { header, rows, errors };
  }
  const index = new Map(header.map((h, i) => [h, i]));
  for (let r = 1; r < table.length; r++) {
    const cells = table[r];
    if (cells.length > header.length) {
      errors.push({
        row: r,
        message: `has ${cells.length} fields, the header has ${header.length}`
      });
      continue;
    }
    const values = {} as Record<C, string>;
    let short: C | undefined;
    columns.forEach((column, position) => {
      const i = index.get(column);
      const value = i === undefined ? undefined : cells[i];
      if (value === undefined && position < required && short === undefined) {
        short = column;
      }
      values[column] = value ?? '';
    });
    if (short !== undefined) {
      errors.push({
        row: r,
        field: short,
        message: `has ${cells.length} fields, the header has ${header.length}`
      });
      continue;
    }
    rows.push({ row: r, values });
  }
  return { header, rows, errors };
}

/** Number of request columns every row must have (the contract's columns). */
const REQUIRED_REQUEST = 7;
/** Number of result columns every row must have (the contract's columns). */
const REQUIRED_RESULT = 15;

/**
 * Parse `external-package-request.csv`, current or legacy format.
 *
 * A legacy row (`PublicPackageRepoName,PublicPackageRepoUrl`) is mapped to a
 * current row: a GitHub archive URL becomes its repository and ref, and the
 * request id is `legacy-<row>` (the legacy file is append-only).
 */
export function parseRequests(text: string): IParsedFile<IRequestRow> {
  const { table } = parseTable(text);
  const header = (table[0] ?? []).map(h => h.trim());
  const isLegacy =
    LEGACY_REQUEST_COLUMNS.every(c => header.includes(c)) && !header.includes('request_id');
  if (!isLegacy) {
    const { rows, errors } = parseWith(text, REQUEST_COLUMNS, REQUIRED_REQUEST);
    return { format: 'current', rows, errors };
  }
  const { rows: legacyRows, errors } = parseWith(text, LEGACY_REQUEST_COLUMNS, 2);
  const rows = legacyRows.map(({ row, values }) => {
    const name = values['PublicPackageRepoName'].trim();
    const url = values['PublicPackageRepoUrl'].trim();
    const mapped = fromLegacyUrl(url);
    return {
      row,
      values: {
        request_id: `legacy-${row}`,
        package_name: name,
        repo_url: mapped.repoUrl,
        ref: mapped.ref,
        requester_email: '',
        justification: '',
        requested_at: ''
      }
    };
  });
  return { format: 'legacy', rows, errors };
}

/** Parse `external-package-results.csv`. */
export function parseResults(text: string): IParsedFile<IResultRow> {
  const { rows, errors } = parseWith(text, RESULT_COLUMNS, REQUIRED_RESULT);
  return { format: 'current', rows, errors };
}

/**
 * Append rows to a CSV file's text, keeping its line ending and BOM.
 *
 * An empty file gets the header first. When the file's header is a shorter
 * prefix of `columns` (columns were added since it was written), the header
 * line is extended and older rows read the new columns as empty.
 */
export function appendRows<C extends string>(
  existing: string,
  columns: readonly C[],
  rows: Partial<Record<C, string>>[]
): string {
  const hasBom = existing.startsWith(BOM);
  let body = hasBom ? existing.slice(BOM.length) : existing;
  const newline = body.includes('\r\n') ? '\r\n' : '\n';
  const data = rows.map(r => columns.map(c => escapeCell(r[c] ?? '')));
  if (body.trim() === '') {
    return (
      (hasBom ? BOM : '') +
      Papa.unparse([columns as readonly string[] as string[], ...data], { newline }) +
      newline
    );
  }
  const firstBreak = body.indexOf('\n');
  const headerLine = (firstBreak < 0 ? body : body.slice(0, firstBreak)).replace(/\r$/, '');
  const header = Papa.parse<string[]>(headerLine).data[0]?.map(h => h.trim()) ?? [];
  const isPrefix = header.every((h, i) => h === columns[i]);
  if (!isPrefix) {
    throw new Error(
      `cannot append: the file's header (${header.join(',')}) is not ${columns.join(',')}`
    );
  }
  if (header.length < columns.length) {
    const rest = firstBreak < 0 ? '' : body.slice(firstBreak);
    body = columns.join(',') + rest;
  }
  if (!body.endsWith('\n')) {
    body += newline;
  }
  return (hasBom ? BOM : '') + body + Papa.unparse(data, { newline }) + newline;
}
