/**
 * The items file of a fan-out run: the pending requests the state machine's
 * Distributed Map iterates over, one child build each. A JSON array of
 * `{request_id, row}`; a child reads its request row from the request repo
 * itself, so the file carries no request content (a changed file can only
 * make a child look up an id).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeAtomic } from './fsutil';
import type { IManifestItem } from './types';

export interface IFanOutItem {
  request_id: string;
  row: number;
}

export function fanOutItems(items: readonly IManifestItem[]): IFanOutItem[] {
  return items.map(i => ({ request_id: i.request.request_id, row: i.row }));
}

/** Write the items to `s3://bucket/key` (SSE-KMS with the bucket's default key) or to a file path. */
export async function writeItems(
  target: string,
  items: readonly IManifestItem[],
  env: NodeJS.ProcessEnv = process.env,
  client?: S3Client
): Promise<void> {
  const body = JSON.stringify(fanOutItems(items)) + '\n';
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(target);
  if (!s3) {
    await writeAtomic(target, body);
    return;
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  // An emulator on loopback (tests) serves buckets by path, not by host name.
  const s3Client =
    client ??
    new S3Client({
      maxAttempts: 4,
      region: env.AWS_REGION,
      endpoint,
      forcePathStyle: Boolean(endpoint)
    });
  await s3Client.send(
    new PutObjectCommand({
      Bucket: s3[1],
      Key: s3[2],
      Body: body,
      ContentType: 'application/json'
    })
  );
}
