import { CfnOutput, Fn, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { resolveVpc, type VpcSource } from '../vpc-source';
import { studioStatements, type IDeploymentContract, type IStudioAccess } from '../deployment';
import { skipCheckov } from '../checkov';
import { acknowledgeKnownWildcards } from '../nag';

/** How the Studio side reaches the pipeline. */
export type PipelineAccess =
  /** Same account: the execution role holds the Studio statements (lib/deployment.ts) itself. */
  | ({ readonly kind: 'direct' } & IStudioAccess)
  /** Other account: the execution role assumes the pipeline account's `<prefix>-panel-reader` role, which holds them. */
  | { readonly kind: 'cross-account'; readonly readerRoleArn: string };

export interface StudioStackProps extends StackProps {
  /** Physical name prefix. */
  readonly prefix: string;
  /** The egress VPC (prop) or the VPC shared with this account; the domain uses its private subnets. */
  readonly network: VpcSource;
  /** Pipeline coordinates and how to read them. */
  readonly pipeline: PipelineAccess;
  /** The pipeline stack's part of the deployment contract; this stack adds its read-token secret. */
  readonly deployment: IDeploymentContract;
  /** pip requirement the lifecycle configuration installs. @default 'repoguard==0.1.0' */
  readonly installSpec?: string;
}

/** The data-science account's optional part: a VPC-only Studio domain whose JupyterLab spaces get RepoGuard. */
export class StudioStack extends Stack {
  public readonly domain: sagemaker.CfnDomain;
  public readonly executionRole: iam.Role;
  public readonly lifecycleConfig: sagemaker.CfnStudioLifecycleConfig;
  /** The Studio side's read-only GitHub token (results, mirrors); never the pipeline's. */
  public readonly readTokenSecret: secretsmanager.Secret;
  /** The whole contract the lifecycle configuration writes to `~/.config/repoguard/deployment.json`. */
  public readonly deployment: IDeploymentContract;

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
      description:
        'RepoGuard Studio spaces: read the pipeline state and reports, put requests into the inbox, read-only GitHub token',
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com')
    });
    if (props.pipeline.kind === 'direct') {
      // Statements on the role only: a grant through the bucket or key would edit the pipeline stack (a cycle).
      for (const statement of studioStatements(props.pipeline)) {
        this.executionRole.addToPolicy(statement);
      }
    } else {
      this.executionRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssumePanelReader',
          actions: ['sts:AssumeRole'],
          resources: [props.pipeline.readerRoleArn]
        })
      );
    }

    // A fine-grained GitHub token with Contents: read-only on the request repo and the org's
    // mirrors (README): what the panel lists and the installer clones. It cannot append,
    // publish, approve or waive. JSON {"token": <placeholder>} until its owner puts the token in.
    this.readTokenSecret = new secretsmanager.Secret(this, 'ReadToken', {
      description:
        'Read-only GitHub token of the RepoGuard Studio side (Contents: read on the request repo and mirrors), as JSON {"token": "..."}',
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'token',
        excludePunctuation: true
      }
    });
    Validations.of(this.readTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A GitHub token cannot be rotated by a Lambda; it is rotated by its owner in GitHub and put here by hand.'
    });
    skipCheckov(this.readTokenSecret, [
      [
        'CKV2_AWS_57',
        'A GitHub token cannot be rotated by a Lambda; its owner rotates it in GitHub.'
      ]
    ]);
    this.readTokenSecret.grantRead(this.executionRole);
    this.deployment = {
      ...props.deployment,
      readTokenSecretArn: this.readTokenSecret.secretArn
    };

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

    this.lifecycleConfig = new sagemaker.CfnStudioLifecycleConfig(this, 'InstallRepoGuard', {
      studioLifecycleConfigName: `${prefix}-install`,
      studioLifecycleConfigAppType: 'JupyterLab',
      studioLifecycleConfigContent: Fn.base64(
        lifecycleScript(props.installSpec ?? 'repoguard==0.1.0', this.toJsonString(this.deployment))
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

    acknowledgeKnownWildcards(this);
    new CfnOutput(this, 'DomainId', { value: this.domain.attrDomainId });
  }
}

/**
 * The server config the lifecycle script writes into `~/.jupyter`: the repoguard server
 * extension's own config file, which jupyter_server loads for it. (A file in
 * `jupyter_server_config.d/` is read for `jpserver_extensions` only: the extension stayed in
 * the embedded mode.)
 */
export const SERVER_CONFIG_FILE = 'jupyter_repoguard_config.json';

/** Where the lifecycle configuration writes the contract (the default of `repoguard.deployment`). */
export const DEPLOYMENT_FILE = '$HOME/.config/repoguard/deployment.json';

/**
 * The lifecycle script of JupyterLab spaces: writes the deployment contract
 * to `~/.config/repoguard/deployment.json` and the server config that turns
 * on the aws mode with it, then installs RepoGuard into the server's
 * environment. The writes come first and cannot fail; an install that fails
 * (a VPC-only domain has no public index) is logged and does not stop the
 * space from starting (no `set -e`): ship the wheel to a reachable index, or
 * build a custom image, as the README says.
 */
export function lifecycleScript(installSpec: string, deploymentJson: string): string {
  if (!/^[A-Za-z0-9_.\-\[\],<>=!~ ]+$/.test(installSpec))
    throw new Error(`unsafe pip requirement: ${installSpec}`);
  return [
    '#!/bin/bash',
    'set -uo pipefail',
    'log() { echo "repoguard-lifecycle: $*" >&2; }',
    'mkdir -p "$HOME/.jupyter" "$HOME/.config/repoguard"',
    `cat > "${DEPLOYMENT_FILE}" <<'EOF'`,
    deploymentJson,
    'EOF',
    // The extension's own config file (ExtensionApp loads jupyter_<name>_config from the config
    // path); the server reads only jpserver_extensions from jupyter_server_config.d/*.json.
    `cat > "$HOME/.jupyter/${SERVER_CONFIG_FILE}" <<EOF`,
    `{"RepoGuardApp": {"mode": "aws", "deployment_file": "${DEPLOYMENT_FILE}"}}`,
    'EOF',
    `if timeout 300 pip install --quiet --no-input --disable-pip-version-check '${installSpec}'; then`,
    `  log "installed ${installSpec}"`,
    'else',
    `  log "could not install ${installSpec} (no reachable package index?); RepoGuard is not active in this space"`,
    'fi',
    'exit 0',
    ''
  ].join('\n');
}
