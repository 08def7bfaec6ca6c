import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  Validations,
  type StackProps
} from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as notifications from 'aws-cdk-lib/aws-codestarnotifications';
import * as connections from 'aws-cdk-lib/aws-codestarconnections';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { resolveVpc, type VpcSource } from '../vpc-source';
import { skipCheckov } from '../checkov';
import { ArtifactStore } from '../constructs/artifact-store';
import { AttestationKey } from '../constructs/attestation-key';
import { MailIdentity } from '../constructs/mail-identity';
import { FanOut, type FanOutSettings } from '../constructs/fan-out';
import { Rescan } from '../constructs/rescan';
import { ScanProject, type ProjectName, type StageName } from '../constructs/scan-project';
import type { TriggerKind } from '../config';
import {
  INBOX_PREFIX,
  deploymentParameterName,
  REPORT_PREFIX,
  pipelineDeployment,
  studioStatements,
  type IDeploymentContract,
  type IStudioAccess
} from '../deployment';
import { acknowledgeKnownWildcards } from '../nag';
import { allowLogsService } from './network-stack';

/** Where the notify stage sends from (built from the notification stack or from configuration). */
export interface MailSettings {
  readonly identityArn: string;
  readonly configurationSetArn: string;
  readonly configurationSetName: string;
  readonly mailFrom: string;
  /** Role to assume to send, when SES lives in another account. @default - send with the finish role itself */
  readonly senderRoleArn?: string;
}

export interface PipelineStackProps extends StackProps {
  /** Physical name prefix. */
  readonly prefix: string;
  /** The egress VPC (prop) or the VPC shared with this account; CodeBuild runs in its private subnets. */
  readonly network: VpcSource;
  /** Image of the CodeBuild stages. @default - `<prefix>-scanner:<scannerImageTag>` from an ECR repository this stack creates */
  readonly buildImage?: codebuild.IBuildImage;
  /** Tag used with the stack's own ECR repository. @default '0.1.0' */
  readonly scannerImageTag?: string;
  /** GitHub organisation receiving the private repositories. */
  readonly githubOrg: string;
  /** `owner/name` of the request repo. */
  readonly requestRepo: string;
  /** Branch of the request repo. */
  readonly requestBranch: string;
  /** Request file whose changes start the pipeline. */
  readonly requestFile: string;
  /** How pushes start the pipeline. @default 'codeconnections' */
  readonly trigger?: TriggerKind;
  /** Existing connection. @default - a new CodeStar/CodeConnections connection (authorize it once in the console) */
  readonly connectionArn?: string;
  /** Existing GitHub token secret. @default - a new secret; put the token into it after deploying */
  readonly githubTokenSecretArn?: string;
  /** SES settings of the notify stage. */
  readonly mail: MailSettings;
  /** Retention of every log group. */
  readonly logRetention: logs.RetentionDays;
  /** Address subscribed to failed-execution alerts. @default - none */
  readonly alertEmail?: string;
  /** InfoSec's address, mailed on every revocation by the re-scan. @default - none (the requester only) */
  readonly infosecEmail?: string;
  /** Account of the Studio domain, when not this one: a `<prefix>-panel-reader` role is created for it. @default - none */
  readonly studioAccount?: string;
  /** The fan-out's concurrency, tolerated failures, max requests per run and sweep. @default - FanOut's defaults */
  readonly fanOut?: FanOutSettings;
  /** When the re-scan runs (EventBridge Scheduler expression). @default DEFAULT_RESCAN_SCHEDULE (daily) */
  readonly rescanSchedule?: string;
}

/** The InfoSec account's part: key, storage, token, CodePipeline V2 and its CodeBuild stages, alerts. */
export class PipelineStack extends Stack {
  public readonly key: kms.Key;
  /** The asymmetric key that signs each decision; only the signing stages may use it. */
  public readonly attestationKey: AttestationKey;
  public readonly store: ArtifactStore;
  public readonly tokenSecret: secretsmanager.ISecret;
  public readonly pipeline: codepipeline.Pipeline;
  public readonly stages: Record<StageName, ScanProject>;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly alerts: sns.Topic;
  public readonly scannerRepository?: ecr.Repository;
  public readonly panelReaderRole?: iam.Role;
  public readonly pipelineName: string;
  /** One CodeBuild build per pending request (Step Functions Distributed Map), started on push and by a sweep. */
  public readonly fanOut: FanOut;
  /** The scheduled re-scan of every approved commit (revokes what today's advisories fail). */
  public readonly rescan: Rescan;
  private readonly prefix: string;
  /** The pipeline side of the deployment contract (also in SSM as `/<prefix>/deployment.json`). */
  public readonly deployment: IDeploymentContract;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { vpc, subnets } = resolveVpc(this, props.network);
    const prefix = props.prefix;
    this.prefix = prefix;
    this.pipelineName = `${prefix}-pipeline`;

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${prefix}-pipeline`,
      description: 'RepoGuard pipeline: artifacts, reports, token, logs, alerts',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN
    });
    allowLogsService(this.key);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NotificationsToEncryptedTopic',
        principals: [new iam.ServicePrincipal('codestar-notifications.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${this.region}.amazonaws.com` } }
      })
    );

    this.store = new ArtifactStore(this, 'Store', { key: this.key });

    // Signed decisions (pipeline/src/attest.ts): the stages that record a decision sign it.
    this.attestationKey = new AttestationKey(this, 'AttestationKey', {
      prefix,
      signerRoleNames: SIGNING_STAGES.map(stage => `${prefix}-${stage}-stage`)
    });
    const signing = { REPOGUARD_SIGNING_KEY_ARN: this.attestationKey.key.keyArn };
    /** What a stage that mails needs: assume the sender role across accounts, or send itself. */
    const mailStatement = (): iam.PolicyStatement =>
      props.mail.senderRoleArn
        ? new iam.PolicyStatement({
            sid: 'AssumeMailSender',
            actions: ['sts:AssumeRole'],
            resources: [props.mail.senderRoleArn]
          })
        : MailIdentity.sendStatement(
            props.mail.identityArn,
            props.mail.configurationSetArn,
            props.mail.mailFrom
          );

    // The GitHub token: created empty-ish (a generated placeholder to overwrite) or imported.
    if (props.githubTokenSecretArn) {
      this.tokenSecret = secretsmanager.Secret.fromSecretCompleteArn(
        this,
        'GitHubToken',
        props.githubTokenSecretArn
      );
    } else {
      // No fixed name: a retained secret of a failed first deploy must not block the next one.
      // JSON {"token": <placeholder>}: the form every reader (CDK jsonField, stage code) expects.
      const secret = new secretsmanager.Secret(this, 'GitHubToken', {
        description:
          'GitHub token of the RepoGuard pipeline (request repo read/append, org repo creation), as JSON {"token": "..."}. Replace the placeholder.',
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.RETAIN,
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: 'token',
          excludePunctuation: true
        }
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A GitHub token cannot be rotated by a Lambda; it is rotated by its owner in GitHub and put here by hand.'
      });
      skipCheckov(secret, [
        [
          'CKV2_AWS_57',
          'A GitHub token cannot be rotated by a Lambda; its owner rotates it in GitHub.'
        ]
      ]);
      this.tokenSecret = secret;
    }

    // The scanner image: injected, or pulled from this stack's repository (pushed by scripts/push-scanner-image.sh).
    let buildImage = props.buildImage;
    if (!buildImage) {
      // No fixed name (see the token secret); scripts/push-scanner-image.sh reads the ScannerRepositoryUri output.
      this.scannerRepository = new ecr.Repository(this, 'ScannerRepository', {
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        encryption: ecr.RepositoryEncryption.KMS,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [{ description: 'keep the last 20 images', maxImageCount: 20 }]
      });
      buildImage = codebuild.LinuxBuildImage.fromEcrRepository(
        this.scannerRepository,
        props.scannerImageTag ?? '0.1.0'
      );
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'BuildSg', {
      vpc: vpc,
      description: 'RepoGuard CodeBuild stages: HTTPS out only, nothing in',
      allowAllOutbound: false
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to GitHub, package registries and endpoints'
    );

    const requestRepoUrl = `https://github.com/${props.requestRepo}.git`;
    const common: Record<string, string> = {
      REPOGUARD_GITHUB_ORG: props.githubOrg,
      REPOGUARD_GITHUB_TOKEN_SECRET_ARN: this.tokenSecret.secretArn,
      REPOGUARD_REPORT_BUCKET: this.store.reportBucket.bucketName,
      REPOGUARD_MAIL_FROM: props.mail.mailFrom,
      REPOGUARD_REQUEST_REPO_URL: requestRepoUrl,
      REPOGUARD_REQUEST_BRANCH: props.requestBranch,
      REPOGUARD_REPORT_PREFIX: REPORT_PREFIX
    };
    const stage = (
      name: ProjectName,
      extra: Partial<{
        timeout: Duration;
        computeType: codebuild.ComputeType;
        env: Record<string, string>;
        privileged: boolean;
      }>
    ) =>
      new ScanProject(this, `${name[0].toUpperCase()}${name.slice(1)}Stage`, {
        stage: name,
        prefix,
        buildImage: buildImage!,
        vpc: vpc,
        subnets: subnets,
        securityGroup: this.securityGroup,
        key: this.key,
        logRetention: props.logRetention,
        environment: { ...common, ...(extra.env ?? {}) },
        timeout: extra.timeout,
        computeType: extra.computeType,
        privileged: extra.privileged
      });
    this.stages = {
      // Ingest first moves the Studio side's inbox objects into request rows (see lib/deployment.ts).
      ingest: stage('ingest', {
        timeout: Duration.minutes(30),
        env: { REPOGUARD_REQUEST_INBOX_PREFIX: INBOX_PREFIX }
      }),
      scan: stage('scan', {
        timeout: Duration.minutes(60),
        computeType: codebuild.ComputeType.MEDIUM,
        privileged: true,
        // No local advisory database in the image: the SCA scanner (and only it) queries osv.dev.
        env: { REPOGUARD_OSV_ONLINE: '1' }
      }),
      finish: stage('finish', {
        timeout: Duration.minutes(20),
        env: {
          ...signing,
          REPOGUARD_SES_CONFIGURATION_SET: props.mail.configurationSetName,
          ...(props.mail.senderRoleArn ? { REPOGUARD_SES_ROLE_ARN: props.mail.senderRoleArn } : {})
        }
      })
    };

    // Least privilege: ingest reads the token (ref resolution, clone of private sources); scan needs
    // nothing beyond its artifacts; finish reads the token, writes reports and sends mail.
    this.tokenSecret.grantRead(this.stages.ingest.role);
    this.tokenSecret.grantRead(this.stages.finish.role);
    this.store.reportBucket.grantReadWrite(this.stages.finish.role);
    this.store.reportBucket.grantRead(this.stages.ingest.role, `${INBOX_PREFIX}*`);
    this.store.reportBucket.grantDelete(this.stages.ingest.role, `${INBOX_PREFIX}*`);
    this.stages.finish.role.addToPolicy(mailStatement());

    // The fan-out: a state machine that starts one build per pending request (constructs/fan-out.ts).
    this.fanOut = new FanOut(this, 'FanOut', {
      ...props.fanOut,
      prefix,
      // The list project reads pending requests first: it drains the Studio inbox (lib/deployment.ts).
      newProject: (name, options) =>
        stage(
          name,
          name === 'list'
            ? { ...options, env: { ...options.env, REPOGUARD_REQUEST_INBOX_PREFIX: INBOX_PREFIX } }
            : options
        ),
      tokenSecret: this.tokenSecret,
      reportBucket: this.store.reportBucket,
      itemsBucket: this.store.artifactBucket,
      mailStatement: mailStatement(),
      requestEnvironment: {
        ...signing,
        REPOGUARD_SES_CONFIGURATION_SET: props.mail.configurationSetName,
        ...(props.mail.senderRoleArn ? { REPOGUARD_SES_ROLE_ARN: props.mail.senderRoleArn } : {})
      },
      key: this.key,
      logRetention: props.logRetention
    });

    this.attestationKey.grantSign(this.stages.finish.role);
    this.attestationKey.grantSign(this.fanOut.request.role);

    // The scheduled re-scan (constructs/rescan.ts): the finish stage's grants, plus kms:Sign.
    this.rescan = new Rescan(this, 'Rescan', {
      schedule: props.rescanSchedule,
      newProject: (name, options) => stage(name, options),
      tokenSecret: this.tokenSecret,
      reportBucket: this.store.reportBucket,
      attestationKey: this.attestationKey,
      mailStatement: mailStatement(),
      infosecEmail: props.infosecEmail,
      environment: {
        ...signing,
        REPOGUARD_SES_CONFIGURATION_SET: props.mail.configurationSetName,
        ...(props.mail.senderRoleArn ? { REPOGUARD_SES_ROLE_ARN: props.mail.senderRoleArn } : {})
      }
    });
    this.store.reportBucket.grantRead(this.fanOut.list.role, `${INBOX_PREFIX}*`);
    this.store.reportBucket.grantDelete(this.fanOut.list.role, `${INBOX_PREFIX}*`);

    // Source and trigger.
    const sourceOutput = new codepipeline.Artifact('RequestRepo');
    const [owner, repo] = props.requestRepo.split('/');
    let sourceAction: codepipeline.IAction;
    let triggers: codepipeline.TriggerProps[] | undefined;
    let webhookToken: SecretValue | undefined;
    let connectionArn: string | undefined;
    if ((props.trigger ?? 'codeconnections') === 'webhook') {
      // The original sample's trigger: a GitHub webhook authenticated (HMAC) with the token from Secrets Manager.
      // The secret is JSON {"token": ...}: take that field, not the whole string. The action's own
      // webhook filters on the branch only; ours (below) also needs the push to change the request file.
      webhookToken = SecretValue.secretsManager(this.tokenSecret.secretArn, { jsonField: 'token' });
      sourceAction = new actions.GitHubSourceAction({
        actionName: 'RequestRepo',
        owner,
        repo,
        branch: props.requestBranch,
        oauthToken: webhookToken,
        trigger: actions.GitHubTrigger.NONE,
        output: sourceOutput
      });
    } else {
      connectionArn =
        props.connectionArn ??
        new connections.CfnConnection(this, 'GitHubConnection', {
          connectionName: `${prefix}-github`.slice(0, 32),
          providerType: 'GitHub'
        }).attrConnectionArn;
      const action = new actions.CodeStarConnectionsSourceAction({
        actionName: 'RequestRepo',
        connectionArn,
        owner,
        repo,
        branch: props.requestBranch,
        output: sourceOutput,
        triggerOnPush: true
      });
      sourceAction = action;
      triggers = [
        {
          providerType: codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
          gitConfiguration: {
            sourceAction: action,
            pushFilter: [
              { branchesIncludes: [props.requestBranch], filePathsIncludes: [props.requestFile] }
            ]
          }
        }
      ];
    }

    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineName: this.pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket: this.store.artifactBucket,
      restartExecutionOnUpdate: false,
      triggers,
      stages: [
        { stageName: 'Source', actions: [sourceAction] },
        {
          // One build per pending request; the single-build stages (ingest, scan, finish) stay
          // available for a manual, manifest-passing run.
          stageName: 'FanOut',
          actions: [
            new actions.StepFunctionInvokeAction({
              actionName: 'OneBuildPerRequest',
              stateMachine: this.fanOut.stateMachine,
              stateMachineInput: actions.StateMachineInput.literal({ trigger: 'push' }),
              executionNamePrefix: 'push'
            })
          ]
        }
      ]
    });

    if (webhookToken) {
      new codepipeline.CfnWebhook(this, 'RequestWebhook', {
        authentication: 'GITHUB_HMAC',
        authenticationConfiguration: { secretToken: webhookToken.unsafeUnwrap() },
        filters: webhookFilters(props.requestBranch, props.requestFile),
        targetPipeline: this.pipeline.pipelineName,
        targetAction: 'RequestRepo',
        targetPipelineVersion: 1,
        registerWithThirdParty: true
      });
    }
    if (connectionArn) {
      // Connections made since 2024 have arn:aws:codeconnections: ARNs, which need the new action name.
      const sourceRole = this.pipeline.node
        .tryFindChild('Source')
        ?.node.tryFindChild('RequestRepo')
        ?.node.tryFindChild('CodePipelineActionRole') as iam.Role | undefined;
      sourceRole?.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'UseTheConnection',
          actions: ['codestar-connections:UseConnection', 'codeconnections:UseConnection'],
          resources: [connectionArn]
        })
      );
    }

    // Alerts on failed executions.
    this.alerts = new sns.Topic(this, 'Alerts', {
      topicName: `${prefix}-alerts`,
      masterKey: this.key,
      enforceSSL: true
    });
    if (props.alertEmail)
      this.alerts.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
    new notifications.NotificationRule(this, 'FailedExecutions', {
      notificationRuleName: `${prefix}-failed-executions`,
      source: this.pipeline,
      events: ['codepipeline-pipeline-pipeline-execution-failed'],
      targets: [this.alerts],
      detailType: notifications.DetailType.BASIC
    });

    // Studio in another account reads the pipeline state and the token through this role.
    if (props.studioAccount && props.studioAccount !== this.account) {
      const studioRoleArn = `arn:${this.partition}:iam::${props.studioAccount}:role/${prefix}-studio-execution`;
      this.panelReaderRole = new iam.Role(this, 'PanelReaderRole', {
        roleName: `${prefix}-panel-reader`,
        description: 'Assumed by the RepoGuard Studio execution role of the data-science account',
        assumedBy: new iam.AccountPrincipal(props.studioAccount).withConditions({
          ArnEquals: { 'aws:PrincipalArn': studioRoleArn }
        })
      });
      // What a Studio user may do, and no more: read state and reports, drop a request into the
      // inbox, start the pipeline. Never the pipeline's GitHub token.
      for (const statement of studioStatements(this.studioAccess(false))) {
        this.panelReaderRole.addToPolicy(statement);
      }
      new CfnOutput(this, 'PanelReaderRoleArn', { value: this.panelReaderRole.roleArn });
    }

    acknowledgeKnownWildcards(this);

    this.deployment = pipelineDeployment({
      region: this.region,
      pipelineName: this.pipelineName,
      requestRepoUrl,
      requestBranch: props.requestBranch,
      githubOrg: props.githubOrg,
      reportBucket: this.store.reportBucket.bucketName,
      signingKeyArn: this.attestationKey.key.keyArn,
      // A literal ARN (fixed role name): the Studio account's stack may name it.
      readerRoleArn: this.panelReaderRole
        ? `arn:${this.partition}:iam::${this.account}:role/${prefix}-panel-reader`
        : undefined
    });
    const parameter = new ssm.StringParameter(this, 'DeploymentContract', {
      parameterName: deploymentParameterName(prefix),
      description:
        'RepoGuard deployment contract (non-secret): what a Studio server needs to find the pipeline',
      stringValue: this.toJsonString(this.deployment)
    });
    if (this.panelReaderRole) parameter.grantRead(this.panelReaderRole);

    new CfnOutput(this, 'PipelineName', { value: this.pipeline.pipelineName });
    new CfnOutput(this, 'TokenSecretArn', { value: this.tokenSecret.secretArn });
    new CfnOutput(this, 'ReportBucket', { value: this.store.reportBucket.bucketName });
    if (this.scannerRepository)
      new CfnOutput(this, 'ScannerRepositoryUri', { value: this.scannerRepository.repositoryUri });
  }

  /**
   * What the Studio side's statements name (lib/deployment.ts). For another stack the
   * bucket ARN travels as a named export, so its wildcard finding has a stable name.
   */
  studioAccess(forOtherStack = true): IStudioAccess {
    const bucketArn = this.store.reportBucket.bucketArn;
    return {
      pipelineArn: this.pipeline.pipelineArn,
      reportBucketArn: forOtherStack
        ? this.exportValue(bucketArn, { name: `${this.prefix}-report-bucket-arn` })
        : bucketArn,
      keyArn: this.key.keyArn,
      signingKeyArn: this.attestationKey.key.keyArn,
      region: this.region
    };
  }
}

/** The stages whose roles sign decisions (record in finish, the fan-out's per-request build, the re-scan). */
export const SIGNING_STAGES = ['finish', 'request', 'rescan'] as const;

/**
 * The webhook's filters (all must match): a push to the branch whose head
 * commit's first changed file is the request file. The pipeline's own result
 * commits change only the results file, so they start nothing. Jayway JsonPath,
 * as CodePipeline evaluates it.
 */
export function webhookFilters(branch: string, requestFile: string) {
  return [
    { jsonPath: '$.ref', matchEquals: `refs/heads/${branch}` },
    { jsonPath: '$.head_commit.modified[0]', matchEquals: requestFile }
  ];
}

export { pipelineReadStatement } from '../deployment';
