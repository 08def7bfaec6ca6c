import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { skipCheckov } from '../checkov';

/** The CodeBuild stages; each runs one `repoguard-pipeline` subcommand. */
export type StageName = 'ingest' | 'scan' | 'finish';

/**
 * The stages plus the fan-out's projects (constructs/fan-out.ts), `list` and
 * one `request`, and the scheduled re-scan (`rescan`).
 */
export type ProjectName = StageName | 'list' | 'request' | 'rescan';

/** File name of the manifest the stages pass along as CodePipeline artifacts. */
export const MANIFEST = 'manifest.json';

/**
 * The `repoguard-pipeline` invocation of each stage and the directory (relative
 * to $CODEBUILD_SRC_DIR) that becomes its output artifact. Ingest writes a new
 * manifest (sources cloned beside it) into `out/`; scan updates the manifest it
 * received in place and passes the whole directory on; finish (decide, publish,
 * record, notify) ends the run. Scan and finish take their mode (aws) from the
 * manifest.
 */
export const STAGE_COMMANDS: Record<
  ProjectName,
  { readonly command: string; readonly artifactDir?: string }
> = {
  ingest: {
    command: `repoguard-pipeline ingest --mode aws --out "$CODEBUILD_SRC_DIR/out/${MANIFEST}"`,
    artifactDir: 'out'
  },
  scan: {
    command: `repoguard-pipeline scan --manifest "$CODEBUILD_SRC_DIR/${MANIFEST}"`,
    artifactDir: '.'
  },
  finish: { command: `repoguard-pipeline finish --manifest "$CODEBUILD_SRC_DIR/${MANIFEST}"` },
  // Fan-out: started by the state machine (no source, no artifacts); inputs come as environment overrides.
  list: { command: 'repoguard-pipeline list --mode aws' },
  request: { command: 'repoguard-pipeline one --mode aws' },
  // Started by EventBridge Scheduler (no source, no artifacts): re-checks every approved commit.
  rescan: { command: 'repoguard-pipeline rescan --mode aws' }
};

/** Projects started by Step Functions or a schedule rather than CodePipeline (no CODEPIPELINE source or artifacts). */
const STANDALONE: ReadonlySet<ProjectName> = new Set(['list', 'request', 'rescan']);

export interface ScanProjectProps {
  /** Which subcommand this project runs. */
  readonly stage: ProjectName;
  /** Physical name prefix (project and role names). */
  readonly prefix: string;
  /** Image holding the scanners and the `repoguard-pipeline` CLI (injected: tests never build it). */
  readonly buildImage: codebuild.IBuildImage;
  /** VPC whose private subnets the build runs in. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the build's network interfaces. */
  readonly subnets: ec2.SubnetSelection;
  /** Security group of the build (egress 443 only). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Key encrypting the build output and the log group. */
  readonly key: kms.IKey;
  /** Retention of the build's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Plain-text environment variables (names, ARNs; never secret values). */
  readonly environment: Record<string, string>;
  /** Build timeout. @default 30 minutes */
  readonly timeout?: Duration;
  /** Compute size. @default ComputeType.SMALL */
  readonly computeType?: codebuild.ComputeType;
  /**
   * Privileged build: the scan stage runs every scanner (and the package's
   * install-time code) inside bubblewrap, whose user namespaces Docker's
   * default seccomp profile blocks. @default false
   */
  readonly privileged?: boolean;
}

/**
 * One CodeBuild project of the pipeline, attached to the private subnets, that
 * runs its `repoguard-pipeline` subcommand (STAGE_COMMANDS) in the scanner image. Its log group has a retention and the key; its role
 * has a fixed name so other accounts can name it in trust policies.
 */
export class ScanProject extends Construct {
  public readonly project: codebuild.Project;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ScanProjectProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN
    });
    this.role = new iam.Role(this, 'Role', {
      roleName: `${props.prefix}-${props.stage}-stage`,
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: `RepoGuard ${props.stage} stage (CodeBuild)`
    });

    const { command, artifactDir } = STAGE_COMMANDS[props.stage];

    const Kind = STANDALONE.has(props.stage) ? codebuild.Project : codebuild.PipelineProject;
    this.project = new Kind(this, 'Project', {
      projectName: `${props.prefix}-${props.stage}`,
      description: `RepoGuard pipeline stage: ${props.stage}`,
      role: this.role,
      vpc: props.vpc,
      subnetSelection: props.subnets,
      securityGroups: [props.securityGroup],
      encryptionKey: props.key,
      timeout: props.timeout ?? Duration.minutes(30),
      queuedTimeout: Duration.hours(2),
      environment: {
        buildImage: props.buildImage,
        computeType: props.computeType ?? codebuild.ComputeType.SMALL,
        privileged: props.privileged ?? false
      },
      environmentVariables: Object.fromEntries(
        Object.entries(props.environment).map(([name, value]) => [
          name,
          { value, type: codebuild.BuildEnvironmentVariableType.PLAINTEXT }
        ])
      ),
      logging: { cloudWatch: { logGroup: this.logGroup } },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          build: {
            commands: [command]
          }
        },
        ...(artifactDir ? { artifacts: { 'base-directory': artifactDir, files: ['**/*'] } } : {})
      })
    });
    // Privileged mode has no cdk-nag rule and no checkov CloudFormation check in
    // checkov 3.3.30 (CKV_AWS_316 covers Terraform only); tests pin it to the scan stage,
    // the fan-out's request build and the re-scan (each runs scanners in bubblewrap).
    // The ENI policy CodeBuild adds for VPC builds: ec2:CreateNetworkInterface/DeleteNetworkInterface have no resource-level scope.
    const eniPolicy = this.project.node.tryFindChild('PolicyDocument');
    if (eniPolicy) {
      skipCheckov(eniPolicy, [
        [
          'CKV_AWS_111',
          'ec2:CreateNetworkInterface and ec2:DeleteNetworkInterface support no resource-level permission; CodeBuild needs them to attach builds to the VPC.'
        ]
      ]);
    }
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB5',
      reason:
        'The stages need the scanner image (semgrep, bandit, git, bubblewrap...) built from docker/scanner.Dockerfile, pinned by tag in an immutable, scanned ECR repository.'
    });
  }
}
