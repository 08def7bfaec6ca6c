import * as React from 'react';
import { TranslationBundle } from '@jupyterlab/translation';
import { RepoGuard } from '../tokens';

export interface IHealthViewProps {
  health: RepoGuard.IHealth | null;
  error: string | null;
  busy: boolean;
  /** The mode the settings expect; a different server mode is shown as a warning. */
  expectedMode?: RepoGuard.Mode;
  trans: TranslationBundle;
}

/** The server's answer: version, mode, readiness; or what went wrong. */
export function HealthView(props: IHealthViewProps): JSX.Element {
  const { health, error, busy, expectedMode, trans } = props;
  if (error) {
    return (
      <div className="jp-RepoGuardHealth jp-mod-error" role="alert">
        {error}
      </div>
    );
  }
  if (!health) {
    return (
      <div className="jp-RepoGuardHealth" aria-busy={busy}>
        {trans.__('Contacting the RepoGuard server…')}
      </div>
    );
  }
  return (
    <dl className="jp-RepoGuardHealth" aria-label={trans.__('RepoGuard server')}>
      <dt>{trans.__('Server')}</dt>
      <dd data-testid="repoguard-version">{trans.__('RepoGuard %1', health.version)}</dd>
      <dt>{trans.__('Mode')}</dt>
      <dd data-testid="repoguard-mode">
        {health.mode}
        {expectedMode && expectedMode !== health.mode ? (
          <span className="jp-mod-warn"> {trans.__('(the settings say %1)', expectedMode)}</span>
        ) : null}
      </dd>
      {health.workspace ? (
        <>
          <dt>{trans.__('Workspace')}</dt>
          <dd className="jp-RepoGuardHealth-path">{health.workspace}</dd>
        </>
      ) : null}
      <dt>{trans.__('Status')}</dt>
      <dd className={health.ready ? 'jp-mod-ready' : 'jp-mod-warn'}>
        {health.ready ? trans.__('ready') : (health.detail ?? trans.__('not ready'))}
      </dd>
    </dl>
  );
}
