/**
 * The stages as CodeBuild chains them: each stage's output folder travels as a
 * zip of files (no directory entries, so empty folders are lost), is unpacked
 * in a new folder, and the next stage runs there. Real git, real zip/unzip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ingestToFile, stageOnFile } from '../src/runner';
import {
  addRequests,
  cleanPackageFiles,
  fakeScanners,
  gitSync,
  makeRepo,
  makeWorkspace,
  requestRow,
  results,
  tempDir
} from './helpers';

/** Zip `dir` as CodeBuild's artifact upload does (files only: `zip -D`), unpack into a new folder. */
export async function artifactRoundTrip(dir: string): Promise<string> {
  const scratch = await tempDir('rg-artifact-');
  const zipFile = path.join(scratch, 'artifact.zip');
  execFileSync('zip', ['-q', '-r', '-D', '-y', zipFile, '.'], { cwd: dir });
  const out = path.join(scratch, 'unpacked');
  execFileSync('unzip', ['-q', zipFile, '-d', out]);
  return out;
}

describe('stage artifacts as zip files of files (CodeBuild)', () => {
  it('a source cloned by ingest is still a repository after the round trip, so publish pushes the scanned commit', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const ws = await makeWorkspace({ scannerBinDir: bin, scanners: ['semgrep', 'bandit'] });
    const repo = await makeRepo(path.join(ws.sourcesDir, 'tidy'), cleanPackageFiles('tidy'));
    await addRequests(ws, [
      requestRow({ request_id: 'r1', package_name: 'tidy', repo_url: repo.url })
    ]);
    const first = await tempDir('rg-build-');
    const quiet = { write: () => undefined };
    await ingestToFile(
      { mode: 'local', workspace: ws.root, ...quiet },
      path.join(first, 'out', 'manifest.json')
    );

    const scanDir = await artifactRoundTrip(path.join(first, 'out'));
    await stageOnFile('scan', path.join(scanDir, 'manifest.json'), quiet);
    const finishDir = await artifactRoundTrip(scanDir);
    await stageOnFile('finish', path.join(finishDir, 'manifest.json'), quiet);

    const [row] = await results(ws);
    assert.equal(row.decision, 'approved', row.reason);
    const bare = path.join(ws.privateDir, 'tidy.git');
    assert.ok(existsSync(bare));
    assert.equal(gitSync(bare, 'rev-parse', 'refs/heads/main').trim(), repo.sha);
    assert.equal(gitSync(bare, 'rev-parse', 'refs/tags/r1^{commit}').trim(), repo.sha);
  });
});
