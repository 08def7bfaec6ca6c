import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, resourcesOf } from './helpers';

// Given the default app (no context)
let template: Template;
beforeAll(() => {
  template = Template.fromStack(buildApp().stacks.network);
});

/** Service suffixes of the interface endpoints the pipeline calls (com.amazonaws.<region>.<suffix>). */
const PIPELINE_SERVICES = [
  'codebuild',
  'codepipeline',
  'secretsmanager',
  'logs',
  'sts',
  'kms',
  'email',
  'ecr.api',
  'ecr.dkr'
];

function serviceSuffix(serviceName: unknown): string {
  // Fn::Join ['', ['com.amazonaws.', {Ref: AWS::Region}, '.codebuild']] or a literal
  return (
    JSON.stringify(serviceName).match(/\.([a-z0-9.-]+)"\]*\}?\]*\}?$/)?.[1] ??
    JSON.stringify(serviceName)
  );
}

describe('NetworkStack: egress', () => {
  test('one NAT gateway with one Elastic IP, the single allow-listable address', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::EIP', 1);
    const [[eipId]] = resourcesOf(template, 'AWS::EC2::EIP');
    template.hasResourceProperties('AWS::EC2::EIP', { Domain: 'vpc' });
    template.hasResourceProperties('AWS::EC2::NatGateway', {
      AllocationId: { 'Fn::GetAtt': [eipId, 'AllocationId'] }
    });
    template.hasOutput('NatElasticIp', { Value: { Ref: eipId } });
  });

  test('two public and two private subnets; private default routes go through the NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false }, 4);
    const [[natId]] = resourcesOf(template, 'AWS::EC2::NatGateway');
    template.resourcePropertiesCountIs(
      'AWS::EC2::Route',
      { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: natId } },
      2
    );
  });

  test('flow logs of all traffic go to a KMS-encrypted log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs'
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
      KmsKeyId: Match.anyValue()
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the default security group is restricted', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});

describe('NetworkStack: endpoints', () => {
  test('an S3 gateway endpoint limited to our accounts (plus ECR image layers)', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['.s3'])] }),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'OwnAccountsOnly',
            Condition: { StringEquals: { 'aws:PrincipalAccount': Match.anyValue() } }
          }),
          Match.objectLike({ Sid: 'EcrImageLayers', Action: 's3:GetObject' })
        ])
      }
    });
  });

  test.each(PIPELINE_SERVICES)(
    'an interface endpoint for %s, private DNS, policy limited to our accounts',
    suffix => {
      const matching = resourcesOf(template, 'AWS::EC2::VPCEndpoint').filter(
        ([, r]) =>
          r.Properties?.VpcEndpointType === 'Interface' &&
          serviceSuffix(r.Properties?.ServiceName) === suffix
      );
      expect(matching).toHaveLength(1);
      const props = matching[0][1].Properties!;
      expect(props.PrivateDnsEnabled).toBe(true);
      expect(props.SubnetIds).toHaveLength(2);
      expect(props.PolicyDocument.Statement).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Condition: { StringEquals: { 'aws:PrincipalAccount': expect.anything() } }
        })
      ]);
    }
  );

  test('no endpoint beyond the pipeline ones without Studio', () => {
    const suffixes = resourcesOf(template, 'AWS::EC2::VPCEndpoint')
      .filter(([, r]) => r.Properties?.VpcEndpointType === 'Interface')
      .map(([, r]) => serviceSuffix(r.Properties?.ServiceName));
    expect(suffixes.sort()).toEqual([...PIPELINE_SERVICES].sort());
  });

  test('endpoint security group: HTTPS in from the VPC CIDR only, nothing out', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Interface endpoints'),
      SecurityGroupIngress: [
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          CidrIp: '10.40.0.0/22',
          Description: Match.anyValue()
        }
      ],
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })]
    });
  });
});

describe('NetworkStack: multi-account', () => {
  test('private subnets are shared through RAM with the pipeline and Studio accounts; Studio endpoints exist', () => {
    const { stacks } = buildApp({
      networkAccount: '111111111111',
      networkRegion: 'eu-west-1',
      pipelineAccount: '222222222222',
      pipelineRegion: 'eu-west-1',
      studioAccount: '444444444444',
      studioRegion: 'eu-west-1',
      enableStudio: true,
      sharedVpcId: 'vpc-0123456789abcdef0',
      sharedPrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2',
      sharedAvailabilityZones: 'eu-west-1a,eu-west-1b'
    });
    const t = Template.fromStack(stacks.network);
    t.hasResourceProperties('AWS::RAM::ResourceShare', {
      AllowExternalPrincipals: false,
      Principals: ['222222222222', '444444444444']
    });
    const [[, share]] = resourcesOf(t, 'AWS::RAM::ResourceShare');
    expect(JSON.stringify(share.Properties!.ResourceArns)).toMatch(/subnet\/.*subnet\//);
    const suffixes = resourcesOf(t, 'AWS::EC2::VPCEndpoint').map(([, r]) =>
      JSON.stringify(r.Properties?.ServiceName)
    );
    expect(suffixes.join(' ')).toMatch(/sagemaker\.api.*sagemaker\.runtime.*studio/s);
    t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'eu-west-1a' });
  });
});
