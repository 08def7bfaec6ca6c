import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { SharedVpcConfig } from './config';

/**
 * The VPC a stack runs in: the egress VPC passed as a prop (same account), or
 * the egress VPC shared with this account through AWS RAM, imported from its
 * ids (no lookup; the ids are the network stack's outputs).
 */
export type VpcSource =
  | { readonly vpc: ec2.IVpc; readonly subnets: ec2.SubnetSelection }
  | { readonly shared: SharedVpcConfig };

/** Resolves a VpcSource inside the consuming stack. */
export function resolveVpc(
  scope: Construct,
  source: VpcSource
): { vpc: ec2.IVpc; subnets: ec2.SubnetSelection } {
  if ('vpc' in source) return source;
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'SharedVpc', {
    vpcId: source.shared.vpcId,
    vpcCidrBlock: source.shared.vpcCidr,
    availabilityZones: source.shared.availabilityZones,
    privateSubnetIds: source.shared.privateSubnetIds
  });
  return { vpc, subnets: { subnets: vpc.privateSubnets } };
}
