import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { skipCheckov } from '../checkov';

export interface ArtifactStoreProps {
  /** Key that encrypts the artifact and report buckets. */
  readonly key: kms.IKey;
  /** Days after which pipeline artifacts (manifests, clones, SARIF in transit) expire. @default 30 */
  readonly artifactExpirationDays?: number;
  /** Days after which a superseded report version expires; current reports are kept. @default 365 */
  readonly noncurrentReportDays?: number;
}

/**
 * The pipeline's storage: a KMS-encrypted artifact bucket (CodePipeline's
 * artifact store) and a KMS-encrypted report bucket (SARIF and the
 * human-readable page of each request), both versioned, TLS-only, with public
 * access blocked and server access logs written to a third bucket.
 */
export class ArtifactStore extends Construct {
  public readonly artifactBucket: s3.Bucket;
  public readonly reportBucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactStoreProps) {
    super(scope, id);

    // S3 server access logs can only be delivered to an SSE-S3 bucket, so this one is not KMS-encrypted.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }
      ]
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would loop.'
    });
    skipCheckov(this.accessLogBucket, [
      ['CKV_AWS_18', 'This is the access-log bucket itself; logging it into itself would loop.']
    ]);

    this.artifactBucket = this.secureBucket('Artifacts', props.key, 'artifacts/', [
      {
        id: 'ExpireArtifacts',
        expiration: Duration.days(props.artifactExpirationDays ?? 30),
        noncurrentVersionExpiration: Duration.days(7),
        abortIncompleteMultipartUploadAfter: Duration.days(1)
      }
    ]);
    this.reportBucket = this.secureBucket('Reports', props.key, 'reports/', [
      {
        id: 'ExpireSupersededReports',
        noncurrentVersionExpiration: Duration.days(props.noncurrentReportDays ?? 365),
        abortIncompleteMultipartUploadAfter: Duration.days(1)
      }
    ]);
  }

  private secureBucket(
    id: string,
    key: kms.IKey,
    logPrefix: string,
    lifecycleRules: s3.LifecycleRule[]
  ): s3.Bucket {
    return new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: logPrefix,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules
    });
  }
}
