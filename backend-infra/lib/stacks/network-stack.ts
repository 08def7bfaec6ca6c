import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as ram from 'aws-cdk-lib/aws-ram';
import type { Construct } from 'constructs';
import { EgressVpc } from '../constructs/egress-vpc';

export interface NetworkStackProps extends StackProps {
  /** Physical name prefix. */
  readonly prefix: string;
  /** CIDR of the egress VPC. */
  readonly cidr: string;
  /** Zones of the VPC; no lookup. @default - two zones from Fn::GetAZs */
  readonly availabilityZones?: string[];
  /** Retention of the flow logs. */
  readonly logRetention: logs.RetentionDays;
  /** Other accounts (pipeline, Studio) whose principals use the endpoints and with which the private subnets are shared through AWS RAM. @default - none */
  readonly shareWithAccounts?: string[];
  /** Add the SageMaker Studio endpoints. @default false */
  readonly studioEndpoints?: boolean;
}

/** The networking account's part: the egress VPC, its NAT gateway and Elastic IP, flow logs and endpoints. */
export class NetworkStack extends Stack {
  public readonly egress: EgressVpc;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const others = (props.shareWithAccounts ?? []).filter(a => a !== this.account);

    this.key = new kms.Key(this, 'LogKey', {
      alias: `alias/${props.prefix}-network-logs`,
      description: 'RepoGuard network: flow-log encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN
    });
    allowLogsService(this.key);

    this.egress = new EgressVpc(this, 'Egress', {
      cidr: props.cidr,
      availabilityZones: props.availabilityZones,
      logKey: this.key,
      logRetention: props.logRetention,
      endpointAccounts: [this.account, ...others],
      studioEndpoints: props.studioEndpoints
    });

    const vpc = this.egress.vpc;
    const privateSubnets = vpc.selectSubnets(this.egress.privateSubnets).subnets;
    if (others.length > 0) {
      new ram.CfnResourceShare(this, 'SubnetShare', {
        name: `${props.prefix}-private-subnets`,
        allowExternalPrincipals: false,
        principals: others,
        resourceArns: privateSubnets.map(s => subnetArn(this, s))
      });
    }

    new CfnOutput(this, 'VpcId', { value: vpc.vpcId });
    new CfnOutput(this, 'PrivateSubnetIds', {
      value: Fn.join(
        ',',
        privateSubnets.map(s => s.subnetId)
      )
    });
    new CfnOutput(this, 'PrivateSubnetZones', {
      value: Fn.join(
        ',',
        privateSubnets.map(s => s.availabilityZone)
      )
    });
    new CfnOutput(this, 'NatElasticIp', {
      description: 'The one egress address partners allow-list',
      // Ref of an AWS::EC2::EIP is its public address.
      value: Fn.join(
        ',',
        vpc.publicSubnets.flatMap(s => {
          const eip = s.node.tryFindChild('EIP') as ec2.CfnEIP | undefined;
          return eip ? [eip.ref] : [];
        })
      )
    });
  }
}

/** Lets CloudWatch Logs of this account and region use a key for its log groups. */
export function allowLogsService(key: kms.Key): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*'
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`
        }
      }
    })
  );
}

function subnetArn(stack: Stack, subnet: ec2.ISubnet): string {
  return stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: subnet.subnetId });
}
