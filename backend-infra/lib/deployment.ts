/**
 * The deployment contract between the stacks and the Studio side, and what a
 * Studio user may do.
 *
 * One `deployment.json` holds what a Studio server (and the kernels' magic)
 * needs to find the pipeline: region, pipeline name, request repo and branch,
 * org of the approved mirrors, report bucket and prefixes, the reader role of
 * a cross-account Studio, and the Studio side's own read-only token secret.
 * The pipeline stack writes its part to SSM (`/<prefix>/deployment.json`);
 * the Studio stack's lifecycle configuration writes the whole contract to
 * `~/.config/repoguard/deployment.json`, which `repoguard.deployment` reads
 * (trait `RepoGuardApp.deployment_file`, env `REPOGUARD_DEPLOYMENT`).
 *
 * Least privilege for people: a Studio user never holds a credential that
 * can publish, approve or waive. Requests go in through an inbox: the user's
 * role may put one JSON object per request under `inbox/` of the report
 * bucket and start the pipeline; the ingest stage turns each object into one
 * validated request row, appended with the pipeline's token, and deletes the
 * object. The Studio side reads results and installs mirrors with a separate
 * read-only GitHub token (Contents: read); the pipeline's org-admin token is
 * readable by the ingest and finish stages only.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

/** Key prefix of the reports in the report bucket. */
export const REPORT_PREFIX = 'reports/';
/** Key prefix of the request inbox in the report bucket (one JSON object per request). */
export const INBOX_PREFIX = 'inbox/';
/** Version of the contract's shape. */
export const CONTRACT_VERSION = 1;

/** The contract's fields (camelCase JSON; none is secret: secrets are named by ARN only). */
export interface IDeploymentContract {
  readonly version: number;
  readonly mode: 'aws';
  readonly region: string;
  readonly pipelineName: string;
  /**
   * SSM parameter (in the pipeline account, read through `readerRoleArn`) holding the
   * fields this copy leaves out: a cross-account Studio stack cannot name the other
   * account's bucket. @default - none (every field is here)
   */
  readonly deploymentParameter?: string;
  readonly requestRepoUrl?: string;
  readonly requestBranch?: string;
  readonly githubOrg?: string;
  readonly reportBucket?: string;
  readonly reportPrefix?: string;
  readonly inboxPrefix?: string;
  /** Role a cross-account Studio assumes for every AWS call. @default - none (same account) */
  readonly readerRoleArn?: string;
  /** The Studio side's read-only GitHub token (JSON {"token": ...}). @default - none */
  readonly readTokenSecretArn?: string;
  /**
   * The pipeline's attestation key (KMS, ECC_NIST_P256 / ECDSA_SHA_256): installers
   * trust the signatures its public key verifies, read with `kms:GetPublicKey` (key
   * or alias ARN). @default - none (aws-mode installers then refuse every approval)
   */
  readonly signingKeyArn?: string;
  /** Its public key (SPKI PEM), when an operator pins it here (no KMS call). @default - none */
  readonly signingPublicKey?: string;
}

export interface IPipelineDeploymentProps {
  readonly region: string;
  readonly pipelineName: string;
  readonly requestRepoUrl: string;
  readonly requestBranch: string;
  readonly githubOrg: string;
  readonly reportBucket: string;
  readonly signingKeyArn?: string;
  readonly readerRoleArn?: string;
}

/** The SSM parameter name of the pipeline's part of the contract. */
export function deploymentParameterName(prefix: string): string {
  return `/${prefix}/deployment.json`;
}

/** The pipeline stack's part of the contract. */
export function pipelineDeployment(props: IPipelineDeploymentProps): IDeploymentContract {
  return {
    version: CONTRACT_VERSION,
    mode: 'aws',
    region: props.region,
    pipelineName: props.pipelineName,
    requestRepoUrl: props.requestRepoUrl,
    requestBranch: props.requestBranch,
    githubOrg: props.githubOrg,
    reportBucket: props.reportBucket,
    reportPrefix: REPORT_PREFIX,
    inboxPrefix: INBOX_PREFIX,
    ...(props.signingKeyArn ? { signingKeyArn: props.signingKeyArn } : {}),
    ...(props.readerRoleArn ? { readerRoleArn: props.readerRoleArn } : {})
  };
}

/** What the Studio-side statements name. */
export interface IStudioAccess {
  readonly pipelineArn: string;
  readonly reportBucketArn: string;
  readonly keyArn: string;
  /** The attestation key whose public key installers read. @default - none */
  readonly signingKeyArn?: string;
  readonly region: string;
}

/** Read-only access to one pipeline's state and executions: what the Studio panel shows. */
export function pipelineReadStatement(pipelineArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadThisPipelineState',
    actions: [
      'codepipeline:GetPipelineState',
      'codepipeline:GetPipelineExecution',
      'codepipeline:ListPipelineExecutions',
      'codepipeline:ListActionExecutions'
    ],
    resources: [pipelineArn]
  });
}

/**
 * Everything a Studio user's role (or the cross-account panel reader) gets:
 * read the pipeline, start it, read reports and the inbox, put inbox objects,
 * use the key through S3 only, and read the attestation key's public half
 * (never sign). No GitHub token, no write to reports.
 */
export function studioStatements(access: IStudioAccess): iam.PolicyStatement[] {
  const objects = (prefix: string) => `${access.reportBucketArn}/${prefix}*`;
  return [
    pipelineReadStatement(access.pipelineArn),
    new iam.PolicyStatement({
      sid: 'StartThisPipeline',
      actions: ['codepipeline:StartPipelineExecution'],
      resources: [access.pipelineArn]
    }),
    new iam.PolicyStatement({
      sid: 'ReadReportsAndInbox',
      actions: ['s3:GetObject'],
      resources: [objects(REPORT_PREFIX), objects(INBOX_PREFIX)]
    }),
    new iam.PolicyStatement({
      sid: 'ListReportsAndInbox',
      actions: ['s3:ListBucket'],
      resources: [access.reportBucketArn],
      conditions: { StringLike: { 's3:prefix': [`${REPORT_PREFIX}*`, `${INBOX_PREFIX}*`] } }
    }),
    new iam.PolicyStatement({
      sid: 'PutRequestsIntoTheInbox',
      actions: ['s3:PutObject'],
      resources: [objects(INBOX_PREFIX)]
    }),
    new iam.PolicyStatement({
      sid: 'UseTheKeyThroughS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [access.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${access.region}.amazonaws.com` } }
    }),
    ...(access.signingKeyArn
      ? [
          new iam.PolicyStatement({
            sid: 'ReadThePipelineSigningPublicKey',
            actions: ['kms:GetPublicKey'],
            resources: [access.signingKeyArn]
          })
        ]
      : [])
  ];
}
