/** Small file helpers. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The pipeline's committed source folder (backend-infra/pipeline), from the
 * compiled dist/backend-infra/pipeline/src/: rules, pinned scanner configs and
 * data files are read from there, not from dist.
 */
export const PIPELINE_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'pipeline');

/** Write a file atomically: a temporary file in the same folder, then rename. */
export async function writeAtomic(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  );
  await writeFile(temp, content);
  await rename(temp, file);
}

/** `true` when `child` is `parent` or lies inside it (both absolute, normalized). */
export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
