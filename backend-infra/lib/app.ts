/** Composes the RepoGuard stacks from the typed configuration; `bin/repoguard-infra.ts` and the tests call it. */
import { Validations, type App } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deploymentParameterName } from './deployment';
import { attestationKeyAlias } from './constructs/attestation-key';
import { envOf, sameAccount, type RepoGuardConfig, type SharedVpcConfig } from './config';
import { NetworkStack } from './stacks/network-stack';
import { NotificationStack } from './stacks/notification-stack';
import { fanOutSettingsFromContext } from './constructs/fan-out';
import { PipelineStack } from './stacks/pipeline-stack';
import { StudioStack } from './stacks/studio-stack';
import type { VpcSource } from './vpc-source';

/** What is slow or tied to an environment, injected (tests pass a registry image; nothing is built). */
export interface AppOverrides {
  /** Image of the CodeBuild stages. @default - the pipeline stack's own ECR repository, or `scannerImageUri` */
  readonly buildImage?: codebuild.IBuildImage;
  /** Register the cdk-nag AwsSolutions plugin on the app. @default true */
  readonly nag?: boolean;
}

export interface RepoGuardStacks {
  readonly network: NetworkStack;
  readonly notification: NotificationStack;
  readonly pipeline: PipelineStack;
  readonly studio?: StudioStack;
}

/** Builds every stack of the app, in dependency order, and registers cdk-nag. */
export function buildRepoGuardApp(
  app: App,
  config: RepoGuardConfig,
  overrides: AppOverrides = {}
): RepoGuardStacks {
  const { prefix } = config;
  const logRetention = config.logRetentionDays as logs.RetentionDays;
  const otherAccounts = [
    config.pipeline.account,
    ...(config.enableStudio ? [config.studio.account] : [])
  ].filter((a): a is string => a !== undefined && a !== config.network.account);

  const network = new NetworkStack(app, 'RepoGuardNetwork', {
    env: envOf(config.network),
    description: 'RepoGuard: egress VPC, NAT gateway + Elastic IP, flow logs, VPC endpoints',
    prefix,
    cidr: config.vpcCidr,
    availabilityZones: config.availabilityZones,
    logRetention,
    shareWithAccounts: [...new Set(otherAccounts)],
    studioEndpoints: config.enableStudio
  });

  const notification = new NotificationStack(app, 'RepoGuardNotification', {
    env: envOf(config.notification),
    description: 'RepoGuard: SES identity and configuration set of the notifications',
    prefix,
    identity: config.sesIdentity,
    mailFrom: config.mailFrom,
    pipelineAccount: sameAccount(config.notification, config.pipeline)
      ? undefined
      : config.pipeline.account
  });

  // The pipeline uses the egress VPC directly in the same account, or the VPC shared with it through RAM.
  const pipelineVpc = sameAccount(config.network, config.pipeline) ? undefined : config.sharedVpc;
  const pipeline = new PipelineStack(app, 'RepoGuardPipeline', {
    env: envOf(config.pipeline),
    description:
      'RepoGuard: KMS key, artifact and report buckets, GitHub token, CodePipeline V2 with CodeBuild stages, alerts',
    prefix,
    network: vpcSource(network, pipelineVpc),
    buildImage: overrides.buildImage ?? registryImage(config),
    scannerImageTag: config.scannerImageTag,
    githubOrg: config.githubOrg,
    requestRepo: config.requestRepo,
    requestBranch: config.requestBranch,
    requestFile: config.requestFile,
    trigger: config.trigger,
    connectionArn: config.connectionArn,
    githubTokenSecretArn: config.githubTokenSecretArn,
    mail: {
      identityArn: notification.mail.identityArn,
      configurationSetArn: notification.mail.configurationSetArn,
      configurationSetName: notification.mail.configurationSetName,
      mailFrom: config.mailFrom,
      senderRoleArn: notification.senderRole
        ? `arn:${notification.partition}:iam::${config.notification.account}:role/${prefix}-mail-sender`
        : undefined
    },
    logRetention,
    alertEmail: config.alertEmail,
    infosecEmail: config.infosecEmail,
    fanOut: fanOutSettingsFromContext(app.node),
    rescanSchedule: config.rescanSchedule,
    studioAccount:
      config.enableStudio && !sameAccount(config.studio, config.pipeline)
        ? config.studio.account
        : undefined
  });
  pipeline.addStackDependency(notification, 'the finish stage sends through the SES identity');

  let studio: StudioStack | undefined;
  if (config.enableStudio) {
    const crossAccount = !sameAccount(config.studio, config.pipeline);
    studio = new StudioStack(app, 'RepoGuardStudio', {
      env: envOf(config.studio),
      description:
        'RepoGuard: VPC-only SageMaker Studio domain with the RepoGuard lifecycle configuration',
      prefix,
      network: vpcSource(
        network,
        sameAccount(config.network, config.studio) ? undefined : config.sharedVpc
      ),
      pipeline: crossAccount
        ? {
            kind: 'cross-account',
            readerRoleArn: `arn:${pipeline.partition}:iam::${config.pipeline.account}:role/${prefix}-panel-reader`
          }
        : { kind: 'direct', ...pipeline.studioAccess() },
      // Across accounts the Studio copy names the SSM parameter for what it cannot reference.
      deployment: crossAccount
        ? {
            version: pipeline.deployment.version,
            mode: 'aws',
            region: config.pipeline.region ?? pipeline.region,
            pipelineName: pipeline.pipelineName,
            deploymentParameter: deploymentParameterName(prefix),
            // The key's alias ARN: a literal this account can name (kms:GetPublicKey takes it).
            signingKeyArn: `arn:${pipeline.partition}:kms:${config.pipeline.region ?? pipeline.region}:${config.pipeline.account}:${attestationKeyAlias(prefix)}`,
            readerRoleArn: `arn:${pipeline.partition}:iam::${config.pipeline.account}:role/${prefix}-panel-reader`
          }
        : pipeline.deployment,
      installSpec: config.studioInstallSpec
    });
    studio.addStackDependency(pipeline, 'the execution role reads the pipeline and its token');
  }

  if (overrides.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { network, notification, pipeline, studio };
}

function registryImage(config: RepoGuardConfig): codebuild.IBuildImage | undefined {
  return config.scannerImageUri
    ? codebuild.LinuxBuildImage.fromDockerRegistry(config.scannerImageUri)
    : undefined;
}

/** The egress VPC as a prop in the network's account; the RAM-shared VPC's ids elsewhere. */
function vpcSource(network: NetworkStack, shared: SharedVpcConfig | undefined): VpcSource {
  return shared ? { shared } : { vpc: network.egress.vpc, subnets: network.egress.privateSubnets };
}
