/**
 * The production adapters, configured from the environment (see cli.ts and
 * pipeline/README.md for the variables). The request repo is reached with
 * git over https, the token sent as a header.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { Octokit } from '@octokit/rest';
import { kmsSigner } from '../../attest';
import { GitLedger } from '../../ledger';
import type { IAdapters } from '../types';
import { GitHubPublisher } from './github';
import { InboxLedger } from './inbox';
import { S3ReportStore } from './s3';
import { SesMailer } from './ses';
import { gitAuthEnv, githubToken } from './secrets';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new Error(`environment variable ${name} is required in --mode aws`);
  }
  return value;
}

/**
 * The SES client: with `REPOGUARD_SES_ROLE_ARN` (SES in another account) it
 * sends with that role's credentials, assumed through STS; else with the
 * stage's own role.
 */
export function sesClient(env: NodeJS.ProcessEnv = process.env): SESv2Client {
  const roleArn = env.REPOGUARD_SES_ROLE_ARN;
  return new SESv2Client({
    maxAttempts: 4,
    ...(roleArn
      ? {
          credentials: fromTemporaryCredentials({
            params: { RoleArn: roleArn, RoleSessionName: 'repoguard-notify', DurationSeconds: 900 }
          })
        }
      : {})
  });
}

/**
 * The mail's link to a report: the S3 console page of the object (https; the
 * reader signs in with their own AWS identity), never an `s3://` URL that no
 * mail client opens.
 */
export function consoleReportLink(reportUrl: string, region: string): string {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(reportUrl);
  if (!match) return reportUrl;
  const [, bucket, key] = match;
  const query = new URLSearchParams({ region, bucketType: 'general', prefix: key });
  return `https://${region}.console.aws.amazon.com/s3/object/${encodeURIComponent(bucket)}?${query.toString()}`;
}

export async function awsAdapters(env: NodeJS.ProcessEnv = process.env): Promise<IAdapters> {
  const token = await githubToken(env);
  const requestRepo = required(env, 'REPOGUARD_REQUEST_REPO_URL');
  if (new URL(requestRepo).username) {
    throw new Error('REPOGUARD_REQUEST_REPO_URL must not contain credentials');
  }
  const octokit = new Octokit({
    auth: token,
    baseUrl: env.REPOGUARD_GITHUB_API_URL || 'https://api.github.com',
    userAgent: 'repoguard-pipeline'
  });
  const gitLedger = new GitLedger({
    url: requestRepo,
    branch: env.REPOGUARD_REQUEST_BRANCH || 'main',
    env: gitAuthEnv(requestRepo, token)
  });
  // Path-style addressing against an emulator endpoint (AWS_ENDPOINT_URL, e.g. the offline tests).
  const s3 = new S3Client({
    maxAttempts: 4,
    forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL)
  });
  const reportBucket = required(env, 'REPOGUARD_REPORT_BUCKET');
  // The project that lists pending requests first moves the Studio inbox into request rows.
  const inboxPrefix = env.REPOGUARD_REQUEST_INBOX_PREFIX;
  const ledger = inboxPrefix
    ? new InboxLedger(gitLedger, {
        client: s3,
        bucket: reportBucket,
        prefix: inboxPrefix,
        log: line => console.log(line)
      })
    : gitLedger;
  return {
    ledger,
    publisher: new GitHubPublisher({ octokit, org: required(env, 'REPOGUARD_GITHUB_ORG'), token }),
    reports: new S3ReportStore(s3, reportBucket, env.REPOGUARD_REPORT_PREFIX ?? 'reports/'),
    // Signed decisions (attest.ts): the KMS key only the signing stages may use. Without one no
    // attestation is written, and installers refuse every approval of this run.
    ...(env.REPOGUARD_SIGNING_KEY_ARN
      ? { signer: kmsSigner(new KMSClient({ maxAttempts: 4 }), env.REPOGUARD_SIGNING_KEY_ARN) }
      : {}),
    reportLink: url =>
      consoleReportLink(url, env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    mailer: new SesMailer(
      sesClient(env),
      required(env, 'REPOGUARD_MAIL_FROM'),
      env.REPOGUARD_SES_CONFIGURATION_SET
    )
  };
}
