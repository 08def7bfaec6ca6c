/**
 * Re-scan and revocation: every approved commit is checked again against the
 * current advisory data and the current policy; one that now fails is
 * revoked.
 *
 * Cost per package is the SCA step only: the approved commit is exported
 * from its private mirror (`git archive` of the workspace's bare repo; in AWS
 * one shallow fetch of that commit from the org's repo; never a clone of the
 * public origin, no dynamic run) and osv-scanner runs on it in the sandbox; the policy judges
 * those findings with today's thresholds and waivers. A package whose SCA
 * run fails is reported and left as it is (a re-scan never approves, and a
 * broken re-scan never revokes silently: the run exits non-zero).
 *
 * A revocation is a new results row (`decision` `revoked`, same package and
 * commit, `request_id` `<original>-revoked-<n>`), a signed attestation whose
 * predicate names the decision it revokes, a report, and a mail to the
 * requester and to InfoSec: env `REPOGUARD_INFOSEC_EMAIL` (the deployment's
 * `infosecEmail`, set on the scheduled CodeBuild project), else `mail.infosec`
 * in the config (the embedded workspace's repoguard.config.json). The installer
 * refuses a revoked commit; a newer ref can be requested again.
 *
 * Modes: `rescan --local DIR` (the workspace's adapters, Ed25519 key) and
 * `rescan --mode aws` (GitHub, S3, SES and the KMS signer from the
 * environment, as the other stages; what the scheduled CodeBuild project of
 * lib/stacks/pipeline-stack.ts runs).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  IResultRow,
  parseRequests,
  parseResults,
  PATTERNS,
  RESULT_COLUMNS,
  RESULTS_FILE
} from '../../../src/common';
import { ATTESTATION_FILE, signStatement, statementFor } from './attest';
import type { IAdapters } from './adapters/types';
import { evaluate, parseWaivers, resolvePolicy, IPolicyConfig } from './policy';
import { oneLine, redact } from './redact';
import { escapeHtml } from './report';
import { defaultConcurrency, pool, setup } from './runner';
import { osv } from './scanners/osv';
import { runScanner } from './scanners/run';
import type { IManifestItem, IScannerRun, Mode } from './types';

export interface IRescanOptions {
  /** Embedded workspace folder (implies mode local). */
  workspace?: string;
  /** `aws`: adapters from the environment (`env`), config from `configFile` / REPOGUARD_CONFIG. */
  mode?: Mode;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Replace the mode's adapters (tests). */
  adapters?: IAdapters;
  write?: (line: string) => void;
  now?: () => Date;
  timeoutMs?: number;
  /** Packages checked at once (default: the cores). */
  concurrency?: number;
  /** Run the SCA step (tests inject nothing here; the real osv adapter runs). */
  scan?: (source: string, outDir: string) => Promise<IScannerRun>;
}

/** The variable naming InfoSec's address (lib/constructs/rescan.ts sets it from CDK context). */
export const INFOSEC_EMAIL_ENV = 'REPOGUARD_INFOSEC_EMAIL';

/** One address, nothing around it: what may go into a To header. */
const ONE_ADDRESS = /^[^@\s,;<>"']+@[^@\s,;<>"']+$/;

/**
 * InfoSec's address: the environment's (deployment-level) wins, else the config's
 * `mail.infosec`; a value that is not one address is reported and not used.
 */
export function infosecAddress(
  env: NodeJS.ProcessEnv,
  mail: { infosec?: unknown } | undefined,
  write: (line: string) => void
): string | undefined {
  const candidates: [string, unknown][] = [
    [INFOSEC_EMAIL_ENV, env[INFOSEC_EMAIL_ENV]],
    ['mail.infosec', mail?.infosec]
  ];
  for (const [source, value] of candidates) {
    if (value === undefined || value === null || value === '') continue;
    const text = typeof value === 'string' ? value.trim() : '';
    if (ONE_ADDRESS.test(text)) return text;
    write(`rescan: ${source} is not one email address; InfoSec is not mailed from it`);
  }
  return undefined;
}

export interface IRescanOutcome {
  checked: number;
  revoked: { package: string; commit: string; requestId: string; reason: string }[];
  failed: { package: string; commit: string; reason: string }[];
}

/** The approved (package, commit) pairs not yet revoked, with the row that approved each. */
export function stillApproved(results: IResultRow[]): IResultRow[] {
  const revoked = new Set(
    results
      .filter(r => r.decision === 'revoked')
      .map(r => `${r.package_name.toLowerCase()}@${r.commit_sha}`)
  );
  const latest = new Map<string, IResultRow>();
  for (const r of results) {
    const key = `${r.package_name.toLowerCase()}@${r.commit_sha}`;
    if (r.decision === 'approved' && r.commit_sha && !revoked.has(key)) latest.set(key, r);
  }
  return [...latest.values()];
}

export async function rescanOnce(options: IRescanOptions): Promise<IRescanOutcome> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const mode: Mode = options.mode ?? (options.workspace ? 'local' : 'aws');
  const { config, adapters } = await setup({
    mode,
    workspace: options.workspace,
    configFile: options.configFile,
    env: options.env,
    adapters: options.adapters
  });
  const { publisher } = adapters;
  if (!publisher.exportCommit) {
    throw new Error('rescan: this mode cannot export a mirror commit');
  }
  const snapshot = await adapters.ledger.read();
  const results = parseResults(snapshot.results).rows.map(r => r.values);
  const requests = parseRequests(snapshot.requests).rows.map(r => r.values);
  const policy = resolvePolicy({
    severityThreshold: config.severityThreshold,
    policy: (config as typeof config & { policy?: IPolicyConfig }).policy
  });
  const waivers = parseWaivers('').waivers;
  const infosec = infosecAddress(
    options.env ?? process.env,
    config.mail as { infosec?: unknown } | undefined,
    write
  );
  const scan =
    options.scan ??
    ((source: string, outDir: string) =>
      runScanner(osv(), {
        target: source,
        outDir,
        timeoutMs: options.timeoutMs ?? (config.scanTimeoutSeconds ?? 300) * 1000
      }));
  const outcome: IRescanOutcome = { checked: 0, revoked: [], failed: [] };
  const executionId = `rescan-${now().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
  const todo = stillApproved(results);
  write(`rescan: ${todo.length} approved commit(s) to check against today's advisories and policy`);
  await pool(todo, options.concurrency ?? defaultConcurrency(), async row => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'repoguard-rescan-'));
    const label = `${row.package_name}@${row.commit_sha.slice(0, 12)}`;
    try {
      const source = path.join(scratch, 'src');
      await mkdir(source);
      // The results file is untrusted input: only a valid name and a full sha reach git.
      if (
        !PATTERNS.packageName.test(row.package_name) ||
        !PATTERNS.commitSha.test(row.commit_sha)
      ) {
        throw new Error('not a valid package name and commit sha');
      }
      await publisher.exportCommit!(row.package_name, row.commit_sha, source);
      const run = await scan(source, scratch);
      outcome.checked++;
      if (run.status !== 'ok') {
        const reason = oneLine(run.message ?? `${run.name} ${run.status}`);
        outcome.failed.push({ package: row.package_name, commit: row.commit_sha, reason });
        write(`rescan  ${label}  could not be checked: ${reason}`);
        return;
      }
      const request = requests.find(q => q.request_id === row.request_id) ?? {
        request_id: row.request_id,
        package_name: row.package_name,
        repo_url: row.repo_url,
        ref: row.ref,
        requester_email: '',
        justification: '',
        requested_at: ''
      };
      const verdict = await evaluate(
        { request, commitSha: row.commit_sha, scanners: [run] },
        policy,
        { waivers, now: now() }
      );
      if (verdict.decision !== 'refused') {
        write(`rescan  ${label}  still approved`);
        return;
      }
      const n = results.filter(r => r.request_id.startsWith(`${row.request_id}-revoked-`)).length;
      const requestId = `${row.request_id}-revoked-${n + 1}`;
      const reason = oneLine(`revoked on re-scan: ${verdict.reason ?? 'now refused'}`);
      const item: IManifestItem = {
        request: { ...request, request_id: requestId },
        row: 0,
        key: requestId,
        commitSha: row.commit_sha,
        decision: 'revoked',
        reason,
        counts: verdict.counts,
        maxSeverity: verdict.maxSeverity,
        drivers: verdict.drivers,
        scanners: verdict.runs,
        scannedAt: now().toISOString()
      };
      const statement = statementFor(item, executionId);
      statement.predicate.revokes = { executionId: row.execution_id, scannedAt: row.scanned_at };
      statement.predicate.requestId = row.request_id;
      const envelope = adapters.signer ? await signStatement(statement, adapters.signer) : null;
      const text = [
        `# ${row.package_name}: approval revoked`,
        '',
        `Commit ${row.commit_sha}, approved ${row.scanned_at} (request ${row.request_id}), ` +
          `fails today's advisory data and policy.`,
        '',
        reason,
        '',
        ...verdict.drivers.map(f => `- ${f.severity} ${f.ruleId}: ${oneLine(f.message)}`)
      ].join('\n');
      const reportUrl = await adapters.reports.put(requestId, [
        { name: 'report.md', body: redact(text), contentType: 'text/markdown; charset=utf-8' },
        ...(envelope
          ? [
              {
                name: ATTESTATION_FILE,
                body: JSON.stringify(envelope, null, 2),
                contentType: 'application/vnd.dsse.envelope.v1+json'
              }
            ]
          : [])
      ]);
      const revokedRow: IResultRow = {
        ...row,
        request_id: requestId,
        decision: 'revoked',
        max_severity: verdict.maxSeverity,
        critical: String(verdict.counts.critical),
        high: String(verdict.counts.high),
        medium: String(verdict.counts.medium),
        low: String(verdict.counts.low),
        private_repo_url: '',
        report_url: reportUrl,
        scanned_at: item.scannedAt!,
        execution_id: executionId,
        reason
      };
      await adapters.ledger.append(RESULTS_FILE, RESULT_COLUMNS, [revokedRow], {
        uniqueBy: 'request_id',
        message: `RepoGuard: revoked ${row.package_name} ${row.commit_sha.slice(0, 12)} (${requestId})`
      });
      outcome.revoked.push({
        package: row.package_name,
        commit: row.commit_sha,
        requestId,
        reason
      });
      write(`rescan  ${label}  REVOKED: ${reason}`);
      const recipients: [string | undefined, string][] = [
        [request.requester_email, requestId],
        [infosec, `${requestId}-infosec`]
      ];
      for (const [to, key] of recipients) {
        if (!to) continue;
        try {
          await adapters.mailer.send({
            to,
            key,
            subject: `[RepoGuard] ${row.package_name}: approval revoked`,
            text: redact(
              `${text}\n\nInstalled copies should be removed; request a newer ref to get it back:\n` +
                `%repoguard request ${row.repo_url} --name ${row.package_name}\n`
            ),
            html: `<pre>${escapeHtml(redact(text))}</pre>`
          });
        } catch (error) {
          write(`rescan  ${label}  mail to ${to} failed: ${oneLine(String(error))}`);
        }
      }
    } catch (error) {
      const reason = oneLine(error instanceof Error ? error.message : String(error));
      outcome.failed.push({ package: row.package_name, commit: row.commit_sha, reason });
      write(`rescan  ${label}  could not be checked: ${reason}`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
  await adapters.ledger.close?.();
  write(
    `rescan: ${outcome.checked} checked, ${outcome.revoked.length} revoked, ${outcome.failed.length} could not be checked`
  );
  return outcome;
}
