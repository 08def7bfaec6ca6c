/**
 * The request inbox (lib/deployment.ts): Studio users hold no GitHub write
 * credential; they put one JSON object per request under `inbox/` of the
 * report bucket, `{"version": 1, "request": {<request columns>}}`, named
 * `<request_id>.json`. The first reader of a run (ingest, or the fan-out's
 * list) moves every object into one request row of the request repo, with
 * the pipeline's token, then deletes it. Each object is hostile input: a
 * malformed one is logged (naming the field and why) and deleted, and never
 * blocks the others; the rows' content (URL, ref, names) is validated by
 * ingest like any other request row.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client
} from '@aws-sdk/client-s3';
import { PATTERNS, REQUEST_COLUMNS, REQUESTS_FILE } from '../../../../../src/common';
import type { IAppendOptions, IAppendResult, ILedger, ILedgerSnapshot } from '../../ledger';
import { errorMessage, oneLine } from '../../redact';

/** Largest inbox object read (a request row is well under 4 KiB). */
export const MAX_INBOX_OBJECT_BYTES = 16 * 1024;
/** Largest value of one field. */
const MAX_FIELD = 2048;
const REQUEST_ID = PATTERNS.safeId;

export interface IInboxOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix, e.g. `inbox/`. */
  prefix: string;
  log?: (line: string) => void;
}

export interface IDrained {
  appended: number;
  dropped: number;
}

/** The request row of one inbox object, or the field and reason it is refused. */
export function inboxRow(
  key: string,
  body: string
): { row: Record<string, string> } | { field: string; reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { field: 'object', reason: 'is not JSON' };
  }
  const request = (data as { version?: unknown; request?: unknown })?.request;
  if ((data as { version?: unknown })?.version !== 1) {
    return { field: 'version', reason: 'must be 1' };
  }
  if (!request || typeof request !== 'object' || Array.isArray(request)) {
    return { field: 'request', reason: 'must be an object of the request columns' };
  }
  const row: Record<string, string> = {};
  for (const column of REQUEST_COLUMNS) {
    const value = (request as Record<string, unknown>)[column] ?? '';
    if (typeof value !== 'string') return { field: column, reason: 'must be a string' };
    if (value.length > MAX_FIELD)
      return { field: column, reason: `is over ${MAX_FIELD} characters` };
    if (/[\r\n]/.test(value)) return { field: column, reason: 'must be one line' };
    row[column] = value;
  }
  const extra = Object.keys(request).filter(
    k => !(REQUEST_COLUMNS as readonly string[]).includes(k)
  );
  if (extra.length > 0) return { field: extra[0], reason: 'is not a request column' };
  if (!REQUEST_ID.test(row.request_id ?? '')) {
    return { field: 'request_id', reason: 'must be 1-64 letters, digits, - or _' };
  }
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (name !== `${row.request_id}.json`) {
    return { field: 'request_id', reason: `does not match the object name ${name}` };
  }
  return { row };
}

/** Move every inbox object into a request row (one append), then delete the objects. */
export async function drainInbox(options: IInboxOptions, ledger: ILedger): Promise<IDrained> {
  const { client, bucket, prefix } = options;
  const log = options.log ?? (() => undefined);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);

  const rows: Record<string, string>[] = [];
  const done: string[] = [];
  let dropped = 0;
  for (const key of keys.sort()) {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const size = object.ContentLength ?? 0;
      const body = size > MAX_INBOX_OBJECT_BYTES ? '' : await object.Body!.transformToString();
      const parsed =
        size > MAX_INBOX_OBJECT_BYTES
          ? { field: 'object', reason: `is over ${MAX_INBOX_OBJECT_BYTES} bytes` }
          : inboxRow(key, body);
      if ('row' in parsed) {
        rows.push(parsed.row);
      } else {
        dropped++;
        log(`inbox   ${key}: ${parsed.field} ${parsed.reason}; dropped`);
      }
      done.push(key);
    } catch (error) {
      // Unreadable now (e.g. being written): left for the next run.
      log(`inbox   ${key}: ${oneLine(errorMessage(error))}; left for the next run`);
    }
  }
  let appended = 0;
  if (rows.length > 0) {
    const result = await ledger.append(REQUESTS_FILE, REQUEST_COLUMNS, rows, {
      uniqueBy: 'request_id',
      message: `Requests from the Studio inbox (${rows.length})`
    });
    appended = result.appended;
  }
  for (const key of done) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  if (keys.length > 0) log(`inbox   ${appended} request(s) appended, ${dropped} dropped`);
  return { appended, dropped };
}

/** A ledger whose reads first drain the inbox (set on the project that lists pending requests). */
export class InboxLedger implements ILedger {
  readonly url: string;

  constructor(
    private readonly inner: ILedger,
    private readonly inbox: IInboxOptions
  ) {
    this.url = inner.url;
  }

  async read(): Promise<ILedgerSnapshot> {
    await drainInbox(this.inbox, this.inner);
    return this.inner.read();
  }

  append(
    file: string,
    columns: readonly string[],
    rows: Record<string, string>[],
    options?: IAppendOptions
  ): Promise<IAppendResult> {
    return this.inner.append(file, columns, rows, options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
