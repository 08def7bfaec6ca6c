import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { skipCheckov } from '../checkov';

export interface EgressVpcProps {
  /** CIDR of the VPC. */
  readonly cidr: string;
  /** Zones to use; avoids any context lookup. @default - two zones from Fn::GetAZs */
  readonly availabilityZones?: string[];
  /** Key of the flow-log group. */
  readonly logKey: kms.IKey;
  /** Retention of the flow-log group. */
  readonly logRetention: logs.RetentionDays;
  /** Accounts whose principals may use the endpoints. @default - this stack's account only */
  readonly endpointAccounts?: string[];
  /** Also create the endpoints a VPC-only SageMaker Studio domain needs. @default false */
  readonly studioEndpoints?: boolean;
}

/** Interface endpoints the pipeline calls, keyed by a short name used in tests and docs. */
export const PIPELINE_ENDPOINTS: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
  CodeBuild: ec2.InterfaceVpcEndpointAwsService.CODEBUILD,
  CodePipeline: ec2.InterfaceVpcEndpointAwsService.CODEPIPELINE,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  Ses: ec2.InterfaceVpcEndpointAwsService.EMAIL,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER
};

/** Extra interface endpoints of a VPC-only Studio domain. */
export const STUDIO_ENDPOINTS: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
  SageMakerApi: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
  SageMakerRuntime: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
  SageMakerStudio: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_STUDIO
};

/**
 * The egress VPC: public subnets holding one NAT gateway with one Elastic IP
 * (the single address partners allow-list), private subnets for CodeBuild and
 * Studio, flow logs, an S3 gateway endpoint and interface endpoints for the
 * services the pipeline calls, each with a policy limited to our accounts.
 */
export class EgressVpc extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EgressVpcProps) {
    super(scope, id);
    const accounts = props.endpointAccounts ?? [Stack.of(this).account];

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      ...(props.availabilityZones ? { availabilityZones: props.availabilityZones } : { maxAzs: 2 }),
      natGateways: 1,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        {
          name: 'Public',
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 26,
          mapPublicIpOnLaunch: false
        },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 25 }
      ],
      gatewayEndpoints: {}
    });

    // restrictDefaultSecurityGroup adds a CDK-provided custom resource whose Lambda (run once per deployment) we cannot configure.
    const provider = Stack.of(this).node.tryFindChild(
      'Custom::VpcRestrictDefaultSGCustomResourceProvider'
    );
    const handler = provider?.node.tryFindChild('Handler');
    if (handler) {
      skipCheckov(handler, [
        [
          'CKV_AWS_115',
          'CDK-provided custom resource run only during deployments; no concurrency to reserve.'
        ],
        [
          'CKV_AWS_116',
          'CDK-provided custom resource: CloudFormation receives and reports its failures; a DLQ adds nothing.'
        ],
        [
          'CKV_AWS_117',
          'CDK-provided custom resource calling only the EC2 API during deployments; it needs no VPC.'
        ]
      ]);
    }

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL
    });

    // S3 gateway endpoint: our accounts' principals, plus ECR's layer bucket that image pulls read.
    const s3 = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    s3.addToPolicy(accountsOnly(accounts, ['s3:*']));
    s3.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [
          `arn:${Stack.of(this).partition}:s3:::prod-${Stack.of(this).region}-starport-layer-bucket/*`
        ]
      })
    );

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSg', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from inside the VPC only',
      allowAllOutbound: false
    });
    this.endpointSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(props.cidr),
      ec2.Port.tcp(443),
      'HTTPS from the VPC'
    );

    const endpoints = { ...PIPELINE_ENDPOINTS, ...(props.studioEndpoints ? STUDIO_ENDPOINTS : {}) };
    for (const [name, service] of Object.entries(endpoints)) {
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [this.endpointSecurityGroup],
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
      });
      endpoint.addToPolicy(accountsOnly(accounts, ['*']));
    }
  }

  /** The private subnets CodeBuild and Studio run in. */
  public get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}

/** An endpoint policy statement allowing only principals of the given accounts. */
function accountsOnly(accounts: string[], actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'OwnAccountsOnly',
    principals: [new iam.AnyPrincipal()],
    actions,
    resources: ['*'],
    conditions: { StringEquals: { 'aws:PrincipalAccount': accounts } }
  });
}
