/**
 * Publish: an approved request becomes a private repository holding exactly
 * the scanned commit on `main`, tagged with the request id. Idempotent: when
 * the tag already points at the commit (a rerun after a crash) nothing is
 * created or pushed again. A failed publish turns the decision into `error`.
 */
import path from 'node:path';
import type { IStageContext } from '../context';
import type { IPublisher } from '../ports';
import { errorMessage, oneLine } from '../redact';
import type { IManifest } from '../types';

export interface IPublishDeps {
  publisher: IPublisher;
}

export async function publish(ctx: IStageContext, deps: IPublishDeps): Promise<IManifest> {
  for (const item of ctx.manifest.items) {
    if (item.decision !== 'approved' || item.published) {
      continue;
    }
    await ctx.progress.track('publish', item, async () => {
      try {
        const result = await deps.publisher.publish({
          packageName: item.request.package_name,
          source: path.join(ctx.dir, item.source!),
          commitSha: item.commitSha!,
          tag: item.request.request_id,
          origin: item.request.repo_url
        });
        item.privateRepoUrl = result.url;
        item.published = true;
        return `${result.url}${result.createdRepo ? ' (new repo)' : ''}${result.pushed ? '' : ' (already published)'}`;
      } catch (error) {
        item.decision = 'error';
        item.reason = oneLine(`publish failed: ${errorMessage(error)}`);
        return `error: ${item.reason}`;
      }
    });
  }
  return ctx.manifest;
}
