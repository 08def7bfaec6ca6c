import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { isFinal, shortTime } from '../status';
import type { RepoGuard } from '../tokens';

export interface IPipelineViewProps {
  requests: readonly RepoGuard.IRequestStatus[];
  pipeline: RepoGuard.IPipeline | null;
  /** '' until the user gave their email: their requests cannot be listed yet. */
  email: string;
  /** The pipeline in the AWS console, when known. */
  consoleUrl?: string | null;
  trans: TranslationBundle;
  onOpenFindings: (requestId: string) => void;
}

/** Where each stage stands for one request: done, current, pending. */
function stageSteps(
  stages: readonly string[],
  entry: RepoGuard.IRequestStatus
): { name: string; state: 'done' | 'current' | 'pending' | 'failed' }[] {
  const final = isFinal(entry.status);
  const lower = stages.map(s => s.toLowerCase());
  const at = entry.stage ? lower.indexOf(entry.stage.toLowerCase()) : -1;
  return stages.map((name, i) => {
    if (final) {
      return { name, state: 'done' };
    }
    if (at < 0) {
      return { name, state: 'pending' };
    }
    return { name, state: i < at ? 'done' : i === at ? 'current' : 'pending' };
  });
}

/** The user's requests with their live status and stage progress, and the pipeline's run. */
export function PipelineView(props: IPipelineViewProps): JSX.Element {
  const { requests, pipeline, email, consoleUrl, trans, onOpenFindings } = props;
  const stages = pipeline?.stages ?? [];
  const current = pipeline?.current ?? null;
  const statusLabel = (entry: RepoGuard.IRequestStatus): string => {
    switch (entry.status) {
      case 'requested':
        return trans.__('requested');
      case 'queued':
        return trans.__('queued');
      case 'approved':
        return trans.__('approved');
      case 'refused':
        return trans.__('refused');
      case 'error':
        return trans.__('error');
      case 'revoked':
        return trans.__('revoked');
      default:
        return trans.__('%1…', entry.stage ?? entry.status);
    }
  };
  return (
    <div className="jp-RepoGuardPipeline">
      <div className="jp-RepoGuardPipeline-run" aria-live="polite">
        {pipeline
          ? current
            ? trans.__('%1: running %2 (stage %3)', pipeline.name, current.id, current.stage ?? '…')
            : trans.__('%1: idle', pipeline.name)
          : trans.__('Pipeline state not loaded yet.')}
        {consoleUrl ? (
          <>
            {' · '}
            <a href={consoleUrl} target="_blank" rel="noopener noreferrer">
              {trans.__('Open in the AWS console')}
            </a>
          </>
        ) : null}
      </div>
      {!email ? (
        <p className="jp-RepoGuard-empty">
          {trans.__('Your requests show here after your first request.')}
        </p>
      ) : requests.length === 0 ? (
        <p className="jp-RepoGuard-empty">{trans.__('No requests yet.')}</p>
      ) : (
        <ul className="jp-RepoGuardPipeline-list" aria-label={trans.__('My requests')}>
          {requests.map(entry => {
            const name = entry.request.package_name;
            return (
              <li
                key={entry.request.request_id}
                className={`jp-RepoGuardPipeline-item jp-mod-${entry.status.toLowerCase()}`}
                aria-label={name}
                data-request-id={entry.request.request_id}
              >
                <div className="jp-RepoGuardPipeline-head">
                  <span className="jp-RepoGuardPipeline-name">{name}</span>
                  <span
                    className={`jp-RepoGuardBadge jp-RepoGuardBadge-${entry.status.toLowerCase()}`}
                    data-testid="repoguard-status"
                  >
                    {statusLabel(entry)}
                  </span>
                </div>
                <ol className="jp-RepoGuardStages" aria-label={trans.__('Stages of %1', name)}>
                  {stageSteps(stages, entry).map(step => (
                    <li
                      key={step.name}
                      className={`jp-RepoGuardStages-step jp-mod-${step.state}`}
                      aria-current={step.state === 'current' ? 'step' : undefined}
                      title={`${step.name}: ${step.state}`}
                    >
                      {step.name}
                    </li>
                  ))}
                </ol>
                <div className="jp-RepoGuardPipeline-meta">
                  {shortTime(entry.updated_at ?? entry.request.requested_at)}
                  {entry.message ? ` · ${entry.message}` : ''}
                </div>
                {entry.status === 'refused' ||
                entry.status === 'error' ||
                entry.status === 'revoked' ? (
                  <button
                    type="button"
                    className="jp-RepoGuard-link"
                    onClick={() =>
                      // A revocation's findings are under the revocation's own id.
                      onOpenFindings(entry.result?.request_id ?? entry.request.request_id)
                    }
                  >
                    {trans.__('Findings')}
                  </button>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
