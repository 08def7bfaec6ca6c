/** The manifest file passed between stage subcommands (CodeBuild projects). */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from './fsutil';
import type { IManifest } from './types';

export async function readManifest(file: string): Promise<IManifest> {
  const manifest = JSON.parse(await readFile(file, 'utf8')) as IManifest;
  if (manifest.version !== 1 || !Array.isArray(manifest.items)) {
    throw new Error(`${file} is not a RepoGuard manifest (version 1)`);
  }
  return manifest;
}

export async function writeManifest(file: string, manifest: IManifest): Promise<void> {
  await writeAtomic(file, JSON.stringify(manifest, null, 2) + '\n');
}
