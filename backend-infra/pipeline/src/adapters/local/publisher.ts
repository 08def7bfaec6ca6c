/** Embedded "org": one bare repository per approved package in DIR/private. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { archiveInto, git } from '../../git';
import type { IPublishRequest, IPublished, IPublisher } from '../../ports';

const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null'];

export class LocalPublisher implements IPublisher {
  constructor(private readonly privateDir: string) {}

  repoPath(packageName: string): string {
    return path.join(this.privateDir, `${packageName}.git`);
  }

  async exportCommit(packageName: string, commit: string, dest: string): Promise<void> {
    await archiveInto(this.repoPath(packageName), commit, dest);
  }

  async publish(request: IPublishRequest): Promise<IPublished> {
    const bare = this.repoPath(request.packageName);
    let createdRepo = false;
    if (!existsSync(path.join(bare, 'HEAD'))) {
      await mkdir(this.privateDir, { recursive: true });
      await git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
      // The scanned clone is shallow (depth 1): accept it as the history.
      await git(['--git-dir', bare, 'config', 'receive.shallowUpdate', 'true']);
      await git(['--git-dir', bare, 'config', 'description.origin', request.origin]);
      createdRepo = true;
    }
    const url = `file://${bare}`;
    const tagRef = `refs/tags/${request.tag}`;
    let tagged = '';
    try {
      tagged = (
        await git(['--git-dir', bare, 'rev-parse', '--verify', '--quiet', `${tagRef}^{commit}`])
      ).trim();
    } catch {
      tagged = '';
    }
    if (tagged === request.commitSha) {
      return { url, createdRepo, pushed: false };
    }
    if (tagged !== '') {
      throw new Error(`${request.packageName}: tag ${request.tag} already points at ${tagged}`);
    }
    // Two pushes: git fails to report status when one shallow push updates
    // two refs to the same commit (receive.shallowUpdate). Main first, the
    // tag last, so the tag marks a complete publish.
    for (const refspec of [
      `+${request.commitSha}:refs/heads/main`,
      `${request.commitSha}:${tagRef}`
    ]) {
      await git([...NO_HOOKS, 'push', '--quiet', url, refspec], { cwd: request.source });
    }
    return { url, createdRepo, pushed: true };
  }
}
