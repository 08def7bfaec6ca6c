import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, logicalIdStartingWith, resourcesOf, statementsOfRole } from './helpers';

// Given the default app: a domain identity, the pipeline in the same account
let template: Template;
beforeAll(() => {
  template = Template.fromStack(buildApp().stacks.notification);
});

describe('NotificationStack', () => {
  test('an SES domain identity with Easy DKIM, bound to the configuration set', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.com',
      DkimAttributes: { SigningEnabled: true },
      ConfigurationSetAttributes: {
        ConfigurationSetName: {
          Ref: logicalIdStartingWith(template, 'AWS::SES::ConfigurationSet', 'MailConfigurationSet')
        }
      }
    });
  });

  test('a configuration set that requires TLS, tracks reputation and suppresses bounces and complaints', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      Name: 'repoguard-mail',
      DeliveryOptions: { TlsPolicy: 'REQUIRE' },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] }
    });
  });

  test('same account: no sender role (the finish role is granted directly)', () => {
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  test('an address identity when sesIdentity is an address', () => {
    const t = Template.fromStack(
      buildApp({ sesIdentity: 'repoguard@example.org', mailFrom: 'repoguard@example.org' }).stacks
        .notification
    );
    t.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'repoguard@example.org' });
  });
});

describe('NotificationStack in its own account', () => {
  let t: Template;
  let pipeline: Template;
  beforeAll(() => {
    const { stacks } = buildApp(
      {
        networkAccount: '222222222222',
        pipelineAccount: '222222222222',
        notificationAccount: '333333333333',
        networkRegion: 'eu-west-1',
        pipelineRegion: 'eu-west-1',
        notificationRegion: 'eu-west-1'
      },
      { injectImage: true }
    );
    t = Template.fromStack(stacks.notification);
    pipeline = Template.fromStack(stacks.pipeline);
  });

  test('a sender role only the finish stage role of the pipeline account may assume', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'repoguard-mail-sender',
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'sts:AssumeRole',
            Principal: { AWS: 'arn:aws:iam::222222222222:root' },
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/repoguard-finish-stage'
              }
            }
          })
        ]
      }
    });
  });

  test('the sender role may only send from the identity, as the configured address', () => {
    const roleId = resourcesOf(t, 'AWS::IAM::Role')[0][0];
    const statements = statementsOfRole(t, roleId);
    expect(statements).toEqual([
      expect.objectContaining({
        Action: ['ses:SendEmail', 'ses:SendRawEmail'],
        Condition: { StringEquals: { 'ses:FromAddress': 'repoguard@example.com' } }
      })
    ]);
    expect(JSON.stringify(statements[0].Resource)).toContain('333333333333:identity/example.com');
  });

  test('the finish stage assumes that role instead of sending itself', () => {
    const finishRole = logicalIdStartingWith(pipeline, 'AWS::IAM::Role', 'FinishStageRole');
    const statements = statementsOfRole(pipeline, finishRole);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'sts:AssumeRole',
        Resource: 'arn:aws:iam::333333333333:role/repoguard-mail-sender'
      })
    );
    expect(JSON.stringify(statements)).not.toContain('ses:SendEmail');
    pipeline.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: 'repoguard-finish',
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          {
            Name: 'REPOGUARD_SES_ROLE_ARN',
            Type: 'PLAINTEXT',
            Value: 'arn:aws:iam::333333333333:role/repoguard-mail-sender'
          }
        ])
      })
    });
  });
});
