import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import { resolveVpc, type VpcSource } from '../vpc-source';
import { pipelineReadStatement } from './pipeline-stack';

/** How the Studio side reaches the pipeline. */
export type PipelineAccess =
  /** Same account: the execution role reads the pipeline and the token directly. */
  | {
      readonly kind: 'direct';
      readonly pipelineArn: string;
      readonly tokenSecretArn: string;
      readonly tokenKeyArn: string;
    }
  /** Other account: the execution role assumes the pipeline account's `<prefix>-panel-reader` role. */
  | {
      readonly kind: 'cross-account';
      readonly pipelineArn: string;
      readonly readerRoleArn: string;
      readonly tokenSecretArn: string;
    };

export interface StudioStackProps extends StackProps {
  /** Physical name prefix. */
  readonly prefix: string;
  /** The egress VPC (prop) or the VPC shared with this account; the domain uses its private subnets. */
  readonly network: VpcSource;
  /** Pipeline coordinates and how to read them. */
  readonly pipeline: PipelineAccess;
  /** Name and region of the pipeline, written into the spaces' RepoGuard settings. */
  readonly pipelineName: string;
  readonly pipelineRegion: string;
  /** pip requirement the lifecycle configuration installs. @default 'repoguard==0.1.0' */
  readonly installSpec?: string;
}

/** The data-science account's optional part: a VPC-only Studio domain whose JupyterLab spaces get RepoGuard. */
export class StudioStack extends Stack {
  public readonly domain: sagemaker.CfnDomain;
  public readonly executionRole: iam.Role;
  public readonly lifecycleConfig: sagemaker.CfnStudioLifecycleConfig;

  constructor(scope: Construct, id: string, props: StudioStackProps) {
    super(scope, id, props);
    const { vpc, subnets } = resolveVpc(this, props.network);
    const prefix = props.prefix;

    const key = new kms.Key(this, 'Key', {
      alias: `alias/${prefix}-studio`,
      description: 'RepoGuard Studio domain storage',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN
    });

    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      roleName: `${prefix}-studio-execution`,
      description: 'RepoGuard Studio spaces: read the pipeline state and the token, nothing else',
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com')
    });
    if (props.pipeline.kind === 'direct') {
      this.executionRole.addToPolicy(pipelineReadStatement(props.pipeline.pipelineArn));
      // Statements on the role only: a grant through the secret would edit the pipeline stack's key policy (a cycle).
      this.executionRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadTheTokenSecret',
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: [props.pipeline.tokenSecretArn]
        })
      );
      this.executionRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptTheTokenThroughSecretsManager',
          actions: ['kms:Decrypt'],
          resources: [props.pipeline.tokenKeyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` }
          }
        })
      );
    } else {
      this.executionRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssumePanelReader',
          actions: ['sts:AssumeRole'],
          resources: [props.pipeline.readerRoleArn]
        })
      );
    }

    const securityGroup = new ec2.SecurityGroup(this, 'SpacesSg', {
      vpc: vpc,
      description: 'RepoGuard Studio spaces: HTTPS out only',
      allowAllOutbound: false
    });
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to endpoints and the private package repos'
    );

    const settings = {
      mode: 'aws',
      pipelineName: props.pipelineName,
      region: props.pipelineRegion,
      tokenSecretArn: props.pipeline.tokenSecretArn,
      ...(props.pipeline.kind === 'cross-account' ? { roleArn: props.pipeline.readerRoleArn } : {})
    };
    this.lifecycleConfig = new sagemaker.CfnStudioLifecycleConfig(this, 'InstallRepoGuard', {
      studioLifecycleConfigName: `${prefix}-install`,
      studioLifecycleConfigAppType: 'JupyterLab',
      studioLifecycleConfigContent: Fn.base64(
        lifecycleScript(props.installSpec ?? 'repoguard==0.1.0', this.toJsonString(settings))
      )
    });

    const subnetIds = vpc.selectSubnets(subnets).subnetIds;
    const jupyterLab = {
      lifecycleConfigArns: [this.lifecycleConfig.attrStudioLifecycleConfigArn],
      defaultResourceSpec: {
        instanceType: 'ml.t3.medium',
        lifecycleConfigArn: this.lifecycleConfig.attrStudioLifecycleConfigArn
      }
    };
    this.domain = new sagemaker.CfnDomain(this, 'Domain', {
      domainName: `${prefix}-studio`,
      authMode: 'IAM',
      appNetworkAccessType: 'VpcOnly',
      vpcId: vpc.vpcId,
      subnetIds,
      kmsKeyId: key.keyArn,
      defaultUserSettings: {
        executionRole: this.executionRole.roleArn,
        securityGroups: [securityGroup.securityGroupId],
        studioWebPortal: 'ENABLED',
        defaultLandingUri: 'studio::',
        jupyterLabAppSettings: jupyterLab
      },
      defaultSpaceSettings: {
        executionRole: this.executionRole.roleArn,
        securityGroups: [securityGroup.securityGroupId],
        jupyterLabAppSettings: jupyterLab
      }
    });

    new CfnOutput(this, 'DomainId', { value: this.domain.attrDomainId });
  }
}

/**
 * The lifecycle script of JupyterLab spaces: installs RepoGuard into the
 * server's environment, enables the server extension in AWS mode and writes
 * the pipeline coordinates to `~/.config/repoguard/aws.json`.
 */
export function lifecycleScript(installSpec: string, settingsJson: string): string {
  if (!/^[A-Za-z0-9_.\-\[\],<>=!~ ]+$/.test(installSpec))
    throw new Error(`unsafe pip requirement: ${installSpec}`);
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    `pip install --quiet --no-input '${installSpec}'`,
    'mkdir -p "$HOME/.jupyter/jupyter_server_config.d" "$HOME/.config/repoguard"',
    `cat > "$HOME/.config/repoguard/aws.json" <<'EOF'`,
    settingsJson,
    'EOF',
    `cat > "$HOME/.jupyter/jupyter_server_config.d/repoguard-aws.json" <<'EOF'`,
    '{"RepoGuardApp": {"mode": "aws"}}',
    'EOF',
    ''
  ].join('\n');
}
