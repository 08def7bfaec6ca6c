import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { shortTime } from '../status';
import type { RepoGuard } from '../tokens';

export interface IRefusedListProps {
  refused: readonly RepoGuard.IRequestStatus[];
  trans: TranslationBundle;
  onOpenFindings: (requestId: string) => void;
}

/** The user's refused (and errored) requests; each opens its findings in the main area. */
export function RefusedList(props: IRefusedListProps): JSX.Element {
  const { refused, trans, onOpenFindings } = props;
  if (refused.length === 0) {
    return <p className="jp-RepoGuard-empty">{trans.__('Nothing refused.')}</p>;
  }
  return (
    <ul className="jp-RepoGuardRefused" aria-label={trans.__('Refused requests')}>
      {refused.map(entry => {
        const name = entry.request.package_name;
        const result = entry.result;
        return (
          <li key={entry.request.request_id} className="jp-RepoGuardRefused-item" aria-label={name}>
            <button
              type="button"
              className="jp-RepoGuardRefused-open"
              title={trans.__('Open the findings of %1', name)}
              onClick={() => onOpenFindings(entry.request.request_id)}
            >
              <span className="jp-RepoGuardRefused-name">{name}</span>
              <span className={`jp-RepoGuardBadge jp-RepoGuardBadge-${entry.status}`}>
                {entry.status === 'error' ? trans.__('error') : trans.__('refused')}
              </span>
              {result?.max_severity ? (
                <span
                  className={`jp-RepoGuardSeverity jp-repoguard-severity-${result.max_severity}`}
                >
                  {result.max_severity}
                </span>
              ) : null}
            </button>
            <div className="jp-RepoGuardRefused-reason">
              {entry.message ?? ''} {shortTime(entry.updated_at)}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
