/**
 * The human-readable report of one request (Markdown and HTML) and the
 * message of its email. Everything shown comes from hostile input (paths,
 * messages, URLs), so all HTML is escaped.
 */
import type { IManifestItem, IFinding } from './types';
import { formatDependencies } from './deps';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function where(f: IFinding): string {
  return f.line ? `${f.path}:${f.line}` : f.path;
}

export function installCommand(packageName: string): string {
  return `%repoguard install ${packageName}`;
}

function allFindings(item: IManifestItem): IFinding[] {
  return (item.scanners ?? []).flatMap(s => s.findings);
}

export function renderMarkdown(item: IManifestItem, executionId: string): string {
  const r = item.request;
  const lines = [
    `# RepoGuard report: ${r.package_name || '(no name)'}`,
    '',
    `- Request: \`${r.request_id}\``,
    `- Source: ${r.repo_url} ${r.ref ? `(ref ${r.ref})` : '(default branch)'}`,
    `- Commit: ${item.commitSha ?? 'not cloned'}`,
    `- Decision: **${item.decision ?? 'pending'}**${item.reason ? ` — ${item.reason}` : ''}`,
    `- Scanned at: ${item.scannedAt ?? '-'}; execution ${executionId}`,
    `- Dependencies: ${formatDependencies(item.dependencies ?? []) || 'none declared'}`
  ];
  if (item.decision === 'approved') {
    lines.push(`- Install: \`${installCommand(r.package_name)}\``);
  }
  if (item.scanners && item.scanners.length > 0) {
    lines.push('', '## Scanners', '', '| scanner | status | time | findings | note |', '| --- | --- | --- | --- | --- |');
    for (const s of item.scanners) {
      lines.push(
        `| ${s.name} | ${s.status} | ${(s.durationMs / 1000).toFixed(1)}s | ${s.findings.length} | ${mdCell(s.message ?? '')} |`
      );
    }
  }
  const findings = allFindings(item);
  if (findings.length > 0) {
    lines.push('', '## Findings', '', '| severity | counted as | scanner | rule | where | message |', '| --- | --- | --- | --- | --- | --- |');
    for (const f of findings) {
      lines.push(
        `| ${f.severity} | ${f.effectiveSeverity}${f.note ? ` (${mdCell(f.note)})` : ''} | ${f.scanner} | ${mdCell(f.ruleId)} | ${mdCell(where(f))} | ${mdCell(f.message)} |`
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function renderHtml(item: IManifestItem, executionId: string): string {
  const r = item.request;
  const e = escapeHtml;
  const rows = (item.scanners ?? [])
    .map(
      s =>
        `<tr><td>${e(s.name)}</td><td>${e(s.status)}</td><td>${(s.durationMs / 1000).toFixed(1)}s</td><td>${s.findings.length}</td><td>${e(s.message ?? '')}</td></tr>`
    )
    .join('\n');
  const findings = allFindings(item)
    .map(
      f =>
        `<tr><td>${e(f.severity)}</td><td>${e(f.effectiveSeverity)}${f.note ? ` (${e(f.note)})` : ''}</td><td>${e(f.scanner)}</td><td>${e(f.ruleId)}</td><td>${e(where(f))}</td><td>${e(f.message)}</td></tr>`
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>RepoGuard report: ${e(r.package_name)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}</style>
</head><body>
<h1>RepoGuard report: ${e(r.package_name)}</h1>
<ul>
<li>Request: <code>${e(r.request_id)}</code></li>
<li>Source: ${e(r.repo_url)} ${r.ref ? `(ref ${e(r.ref)})` : '(default branch)'}</li>
<li>Commit: <code>${e(item.commitSha ?? 'not cloned')}</code></li>
<li>Decision: <strong>${e(item.decision ?? 'pending')}</strong>${item.reason ? ` — ${e(item.reason)}` : ''}</li>
<li>Scanned at: ${e(item.scannedAt ?? '-')}; execution ${e(executionId)}</li>
<li>Dependencies: ${e(formatDependencies(item.dependencies ?? []) || 'none declared')}</li>
${item.decision === 'approved' ? `<li>Install: <code>${e(installCommand(r.package_name))}</code></li>` : ''}
</ul>
<h2>Scanners</h2>
<table><tr><th>scanner</th><th>status</th><th>time</th><th>findings</th><th>note</th></tr>
${rows}
</table>
<h2>Findings</h2>
${findings ? `<table><tr><th>severity</th><th>counted as</th><th>scanner</th><th>rule</th><th>where</th><th>message</th></tr>\n${findings}\n</table>` : '<p>No findings.</p>'}
</body></html>
`;
}

export interface IMailContent {
  subject: string;
  text: string;
  html: string;
}

/** The requester's email: decision, the findings that drove it, the install command. */
export function renderMail(item: IManifestItem, reportLink: string): IMailContent {
  const r = item.request;
  const e = escapeHtml;
  const decision = item.decision ?? 'error';
  const subject = `[RepoGuard] ${r.package_name}: ${decision}`;
  const drivers = (item.drivers ?? []).slice(0, 20);
  const text: string[] = [
    `Your request ${r.request_id} for ${r.package_name} (${r.repo_url}${r.ref ? ` @ ${r.ref}` : ''}) was ${decision}.`,
    ''
  ];
  const html: string[] = [
    `<p>Your request <code>${e(r.request_id)}</code> for <strong>${e(r.package_name)}</strong> (${e(r.repo_url)}${r.ref ? ` @ ${e(r.ref)}` : ''}) was <strong>${e(decision)}</strong>.</p>`
  ];
  if (item.commitSha) {
    text.push(`Scanned commit: ${item.commitSha}`);
    html.push(`<p>Scanned commit: <code>${e(item.commitSha)}</code></p>`);
  }
  if (item.reason) {
    text.push(`Reason: ${item.reason}`);
    html.push(`<p>Reason: ${e(item.reason)}</p>`);
  }
  if (drivers.length > 0) {
    text.push('', 'Findings that drove the decision:');
    html.push('<p>Findings that drove the decision:</p><ul>');
    for (const f of drivers) {
      text.push(`  - [${f.effectiveSeverity}] ${f.ruleId} at ${where(f)}: ${f.message}`);
      html.push(`<li>[${e(f.effectiveSeverity)}] <code>${e(f.ruleId)}</code> at ${e(where(f))}: ${e(f.message)}</li>`);
    }
    html.push('</ul>');
  }
  if (decision === 'approved') {
    const cmd = installCommand(r.package_name);
    text.push('', `Install it in a notebook with:`, '', `    ${cmd}`, '');
    html.push(`<p>Install it in a notebook with:</p><pre>${e(cmd)}</pre>`);
    if (item.privateRepoUrl) {
      text.push(`Private repository: ${item.privateRepoUrl}`);
      html.push(`<p>Private repository: <code>${e(item.privateRepoUrl)}</code></p>`);
    }
  }
  if (reportLink) {
    text.push(`Full report: ${reportLink}`);
    html.push(`<p>Full report: ${e(reportLink)}</p>`);
  }
  return { subject, text: text.join('\n') + '\n', html: `<!doctype html><html><body>${html.join('\n')}</body></html>` };
}
