import { Duration } from 'aws-cdk-lib';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { AttestationKey } from './attestation-key';
import type { ScanProject } from './scan-project';

/** The build's variable naming InfoSec's address (read by pipeline/src/rescan.ts). */
export const INFOSEC_EMAIL_ENV = 'REPOGUARD_INFOSEC_EMAIL';

/** The re-scan's schedule when the CDK context gives none: once a day. */
export const DEFAULT_RESCAN_SCHEDULE = 'rate(1 day)';

export interface RescanProps {
  /** Makes a CodeBuild project like the pipeline's stages (VPC, image, key, log group, environment). */
  readonly newProject: (
    name: 'rescan',
    options: {
      timeout: Duration;
      privileged: boolean;
      env: Record<string, string>;
    }
  ) => ScanProject;
  /** EventBridge Scheduler expression (`rate(...)` or `cron(...)`). @default DEFAULT_RESCAN_SCHEDULE */
  readonly schedule?: string;
  /** The GitHub token: reads the request repo and the mirrors, appends `revoked` rows. */
  readonly tokenSecret: secretsmanager.ISecret;
  /** Where the revocation reports and attestations go (and the approvals' reports are read). */
  readonly reportBucket: s3.IBucket;
  /** Statement that lets the build send its mail (SES identity, or assuming the sender role). */
  readonly mailStatement: iam.PolicyStatement;
  /** Signs each `revoked` decision. */
  readonly attestationKey: AttestationKey;
  /**
   * InfoSec's address, mailed on every revocation besides the requester (the build's
   * `REPOGUARD_INFOSEC_EMAIL`; it wins over `mail.infosec` of a config file). @default - none
   */
  readonly infosecEmail?: string;
  /** Environment beyond the common one (signing key, SES configuration set). */
  readonly environment?: Record<string, string>;
  /** Time limit of one re-scan build (every approved commit). @default 2 hours */
  readonly timeout?: Duration;
}

/**
 * The scheduled re-scan: a CodeBuild project that runs `repoguard-pipeline
 * rescan --mode aws` (every approved commit exported from its private mirror
 * and checked with osv-scanner against today's advisories and policy; what now
 * fails is revoked: a signed `revoked` row, a report, a mail to the requester
 * and to InfoSec (`infosecEmail`)), started by an EventBridge Scheduler schedule. Its role can do
 * what the finish stage does (token, report bucket, mail) plus `kms:Sign` on
 * the attestation key; the schedule's role can start this one project only.
 * Privileged like the scan stage: osv-scanner runs inside bubblewrap.
 */
export class Rescan extends Construct {
  public readonly stage: ScanProject;
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: RescanProps) {
    super(scope, id);
    this.stage = props.newProject('rescan', {
      timeout: props.timeout ?? Duration.hours(2),
      privileged: true,
      // No local advisory database in the image: osv-scanner queries osv.dev (as in the scan stage).
      env: {
        REPOGUARD_OSV_ONLINE: '1',
        ...(props.environment ?? {}),
        ...(props.infosecEmail ? { [INFOSEC_EMAIL_ENV]: props.infosecEmail } : {})
      }
    });
    const role = this.stage.role;
    props.tokenSecret.grantRead(role);
    props.reportBucket.grantReadWrite(role);
    role.addToPolicy(props.mailStatement);
    props.attestationKey.grantSign(role);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description:
        'RepoGuard re-scan: re-checks every approved commit against current advisories, revokes failures',
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? DEFAULT_RESCAN_SCHEDULE),
      target: new targets.CodeBuildStartBuild(this.stage.project as codebuild.IProject, {
        retryAttempts: 2
      })
    });
  }
}
