/**
 * The production adapters, configured from the environment (see cli.ts and
 * pipeline/README.md for the variables). The request repo is reached with
 * git over https, the token sent as a header.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { Octokit } from '@octokit/rest';
import { GitLedger } from '../../ledger';
import type { IAdapters } from '../types';
import { GitHubPublisher } from './github';
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
  return {
    ledger: new GitLedger({ url: requestRepo, env: gitAuthEnv(requestRepo, token) }),
    publisher: new GitHubPublisher({ octokit, org: required(env, 'REPOGUARD_GITHUB_ORG'), token }),
    reports: new S3ReportStore(
      new S3Client({ maxAttempts: 4 }),
      required(env, 'REPOGUARD_REPORT_BUCKET'),
      env.REPOGUARD_REPORT_PREFIX ?? 'reports/'
    ),
    mailer: new SesMailer(
      new SESv2Client({ maxAttempts: 4 }),
      required(env, 'REPOGUARD_MAIL_FROM'),
      env.REPOGUARD_SES_CONFIGURATION_SET
    )
  };
}
