/**
 * Production "org": a private GitHub repository per approved package, made
 * with @octokit/rest, then the scanned commit pushed with git (token in an
 * http.extraHeader from the environment, never in a URL or argv).
 * Idempotent: an existing repo is reused, and when tag <request_id> already
 * points at the commit nothing is pushed.
 */
import type { Octokit } from '@octokit/rest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { archiveInto, git } from '../../git';
import type { IPublishRequest, IPublished, IPublisher } from '../../ports';
import { gitAuthEnv } from './secrets';
import { withRetry, IRetryOptions } from './retry';

export interface IGitHubPublisherOptions {
  octokit: Octokit;
  org: string;
  token: string;
  retry?: IRetryOptions;
}

function status(error: unknown): number | undefined {
  return (error as { status?: number })?.status;
}

export class GitHubPublisher implements IPublisher {
  constructor(private readonly options: IGitHubPublisherOptions) {}

  /** The repo's clone URL, creating the private repo when it does not exist. */
  async ensureRepo(name: string, origin: string): Promise<{ cloneUrl: string; created: boolean }> {
    const { octokit, org } = this.options;
    const retry = <T>(work: () => Promise<T>) => withRetry(work, this.options.retry);
    try {
      const { data } = await retry(() => octokit.rest.repos.get({ owner: org, repo: name }));
      return { cloneUrl: data.clone_url, created: false };
    } catch (error) {
      if (status(error) !== 404) {
        throw error;
      }
    }
    try {
      const { data } = await retry(() =>
        octokit.rest.repos.createInOrg({
          org,
          name,
          private: true,
          visibility: 'private',
          description: `RepoGuard-approved mirror of ${origin}`.slice(0, 350),
          has_issues: false,
          has_projects: false,
          has_wiki: false,
          auto_init: false
        })
      );
      return { cloneUrl: data.clone_url, created: true };
    } catch (error) {
      if (status(error) === 422) {
        // Created meanwhile by a concurrent run: use it.
        const { data } = await retry(() => octokit.rest.repos.get({ owner: org, repo: name }));
        return { cloneUrl: data.clone_url, created: false };
      }
      throw error;
    }
  }

  async taggedCommit(name: string, tag: string): Promise<string | null> {
    const { octokit, org } = this.options;
    try {
      const { data } = await withRetry(
        () => octokit.rest.git.getRef({ owner: org, repo: name, ref: `tags/${tag}` }),
        this.options.retry
      );
      return data.object.sha;
    } catch (error) {
      const code = status(error);
      if (code === 404 || code === 409) {
        return null; // no such tag, or an empty repository
      }
      throw error;
    }
  }

  /**
   * The re-scan's copy of a mirror's commit: one shallow fetch of exactly that
   * commit from the org's repo (its clone URL from the API, never from a
   * results row, so the token goes to GitHub only) into a scratch bare repo.
   */
  async exportCommit(packageName: string, commit: string, dest: string): Promise<void> {
    const { octokit, org, token } = this.options;
    const { data } = await withRetry(
      () => octokit.rest.repos.get({ owner: org, repo: packageName }),
      this.options.retry
    );
    const scratch = await mkdtemp(path.join(tmpdir(), 'repoguard-mirror-'));
    try {
      const env = gitAuthEnv(data.clone_url, token);
      await git(['init', '--quiet', '--bare', scratch]);
      await git(['--git-dir', scratch, 'fetch', '--quiet', '--depth=1', data.clone_url, commit], {
        env
      });
      await archiveInto(scratch, commit, dest);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async publish(request: IPublishRequest): Promise<IPublished> {
    const { cloneUrl, created } = await this.ensureRepo(request.packageName, request.origin);
    const tagged = created ? null : await this.taggedCommit(request.packageName, request.tag);
    if (tagged === request.commitSha) {
      return { url: cloneUrl, createdRepo: created, pushed: false };
    }
    if (tagged !== null) {
      throw new Error(`${request.packageName}: tag ${request.tag} already points at ${tagged}`);
    }
    await git(
      [
        '-c',
        'core.hooksPath=/dev/null',
        'push',
        '--quiet',
        cloneUrl,
        `+${request.commitSha}:refs/heads/main`,
        `${request.commitSha}:refs/tags/${request.tag}`
      ],
      { cwd: request.source, env: gitAuthEnv(cloneUrl, this.options.token) }
    );
    return { url: cloneUrl, createdRepo: created, pushed: true };
  }
}
