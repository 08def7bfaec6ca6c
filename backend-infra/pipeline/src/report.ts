/**
 * The human-readable report of one request (Markdown and HTML) and the
 * message of its email. Everything shown comes from hostile input (paths,
 * messages, URLs), so all HTML is escaped. The findings shown come from
 * the request's findings file (`findings.ts`), the one the panel reads too.
 */
import { FILES, IFindingsFile, IJudgedFinding, SEVERITIES, Severity } from '../../../src/common';
import type { IManifestItem } from './types';
import { formatDependencies } from './deps';
import { findingsFile } from './findings';

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

function where(f: { path: string; line?: number | null }): string {
  return f.line ? `${f.path}:${f.line}` : f.path;
}

export function installCommand(packageName: string): string {
  return `%repoguard install ${packageName}`;
}

/** The file's findings by scanner (in the order the scanners ran), then by counted severity. */
function byScanner(
  item: IManifestItem,
  file: IFindingsFile
): [string, [Severity, IJudgedFinding[]][]][] {
  const names = [
    ...new Set([...(item.scanners ?? []).map(s => s.name), ...file.findings.map(f => f.scanner)])
  ];
  return names
    .map(name => {
      const mine = file.findings.filter(f => f.scanner === name);
      const groups = SEVERITIES.map(
        s => [s, mine.filter(f => f.severity === s)] as [Severity, IJudgedFinding[]]
      ).filter(([, fs]) => fs.length > 0);
      return [name, groups] as [string, [Severity, IJudgedFinding[]][]];
    })
    .filter(([, groups]) => groups.length > 0);
}

/** At most this many findings per scanner and severity are listed (the SARIF has them all). */
export const REPORT_FINDINGS_PER_GROUP = 200;

function counted(f: IJudgedFinding): string {
  const as =
    f.severity === f.scanner_severity ? f.severity : `${f.scanner_severity} → ${f.severity}`;
  return f.reason ? `${as} (${f.reason})` : as;
}

function why(item: IManifestItem): string {
  switch (item.decision) {
    case 'approved':
      return 'no counted finding reached the threshold of its gate';
    case 'refused':
      return item.reason ?? 'findings reached the threshold of their gate';
    case 'error':
      return `${item.reason ?? 'the scan did not complete'} (fail closed: an incomplete scan is never approved)`;
    default:
      return 'not decided';
  }
}

/** The SCA scan's advisory data (source, date, records): part of every report. */
export function advisoryDataLine(item: IManifestItem): string {
  const a = item.advisoryData;
  if (!a) return 'none: the SCA scanner (osv) did not run or failed';
  const extra = [
    a.records !== undefined ? `${a.records} records` : '',
    (a.ecosystems ?? []).join(', ')
  ]
    .filter(Boolean)
    .join(', ');
  const mode = a.kind === 'online' ? 'queried online' : 'offline';
  return `${a.source}, dated ${a.date}${extra ? ` (${extra})` : ''}; ${mode}`;
}

export function renderMarkdown(
  item: IManifestItem,
  executionId: string,
  file: IFindingsFile = findingsFile(item)
): string {
  const r = item.request;
  const c = item.counts ?? { critical: 0, high: 0, medium: 0, low: 0 };
  const lines = [
    `# RepoGuard report: ${r.package_name || '(no name)'}`,
    '',
    `- Request: \`${r.request_id}\``,
    `- Source: ${r.repo_url} ${r.ref ? `(ref ${r.ref})` : '(default branch)'}`,
    `- Commit: ${item.commitSha ?? 'not cloned'}`,
    `- Decision: **${item.decision ?? 'pending'}** — ${why(item)}`,
    `- Counted findings: critical ${c.critical}, high ${c.high}, medium ${c.medium}, low ${c.low} (max ${item.maxSeverity || 'none'})`,
    `- Scanned at: ${item.scannedAt ?? '-'}; execution ${executionId}`,
    `- Dependencies: ${formatDependencies(item.dependencies ?? []) || 'none declared'}`,
    `- Advisory data: ${advisoryDataLine(item)}`
  ];
  if (item.decision === 'approved') {
    lines.push(`- Install: \`${installCommand(r.package_name)}\``);
  }
  const drivers = file.findings.filter(f => f.drove);
  if (drivers.length > 0) {
    lines.push(
      '',
      '## Why',
      '',
      '| gate | counted as | scanner | rule | where |',
      '| --- | --- | --- | --- | --- |'
    );
    for (const f of drivers.slice(0, 50)) {
      lines.push(
        `| ${f.gate} | ${f.severity} | ${f.scanner} | ${mdCell(f.rule_id)} | ${mdCell(where(f))} |`
      );
    }
  }
  const waivers = file.waivers;
  lines.push('', '## Waivers applied', '');
  if (waivers.length === 0) {
    lines.push('None.');
  } else {
    lines.push(
      '| rule | package | covers | expires | approver | reason | where |',
      '| --- | --- | --- | --- | --- | --- | --- |'
    );
    for (const w of waivers) {
      lines.push(
        `| ${mdCell(w.rule_id)} | ${mdCell(r.package_name)} | ${mdCell(w.covers)} | ${w.expires} | ${mdCell(w.approver)} | ${mdCell(w.reason)} | ${mdCell(where(w))} |`
      );
    }
  }
  if (item.scanners && item.scanners.length > 0) {
    lines.push(
      '',
      '## Scanners',
      '',
      '| scanner | status | time | findings | note |',
      '| --- | --- | --- | --- | --- |'
    );
    for (const s of item.scanners) {
      lines.push(
        `| ${s.name} | ${s.status} | ${(s.durationMs / 1000).toFixed(1)}s | ${s.findings.length} | ${mdCell(s.message ?? '')} |`
      );
    }
  }
  lines.push(...coverageMarkdown(item));
  lines.push('', '## Findings', '');
  if (file.findings.length === 0) {
    lines.push('No findings.');
  }
  for (const [scanner, groups] of byScanner(item, file)) {
    lines.push(`### ${scanner}`, '');
    for (const [severity, fs] of groups) {
      lines.push(`#### ${severity} (${fs.length})`, '');
      for (const f of fs.slice(0, REPORT_FINDINGS_PER_GROUP)) {
        lines.push(
          `- \`${mdInline(where(f))}\` **${mdInline(f.rule_id)}** [${mdInline(counted(f))}]: ${mdInline(f.message)}`
        );
        if (f.snippet) {
          lines.push(`  \`${mdInline(f.snippet).replace(/`/g, "'")}\``);
        }
      }
      if (fs.length > REPORT_FINDINGS_PER_GROUP) {
        lines.push(`- … ${fs.length - REPORT_FINDINGS_PER_GROUP} more in ${FILES.findings}`);
      }
      lines.push('');
    }
  }
  if (file.omitted > 0) {
    lines.push(`${file.omitted} more finding(s) are only in ${FILES.sarif}.`);
  }
  lines.push(
    '',
    `The merged SARIF 2.1.0 log of every scanner is \`${FILES.sarif}\` beside this page; the findings as judged are \`${FILES.findings}\`.`
  );
  return lines.join('\n') + '\n';
}

/** At most this many not-scanned files are listed per scanner (all are findings or in the SARIF run). */
const NOT_SCANNED_LISTED = 50;

/** Per scanner: the pinned configuration it ran with and what it did not scan. */
function coverageMarkdown(item: IManifestItem): string[] {
  const runs = (item.scanners ?? []).filter(s => s.config || s.notScanned);
  if (runs.length === 0) return [];
  const lines = ['', '## Scanner configuration and coverage', ''];
  for (const s of runs) {
    const config = (s.config ?? []).map(
      c => `${mdInline(c.name)} (sha256 ${c.sha256.slice(0, 16)})`
    );
    lines.push(`- **${s.name}**: pinned ${config.join('; ') || 'none recorded'}`);
    const skipped = s.notScanned ?? [];
    if (skipped.length === 0) {
      lines.push('  - scanned every file in its scope');
    } else {
      lines.push(`  - did not scan ${skipped.length} file(s):`);
      for (const n of skipped.slice(0, NOT_SCANNED_LISTED)) {
        lines.push(`    - \`${mdInline(n.path).replace(/`/g, "'")}\`: ${mdInline(n.reason)}`);
      }
      if (skipped.length > NOT_SCANNED_LISTED) {
        lines.push(`    - … ${skipped.length - NOT_SCANNED_LISTED} more (in ${FILES.sarif})`);
      }
    }
  }
  return lines;
}

function coverageHtml(item: IManifestItem): string {
  const e = escapeHtml;
  const runs = (item.scanners ?? []).filter(s => s.config || s.notScanned);
  if (runs.length === 0) return '';
  const items = runs.map(s => {
    const config = (s.config ?? [])
      .map(c => `${e(c.name)} (sha256 <code>${e(c.sha256.slice(0, 16))}</code>)`)
      .join('; ');
    const skipped = s.notScanned ?? [];
    const list = skipped
      .slice(0, NOT_SCANNED_LISTED)
      .map(n => `<li><code>${e(n.path)}</code>: ${e(n.reason)}</li>`)
      .join('');
    const more =
      skipped.length > NOT_SCANNED_LISTED
        ? `<li>… ${skipped.length - NOT_SCANNED_LISTED} more (in ${e(FILES.sarif)})</li>`
        : '';
    return `<li><strong>${e(s.name)}</strong>: pinned ${config || 'none recorded'}${
      skipped.length === 0
        ? '<br>scanned every file in its scope'
        : `<br>did not scan ${skipped.length} file(s):<ul>${list}${more}</ul>`
    }</li>`;
  });
  return `<h2>Scanner configuration and coverage</h2>\n<ul>\n${items.join('\n')}\n</ul>`;
}

function mdInline(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[<>]/g, m => (m === '<' ? '&lt;' : '&gt;'))
    .slice(0, 500);
}

export function renderHtml(
  item: IManifestItem,
  executionId: string,
  file: IFindingsFile = findingsFile(item)
): string {
  const r = item.request;
  const e = escapeHtml;
  const c = item.counts ?? { critical: 0, high: 0, medium: 0, low: 0 };
  const rows = (item.scanners ?? [])
    .map(
      s =>
        `<tr><td>${e(s.name)}</td><td>${e(s.status)}</td><td>${(s.durationMs / 1000).toFixed(1)}s</td><td>${s.findings.length}</td><td>${e(s.message ?? '')}</td></tr>`
    )
    .join('\n');
  const drivers = file.findings
    .filter(f => f.drove)
    .slice(0, 50)
    .map(
      f =>
        `<tr><td>${e(f.gate)}</td><td>${e(f.severity)}</td><td>${e(f.scanner)}</td><td>${e(f.rule_id)}</td><td><code>${e(where(f))}</code></td></tr>`
    )
    .join('\n');
  const waivers = file.waivers
    .map(
      w =>
        `<tr><td>${e(w.rule_id)}</td><td>${e(r.package_name)}</td><td><code>${e(w.covers)}</code></td><td>${e(w.expires)}</td><td>${e(w.approver)}</td><td>${e(w.reason)}</td><td><code>${e(where(w))}</code></td></tr>`
    )
    .join('\n');
  const groups = byScanner(item, file)
    .map(([scanner, bySeverity]) => {
      const sev = bySeverity
        .map(([severity, fs]) => {
          const list = fs
            .slice(0, REPORT_FINDINGS_PER_GROUP)
            .map(
              f =>
                `<li><code>${e(where(f))}</code> <strong>${e(f.rule_id)}</strong> [${e(counted(f))}]: ${e(f.message)}${f.snippet ? `<pre>${e(f.snippet)}</pre>` : ''}</li>`
            )
            .join('\n');
          const more =
            fs.length > REPORT_FINDINGS_PER_GROUP
              ? `<li>… ${fs.length - REPORT_FINDINGS_PER_GROUP} more in ${e(FILES.findings)}</li>`
              : '';
          return `<h4 class="sev-${e(severity)}">${e(severity)} (${fs.length})</h4>\n<ul>\n${list}${more}\n</ul>`;
        })
        .join('\n');
      return `<h3>${e(scanner)}</h3>\n${sev}`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>RepoGuard report: ${e(r.package_name)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}pre{background:rgba(127,127,127,.15);padding:.3em;white-space:pre-wrap;margin:.2em 0}.sev-critical,.sev-high{color:#b00020}.sev-medium{color:#a05a00}</style>
</head><body>
<h1>RepoGuard report: ${e(r.package_name)}</h1>
<ul>
<li>Request: <code>${e(r.request_id)}</code></li>
<li>Source: ${e(r.repo_url)} ${r.ref ? `(ref ${e(r.ref)})` : '(default branch)'}</li>
<li>Commit: <code>${e(item.commitSha ?? 'not cloned')}</code></li>
<li>Decision: <strong>${e(item.decision ?? 'pending')}</strong> — ${e(why(item))}</li>
<li>Counted findings: critical ${c.critical}, high ${c.high}, medium ${c.medium}, low ${c.low} (max ${e(item.maxSeverity || 'none')})</li>
<li>Scanned at: ${e(item.scannedAt ?? '-')}; execution ${e(executionId)}</li>
<li>Dependencies: ${e(formatDependencies(item.dependencies ?? []) || 'none declared')}</li>
<li>Advisory data: ${e(advisoryDataLine(item))}</li>
${item.decision === 'approved' ? `<li>Install: <code>${e(installCommand(r.package_name))}</code></li>` : ''}
</ul>
${drivers ? `<h2>Why</h2>\n<table><tr><th>gate</th><th>counted as</th><th>scanner</th><th>rule</th><th>where</th></tr>\n${drivers}\n</table>` : ''}
<h2>Waivers applied</h2>
${waivers ? `<table><tr><th>rule</th><th>package</th><th>covers</th><th>expires</th><th>approver</th><th>reason</th><th>where</th></tr>\n${waivers}\n</table>` : '<p>None.</p>'}
<h2>Scanners</h2>
<table><tr><th>scanner</th><th>status</th><th>time</th><th>findings</th><th>note</th></tr>
${rows}
</table>
${coverageHtml(item)}
<h2>Findings</h2>
${groups || '<p>No findings.</p>'}
${file.omitted > 0 ? `<p>${file.omitted} more finding(s) are only in <code>${e(FILES.sarif)}</code>.</p>` : ''}
<p>The merged SARIF 2.1.0 log of every scanner is <code>${e(FILES.sarif)}</code> beside this page; the findings as judged are <code>${e(FILES.findings)}</code>.</p>
</body></html>
`;
}

export interface IMailContent {
  subject: string;
  text: string;
  html: string;
}

/** The requester's email: decision, the findings that drove it, the install command. */
export function renderMail(
  item: IManifestItem,
  reportLink: string,
  file: IFindingsFile = findingsFile(item)
): IMailContent {
  const r = item.request;
  const e = escapeHtml;
  const decision = item.decision ?? 'error';
  const subject = `[RepoGuard] ${r.package_name}: ${decision}`;
  const drivers = file.findings.filter(f => f.drove).slice(0, 20);
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
      text.push(`  - [${f.severity}] ${f.rule_id} at ${where(f)}: ${f.message}`);
      html.push(
        `<li>[${e(f.severity)}] <code>${e(f.rule_id)}</code> at ${e(where(f))}: ${e(f.message)}</li>`
      );
    }
    html.push('</ul>');
  }
  const waived = file.waivers;
  if (waived.length > 0) {
    text.push('', 'InfoSec waivers applied:');
    html.push('<p>InfoSec waivers applied:</p><ul>');
    for (const w of waived.slice(0, 20)) {
      text.push(`  - ${w.rule_id} at ${where(w)} (${w.approver}, until ${w.expires}): ${w.reason}`);
      html.push(
        `<li><code>${e(w.rule_id)}</code> at ${e(where(w))} (${e(w.approver)}, until ${e(w.expires)}): ${e(w.reason)}</li>`
      );
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
  return {
    subject,
    text: text.join('\n') + '\n',
    html: `<!doctype html><html><body>${html.join('\n')}</body></html>`
  };
}
