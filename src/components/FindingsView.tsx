import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { RepoGuard } from '../tokens';

export interface IFindingsViewProps {
  detail: RepoGuard.IResultDetail | null;
  error: string | null;
  trans: TranslationBundle;
  onOpenReport: (requestId: string) => void;
}

/** One decision and the findings as the policy judged them (the report's `findings.json`). */
export function FindingsView(props: IFindingsViewProps): JSX.Element {
  const { detail, error, trans, onOpenReport } = props;
  if (error) {
    return (
      <div className="jp-RepoGuardFindings" role="alert">
        {error}
      </div>
    );
  }
  if (!detail) {
    return <div className="jp-RepoGuardFindings">{trans.__('Loading findings…')}</div>;
  }
  const { result, findings } = detail;
  return (
    <div className="jp-RepoGuardFindings">
      <h2>{trans.__('%1: %2', detail.package_name, detail.decision)}</h2>
      <dl className="jp-RepoGuardFindings-facts">
        <dt>{trans.__('Source')}</dt>
        <dd>{result.repo_url}</dd>
        <dt>{trans.__('Commit')}</dt>
        <dd>
          <code>{result.commit_sha}</code>
        </dd>
        <dt>{trans.__('Decision')}</dt>
        <dd className={`jp-RepoGuardBadge-${detail.decision}`}>{detail.decision}</dd>
        {detail.reason ? (
          <>
            <dt>{trans.__('Reason')}</dt>
            <dd>{detail.reason}</dd>
          </>
        ) : null}
      </dl>
      <button
        type="button"
        className="jp-Button jp-mod-styled"
        onClick={() => onOpenReport(detail.request_id)}
      >
        {trans.__('Open full report')}
      </button>
      <h3>{trans.__('Findings')}</h3>
      {findings === null ? (
        <p>{trans.__('The report has no findings file.')}</p>
      ) : findings.findings.length === 0 ? (
        <p>{trans.__('No findings.')}</p>
      ) : (
        <table className="jp-RepoGuardFindings-table" aria-label={trans.__('Findings')}>
          <thead>
            <tr>
              <th>{trans.__('Counted as')}</th>
              <th>{trans.__('Gate')}</th>
              <th>{trans.__('Scanner')}</th>
              <th>{trans.__('Rule')}</th>
              <th>{trans.__('Where')}</th>
              <th>{trans.__('Message')}</th>
              <th>{trans.__('Why')}</th>
            </tr>
          </thead>
          <tbody>
            {findings.findings.map((finding, i) => (
              <tr
                key={i}
                className={
                  finding.drove ? 'jp-mod-drove' : finding.waived ? 'jp-mod-waived' : undefined
                }
              >
                <td className={`jp-repoguard-severity-${finding.severity}`}>
                  {finding.severity}
                  {finding.severity !== finding.scanner_severity
                    ? trans.__(' (rated %1)', finding.scanner_severity)
                    : ''}
                </td>
                <td>{finding.gate}</td>
                <td>{finding.scanner}</td>
                <td>
                  <code>{finding.rule_id}</code>
                </td>
                <td>
                  {finding.path}
                  {finding.line ? `:${finding.line}` : ''}
                </td>
                <td>{finding.message}</td>
                <td>
                  {finding.drove
                    ? trans.__('drove the decision')
                    : finding.waived
                      ? trans.__('waived: %1', finding.reason)
                      : finding.reason}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {findings && findings.omitted > 0 ? (
        <p>{trans.__('%1 more findings are in the SARIF log.', findings.omitted)}</p>
      ) : null}
    </div>
  );
}
