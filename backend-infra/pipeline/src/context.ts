/** What every stage gets: the manifest, where its files live, the config, progress. */
import type { IProgress } from './progress';
import type { IManifest } from './types';
import type { IWorkspaceConfig } from './workspace';

export interface IStageContext {
  manifest: IManifest;
  /** Folder that the manifest's relative paths (sources, SARIF) are relative to. */
  dir: string;
  config: IWorkspaceConfig;
  progress: IProgress;
}

/** Items still in flight (no decision yet). */
export function undecided(ctx: IStageContext) {
  return ctx.manifest.items.filter(i => i.decision === undefined);
}
