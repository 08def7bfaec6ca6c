import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  approvedNames,
  filterIndices,
  searchKeys,
  shortTime,
  unapprovedDependencies
} from '../status';
import type { IInstallState, RepoGuard } from '../tokens';

/** Height of one row in px (the list is virtualized: only visible rows exist in the DOM). */
export const ROW_HEIGHT = 56;
const OVERSCAN = 6;
/** Rows rendered before the list knows its height (e.g. in tests). */
const INITIAL_ROWS = 20;

export interface IApprovedListProps {
  approved: readonly RepoGuard.IResultRow[];
  installs: ReadonlyMap<string, IInstallState>;
  trans: TranslationBundle;
  onInstall: (name: string) => void;
  onRequest: (name: string) => void;
  onOpenReport: (requestId: string) => void;
}

/** Approved packages: a filter box and a windowed list with Install buttons. */
export function ApprovedList(props: IApprovedListProps): JSX.Element {
  const { approved, installs, trans, onInstall, onRequest, onOpenReport } = props;
  const [query, setQuery] = React.useState('');
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(0);
  const viewport = React.useRef<HTMLDivElement>(null);

  const keys = React.useMemo(() => searchKeys(approved), [approved]);
  const matches = React.useMemo(() => filterIndices(keys, query), [keys, query]);
  const names = React.useMemo(() => approvedNames(approved), [approved]);

  React.useEffect(() => {
    const node = viewport.current;
    if (!node) {
      return;
    }
    const measure = () => setHeight(node.clientHeight);
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const visibleRows = height > 0 ? Math.ceil(height / ROW_HEIGHT) : INITIAL_ROWS;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(matches.length, first + visibleRows + 2 * OVERSCAN);
  const filterId = 'jp-RepoGuardApproved-filter';
  const outcomes = [...installs.values()].filter(s => s.status !== 'running');

  return (
    <div className="jp-RepoGuardApproved" data-query={query}>
      <div className="jp-RepoGuardApproved-filter">
        <label htmlFor={filterId} className="jp-RepoGuard-visuallyHidden">
          {trans.__('Filter approved packages')}
        </label>
        <input
          id={filterId}
          type="search"
          className="jp-mod-styled"
          placeholder={trans.__('Filter by name, source or commit')}
          value={query}
          onChange={event => {
            setQuery(event.target.value);
            setScrollTop(0);
            if (viewport.current) {
              viewport.current.scrollTop = 0;
            }
          }}
        />
        <span className="jp-RepoGuardApproved-count" aria-live="polite">
          {trans.__('%1 of %2', matches.length, approved.length)}
        </span>
      </div>
      <div
        ref={viewport}
        className="jp-RepoGuardApproved-viewport"
        onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      >
        {approved.length === 0 ? (
          <p className="jp-RepoGuard-empty">{trans.__('Nothing approved yet.')}</p>
        ) : (
          <ul
            className="jp-RepoGuardApproved-list"
            aria-label={trans.__('Approved packages')}
            style={{ height: matches.length * ROW_HEIGHT }}
          >
            {matches.slice(first, last).map((index, offset) => {
              const row = approved[index];
              const name = row.package_name;
              const install = installs.get(name);
              const missing = unapprovedDependencies(row, names);
              return (
                <li
                  key={row.request_id}
                  className="jp-RepoGuardApproved-item"
                  aria-label={name}
                  style={{ top: (first + offset) * ROW_HEIGHT, height: ROW_HEIGHT }}
                >
                  <div className="jp-RepoGuardApproved-main">
                    <span className="jp-RepoGuardApproved-name">{name}</span>
                    <span className="jp-RepoGuardApproved-source" title={row.repo_url}>
                      {row.repo_url}
                    </span>
                    <span className="jp-RepoGuardApproved-meta">
                      <code title={row.commit_sha}>{row.commit_sha.slice(0, 12)}</code>
                      {' · '}
                      {shortTime(row.scanned_at)}
                      {row.report_url ? (
                        <>
                          {' · '}
                          <button
                            type="button"
                            className="jp-RepoGuard-link"
                            onClick={() => onOpenReport(row.request_id)}
                          >
                            {trans.__('Report')}
                          </button>
                        </>
                      ) : null}
                      {missing.length > 0 ? (
                        <>
                          {' · '}
                          {trans.__('needs')}{' '}
                          {missing.map(dep => (
                            <button
                              key={dep.name}
                              type="button"
                              className="jp-RepoGuard-link jp-mod-warn"
                              title={trans.__('%1 is not approved: request it', dep.name)}
                              onClick={() => onRequest(dep.name)}
                            >
                              {dep.name}
                            </button>
                          ))}
                        </>
                      ) : null}
                    </span>
                  </div>
                  <button
                    type="button"
                    className="jp-Button jp-mod-styled jp-RepoGuardApproved-install"
                    disabled={install?.status === 'running'}
                    title={trans.__(
                      'Install the approved commit into the active notebook’s kernel'
                    )}
                    onClick={() => onInstall(name)}
                  >
                    {install?.status === 'running' ? trans.__('Installing…') : trans.__('Install')}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {outcomes.length > 0 ? (
        <div className="jp-RepoGuardInstalls" aria-label={trans.__('Install results')}>
          {outcomes.map(state => (
            <InstallOutcome key={state.name} state={state} trans={trans} onRequest={onRequest} />
          ))}
        </div>
      ) : null}
    </div>
  );
}

function InstallOutcome(props: {
  state: IInstallState;
  trans: TranslationBundle;
  onRequest: (name: string) => void;
}): JSX.Element {
  const { state, trans, onRequest } = props;
  const missing = missingNames(state);
  return (
    <div
      className={`jp-RepoGuardInstalls-item jp-mod-${state.status}`}
      role={state.status === 'failed' ? 'alert' : 'status'}
    >
      <strong>
        {state.status === 'installed'
          ? trans.__('Installed %1 into the notebook’s kernel.', state.name)
          : trans.__('Could not install %1.', state.name)}
      </strong>
      {state.text ? <pre className="jp-RepoGuardInstalls-output">{state.text}</pre> : null}
      {missing.map(name => (
        <button
          key={name}
          type="button"
          className="jp-Button jp-mod-styled"
          onClick={() => onRequest(name)}
        >
          {trans.__('Request %1', name)}
        </button>
      ))}
    </div>
  );
}

function missingNames(state: IInstallState): string[] {
  return state.status === 'failed' ? (state.missing ?? []) : [];
}
