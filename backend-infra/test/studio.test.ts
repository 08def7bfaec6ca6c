import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, logicalIdStartingWith, MULTI_ACCOUNT, statementsOfRole } from './helpers';

// Given Studio enabled in the same account as the pipeline
let template: Template;
beforeAll(() => {
  template = Template.fromStack(
    buildApp({ enableStudio: true }, { injectImage: true }).stacks.studio!
  );
});

/** The lifecycle script, decoded from Fn::Base64 of a string or an Fn::Join. */
function lifecycleScript(t: Template): string {
  const config = Object.values(t.findResources('AWS::SageMaker::StudioLifecycleConfig'))[0] as any;
  const content = config.Properties.StudioLifecycleConfigContent['Fn::Base64'];
  return typeof content === 'string'
    ? content
    : content['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : '<token>')).join('');
}

describe('StudioStack', () => {
  test('is not part of the default app', () => {
    expect(buildApp().stacks.studio).toBeUndefined();
  });

  test('a VPC-only, IAM-authenticated domain in the private subnets, KMS-encrypted', () => {
    template.hasResourceProperties('AWS::SageMaker::Domain', {
      AppNetworkAccessType: 'VpcOnly',
      AuthMode: 'IAM',
      SubnetIds: [
        { 'Fn::ImportValue': Match.stringLikeRegexp('PrivateSubnet1') },
        { 'Fn::ImportValue': Match.stringLikeRegexp('PrivateSubnet2') }
      ],
      KmsKeyId: Match.anyValue()
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('JupyterLab spaces get the RepoGuard lifecycle configuration by default', () => {
    const lccId = logicalIdStartingWith(
      template,
      'AWS::SageMaker::StudioLifecycleConfig',
      'InstallRepoGuard'
    );
    const lab = {
      LifecycleConfigArns: [{ 'Fn::GetAtt': [lccId, 'StudioLifecycleConfigArn'] }],
      DefaultResourceSpec: Match.objectLike({ LifecycleConfigArn: Match.anyValue() })
    };
    template.hasResourceProperties('AWS::SageMaker::Domain', {
      DefaultUserSettings: Match.objectLike({ JupyterLabAppSettings: lab }),
      DefaultSpaceSettings: Match.objectLike({ JupyterLabAppSettings: lab })
    });
    template.hasResourceProperties('AWS::SageMaker::StudioLifecycleConfig', {
      StudioLifecycleConfigAppType: 'JupyterLab'
    });
    const script = lifecycleScript(template);
    expect(script).toContain(
      "pip install --quiet --no-input --disable-pip-version-check 'repoguard==0.1.0'"
    );
    expect(script).toContain('"mode":"aws"');
    expect(script).toContain('"pipelineName":"repoguard-pipeline"');
  });

  test('spaces may only reach HTTPS', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })]
    });
  });

  test("the execution role reads this pipeline's state, reports and its own read-only token, and puts inbox requests", () => {
    const roleId = logicalIdStartingWith(template, 'AWS::IAM::Role', 'ExecutionRole');
    const statements = statementsOfRole(template, roleId);
    expect(statements.map(s => s.Sid ?? '(grant)').sort()).toEqual(
      [
        '(grant)',
        'ListReportsAndInbox',
        'PutRequestsIntoTheInbox',
        'ReadReportsAndInbox',
        'ReadThePipelineSigningPublicKey',
        'ReadThisPipelineState',
        'StartThisPipeline',
        'UseTheKeyThroughS3'
      ].sort()
    );
    const byId = Object.fromEntries(statements.map(s => [s.Sid, s]));
    expect(
      byId.ReadThisPipelineState.Action.every((a: string) => /^codepipeline:(Get|List)/.test(a))
    ).toBe(true);
    expect(JSON.stringify(byId.ReadThisPipelineState.Resource)).toContain(':codepipeline:');
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'repoguard-studio-execution',
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })]
      }
    });
  });
});

describe('StudioStack in the data-science account', () => {
  let studio: Template;
  let pipeline: Template;
  beforeAll(() => {
    const { stacks } = buildApp(MULTI_ACCOUNT, { injectImage: true });
    studio = Template.fromStack(stacks.studio!);
    pipeline = Template.fromStack(stacks.pipeline);
  });

  test("the execution role can only assume the pipeline account's panel-reader role", () => {
    const statements = statementsOfRole(
      studio,
      logicalIdStartingWith(studio, 'AWS::IAM::Role', 'ExecutionRole')
    );
    const readToken = logicalIdStartingWith(studio, 'AWS::SecretsManager::Secret', 'ReadToken');
    const own = (s: any) =>
      JSON.stringify(s.Resource).includes(readToken) || JSON.stringify(s.Resource).includes('Key');
    expect(statements.filter(s => !own(s))).toEqual([
      expect.objectContaining({
        Action: 'sts:AssumeRole',
        Resource: 'arn:aws:iam::222222222222:role/repoguard-panel-reader'
      })
    ]);
    studio.hasResourceProperties('AWS::SageMaker::Domain', {
      VpcId: 'vpc-0123456789abcdef0',
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2']
    });
  });

  test('the panel-reader role trusts only the Studio execution role; it reads the pipeline, reports and contract, and puts inbox requests', () => {
    pipeline.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'repoguard-panel-reader',
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': 'arn:aws:iam::444444444444:role/repoguard-studio-execution'
              }
            }
          })
        ]
      }
    });
    const statements = statementsOfRole(
      pipeline,
      logicalIdStartingWith(pipeline, 'AWS::IAM::Role', 'PanelReaderRole')
    );
    const actions = statements.flatMap(s => [s.Action].flat());
    expect(
      actions.every((a: string) =>
        /^(codepipeline:(Get|List|StartPipelineExecution)|s3:(GetObject|ListBucket|PutObject)|kms:(Decrypt|GenerateDataKey|GetPublicKey)|ssm:(GetParameter|DescribeParameters))/.test(
          a
        )
      )
    ).toBe(true);
  });
});
