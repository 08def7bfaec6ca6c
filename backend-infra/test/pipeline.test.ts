import { Match, Template } from 'aws-cdk-lib/assertions';
import { UNSCOPABLE_ACTIONS } from '../lib/nag';
import {
  asArray,
  buildApp,
  logicalIdStartingWith,
  resourcesOf,
  statementsOfRole,
  TEST_IMAGE
} from './helpers';

// Given the default app (no context): CodeConnections trigger, the stack's own ECR image
let template: Template;
let ownIds: Set<string>;
beforeAll(() => {
  template = Template.fromStack(buildApp().stacks.pipeline);
  ownIds = new Set(Object.keys(template.toJSON().Resources));
});

const STAGES = ['Ingest', 'Scan', 'Finish'] as const;
const roleId = (stage: string) =>
  logicalIdStartingWith(template, 'AWS::IAM::Role', `${stage}StageRole`);
const projectId = (stage: string) =>
  logicalIdStartingWith(template, 'AWS::CodeBuild::Project', `${stage}StageProject`);

/** Every Ref / Fn::GetAtt target inside a value. */
function referencedIds(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach(v => referencedIds(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) out.push(v);
      else if (k === 'Fn::GetAtt') out.push((v as string[])[0]);
      else if (k === 'Fn::ImportValue') out.push(`import:${JSON.stringify(v)}`);
      else referencedIds(v, out);
    }
  }
  return out;
}

describe('PipelineStack: key and storage', () => {
  test('the KMS key rotates', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test.each(['StoreArtifacts', 'StoreReports'])(
    '%s: KMS-encrypted with the key, versioned, public access blocked, access-logged',
    prefix => {
      const id = logicalIdStartingWith(template, 'AWS::S3::Bucket', prefix);
      const keyId = logicalIdStartingWith(template, 'AWS::KMS::Key', 'Key');
      const logsId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'StoreAccessLogs');
      expect(template.toJSON().Resources[id].Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] }
              }
            }
          ]
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: logsId } }
      });
    }
  );

  test.each(['StoreArtifacts', 'StoreReports', 'StoreAccessLogs'])(
    '%s: TLS-only bucket policy',
    prefix => {
      const id = logicalIdStartingWith(template, 'AWS::S3::Bucket', prefix);
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } }
            })
          ])
        }
      });
    }
  );

  test('the GitHub token secret is created, encrypted with the key', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: Match.anyValue()
    });
  });

  test('the scanner image repository scans on push, has immutable tags and KMS encryption', () => {
    template.hasResourceProperties('AWS::ECR::Repository', {
      ImageScanningConfiguration: { ScanOnPush: true },
      ImageTagMutability: 'IMMUTABLE',
      EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: Match.anyValue() }
    });
  });
});

describe('PipelineStack: CodeBuild stages', () => {
  test('the build security group allows nothing in and only HTTPS out', () => {
    const sgs = resourcesOf(template, 'AWS::EC2::SecurityGroup');
    expect(sgs).toHaveLength(1);
    const props = sgs[0][1].Properties!;
    expect(props.SecurityGroupIngress).toBeUndefined();
    expect(props.SecurityGroupEgress).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        CidrIp: '0.0.0.0/0',
        Description: expect.any(String)
      }
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  test.each(STAGES)(
    '%s runs in the private subnets with the build security group, encrypted; only Scan is privileged',
    stage => {
      const sgId = resourcesOf(template, 'AWS::EC2::SecurityGroup')[0][0];
      template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: `repoguard-${stage.toLowerCase()}`,
        VpcConfig: Match.objectLike({
          VpcId: Match.objectLike({ 'Fn::ImportValue': Match.stringLikeRegexp('EgressVpc') }),
          Subnets: [
            { 'Fn::ImportValue': Match.stringLikeRegexp('PrivateSubnet1') },
            { 'Fn::ImportValue': Match.stringLikeRegexp('PrivateSubnet2') }
          ],
          SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }]
        }),
        EncryptionKey: Match.anyValue(),
        Environment: Match.objectLike({
          // bubblewrap (the scanners' network-less sandbox) needs user namespaces
          PrivilegedMode: stage === 'Scan',
          Type: 'LINUX_CONTAINER',
          ImagePullCredentialsType: 'SERVICE_ROLE'
        }),
        LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: Match.anyValue() } }
      });
    }
  );

  test.each([
    [
      'Ingest',
      'repoguard-pipeline ingest --mode aws --out "$CODEBUILD_SRC_DIR/out/manifest.json"',
      'out'
    ],
    ['Scan', 'repoguard-pipeline scan --manifest "$CODEBUILD_SRC_DIR/manifest.json"', '.'],
    ['Finish', 'repoguard-pipeline finish --manifest "$CODEBUILD_SRC_DIR/manifest.json"', undefined]
  ])('%s runs the stage CLI and passes the manifest on', (stage, command, artifactDir) => {
    const project = template.toJSON().Resources[projectId(stage)].Properties;
    const spec = JSON.parse(project.Source.BuildSpec);
    expect(spec.phases.build.commands).toEqual([command]);
    expect(spec.artifacts?.['base-directory']).toBe(artifactDir);
  });

  test.each(STAGES)('%s gets the REPOGUARD_* settings as plain-text names and ARNs', stage => {
    const env = template.toJSON().Resources[projectId(stage)].Properties.Environment
      .EnvironmentVariables as Array<{ Name: string; Type: string }>;
    expect(env.map(e => e.Name)).toEqual(
      expect.arrayContaining([
        'REPOGUARD_GITHUB_ORG',
        'REPOGUARD_GITHUB_TOKEN_SECRET_ARN',
        'REPOGUARD_REPORT_BUCKET',
        'REPOGUARD_MAIL_FROM',
        'REPOGUARD_REQUEST_REPO_URL'
      ])
    );
    expect(env.every(e => e.Type === 'PLAINTEXT')).toBe(true);
  });

  test('each stage logs to its own KMS-encrypted log group with retention', () => {
    for (const stage of STAGES) {
      const logId = logicalIdStartingWith(template, 'AWS::Logs::LogGroup', `${stage}StageLogs`);
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 90,
        KmsKeyId: Match.anyValue()
      });
      expect(
        template.toJSON().Resources[projectId(stage)].Properties.LogsConfig.CloudWatchLogs.GroupName
      ).toEqual({ Ref: logId });
    }
  });
});

describe('PipelineStack: least privilege', () => {
  test.each(STAGES)(
    '%s role: no "*" action; "*" resources only for unscopable actions; every other resource is this stack\'s own',
    stage => {
      const statements = statementsOfRole(template, roleId(stage));
      expect(statements.length).toBeGreaterThan(0);
      for (const st of statements) {
        for (const action of asArray<string>(st.Action)) expect(action).not.toMatch(/^\*$|:\*$/);
        const resources = asArray<unknown>(st.Resource);
        if (JSON.stringify(st.Action) === '"ec2:CreateNetworkInterfacePermission"') {
          // ENIs have generated ids: allowed only in our subnets, only for CodeBuild.
          expect(st.Condition).toEqual({
            StringEquals: {
              'ec2:Subnet': expect.any(Array),
              'ec2:AuthorizedService': 'codebuild.amazonaws.com'
            }
          });
          continue;
        }
        if (resources.includes('*')) {
          for (const action of asArray<string>(st.Action))
            expect(UNSCOPABLE_ACTIONS).toContain(action);
          continue;
        }
        for (const resource of resources) {
          const refs = referencedIds(resource);
          const literal = JSON.stringify(resource);
          // Either a reference to a resource of this template, or an ARN of a RepoGuard SES identity / configuration set.
          const own = refs.length > 0 && refs.every(id => ownIds.has(id));
          const ses = /:ses:.*(identity\/example\.com|configuration-set\/repoguard-mail)/.test(
            literal
          );
          if (!own && !ses)
            throw new Error(
              `${stage}: statement ${st.Sid ?? ''} names a foreign resource ${literal}`
            );
        }
      }
    }
  );

  const actionsOf = (stage: string) =>
    statementsOfRole(template, roleId(stage)).flatMap(st => asArray<string>(st.Action));
  test('only ingest and finish read the token; only finish writes reports and sends mail', () => {
    expect(actionsOf('Ingest')).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf('Finish')).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf('Scan')).not.toContain('secretsmanager:GetSecretValue');
    for (const stage of ['Ingest', 'Scan']) expect(actionsOf(stage)).not.toContain('ses:SendEmail');
    const reportsId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'StoreReports');
    expect(JSON.stringify(statementsOfRole(template, roleId('Scan')))).not.toContain(reportsId);
    // Ingest touches the report bucket's request inbox only (reads and deletes inbox objects).
    const ingestWrites = statementsOfRole(template, roleId('Ingest')).filter(s =>
      JSON.stringify(s).includes(reportsId)
    );
    for (const s of ingestWrites) {
      for (const action of [s.Action].flat()) expect(action).toMatch(/^s3:(Get|List|DeleteObject)/);
      const objects = [s.Resource].flat().filter((r: any) => r['Fn::Join']);
      for (const r of objects) expect(r['Fn::Join'][1][1]).toBe('/inbox/*');
    }
  });

  test('finish sends only from the SES identity and configuration set, only as the configured address', () => {
    const send = statementsOfRole(template, roleId('Finish')).find(
      st => st.Sid === 'SendOnlyFromRepoGuardIdentity'
    );
    expect(send).toMatchObject({
      Effect: 'Allow',
      Action: ['ses:SendEmail', 'ses:SendRawEmail'],
      Condition: { StringEquals: { 'ses:FromAddress': 'repoguard@example.com' } }
    });
    expect(JSON.stringify(send.Resource)).toMatch(/:identity\/example\.com"/);
    expect(JSON.stringify(send.Resource)).toMatch(/:configuration-set\/repoguard-mail"/);
    expect(asArray(send.Resource)).toHaveLength(2);
  });
});

describe('PipelineStack: attestation key (signed decisions)', () => {
  const keyId = () => logicalIdStartingWith(template, 'AWS::KMS::Key', 'AttestationKey');
  const signs = (statement: any) =>
    statement.Effect === 'Allow' && asArray<string>(statement.Action).includes('kms:Sign');

  test('an asymmetric ECC_NIST_P256 signing key, retained, with an alias', () => {
    const key = template.toJSON().Resources[keyId()];
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/repoguard-attestation',
      TargetKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] }
    });
  });

  test('the key policy denies kms:Sign to every principal but the finish, request and rescan stage roles', () => {
    const policy = template.toJSON().Resources[keyId()].Properties.KeyPolicy;
    const deny = policy.Statement.find((st: any) => st.Sid === 'OnlyThePipelineSigns');
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign' });
    const names = asArray<any>(deny.Condition.ArnNotEquals['aws:PrincipalArn']).map(arn =>
      JSON.stringify(arn).replace(/.*:role\/([^"]+)".*/, '$1')
    );
    expect(names.sort()).toEqual(
      ['repoguard-finish-stage', 'repoguard-request-stage', 'repoguard-rescan-stage'].sort()
    );
    // No Allow in the key policy grants kms:Sign by itself.
    expect(policy.Statement.filter(signs)).toEqual([]);
  });

  test('only the signing stage roles may kms:Sign, and only with this key', () => {
    const signers: string[] = [];
    for (const [id, role] of resourcesOf(template, 'AWS::IAM::Role')) {
      const statements = statementsOfRole(template, id).filter(signs);
      if (statements.length === 0) continue;
      signers.push(role.Properties!.RoleName);
      for (const st of statements) expect(st.Resource).toEqual({ 'Fn::GetAtt': [keyId(), 'Arn'] });
    }
    expect(signers.sort()).toEqual(
      ['repoguard-finish-stage', 'repoguard-request-stage', 'repoguard-rescan-stage'].sort()
    );
  });

  test('the signing stages get the key ARN (REPOGUARD_SIGNING_KEY_ARN); the others do not', () => {
    const envOf = (prefix: string) =>
      template
        .toJSON()
        .Resources[
          logicalIdStartingWith(template, 'AWS::CodeBuild::Project', prefix)
        ].Properties.Environment.EnvironmentVariables.find(
          (v: any) => v.Name === 'REPOGUARD_SIGNING_KEY_ARN'
        );
    for (const signer of ['FinishStage', 'RequestStage'])
      expect(envOf(signer)?.Value).toEqual({ 'Fn::GetAtt': [keyId(), 'Arn'] });
    for (const other of ['IngestStage', 'ScanStage']) expect(envOf(other)).toBeUndefined();
  });
});

describe('PipelineStack: pipeline and trigger', () => {
  test('CodePipeline V2, queued, artifacts in the KMS-encrypted artifact bucket', () => {
    const bucketId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'StoreArtifacts');
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Name: 'repoguard-pipeline',
      PipelineType: 'V2',
      ExecutionMode: 'QUEUED',
      ArtifactStore: {
        Type: 'S3',
        Location: { Ref: bucketId },
        EncryptionKey: { Type: 'KMS', Id: Match.anyValue() }
      },
      // One build per request through the fan-out state machine (test/fanout.test.ts).
      Stages: [Match.objectLike({ Name: 'Source' }), Match.objectLike({ Name: 'FanOut' })]
    });
  });

  test('default trigger: CodeConnections source with a push filter on the request file of the branch', () => {
    const connectionId = logicalIdStartingWith(
      template,
      'AWS::CodeStarConnections::Connection',
      'GitHubConnection'
    );
    template.hasResourceProperties('AWS::CodeStarConnections::Connection', {
      ProviderType: 'GitHub'
    });
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Source',
          Actions: [
            Match.objectLike({
              ActionTypeId: {
                Category: 'Source',
                Owner: 'AWS',
                Provider: 'CodeStarSourceConnection',
                Version: '1'
              },
              Configuration: Match.objectLike({
                ConnectionArn: { 'Fn::GetAtt': [connectionId, 'ConnectionArn'] },
                FullRepositoryId: 'example-org/repoguard-requests',
                BranchName: 'main'
              })
            })
          ]
        })
      ]),
      Triggers: [
        {
          ProviderType: 'CodeStarSourceConnection',
          GitConfiguration: {
            SourceActionName: 'RequestRepo',
            Push: [
              {
                Branches: { Includes: ['main'] },
                FilePaths: { Includes: ['external-package-request.csv'] }
              }
            ]
          }
        }
      ]
    });
    template.resourceCountIs('AWS::CodePipeline::Webhook', 0);
  });

  test('the pipeline runs no build itself: it starts the fan-out, whose execution name every child records', () => {
    const pipeline = resourcesOf(template, 'AWS::CodePipeline::Pipeline')[0][1].Properties!;
    const actions = pipeline.Stages.flatMap((s: any) => s.Actions);
    expect(actions.filter((a: any) => a.ActionTypeId.Provider === 'CodeBuild')).toEqual([]);
    const invoke = actions.find((a: any) => a.ActionTypeId.Provider === 'StepFunctions');
    expect(invoke.Configuration).toMatchObject({ ExecutionNamePrefix: 'push' });
  });

  test('failed executions notify a KMS-encrypted, TLS-only SNS topic', () => {
    const topicId = logicalIdStartingWith(template, 'AWS::SNS::Topic', 'Alerts');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: ['codepipeline-pipeline-pipeline-execution-failed'],
      Targets: [{ TargetType: 'SNS', TargetAddress: { Ref: topicId } }]
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } }
          })
        ])
      }
    });
  });
});

describe('PipelineStack: options', () => {
  let webhook: Template;
  beforeAll(() => {
    webhook = Template.fromStack(
      buildApp(
        {
          trigger: 'webhook',
          githubTokenSecretArn:
            'arn:aws:secretsmanager:eu-west-1:123456789012:secret:repoguard/github-token-AbCdEf'
        },
        { injectImage: true }
      ).stacks.pipeline
    );
  });

  test('webhook trigger: a GitHub webhook authenticated (HMAC) with the token from Secrets Manager', () => {
    webhook.hasResourceProperties('AWS::CodePipeline::Webhook', {
      Authentication: 'GITHUB_HMAC',
      AuthenticationConfiguration: {
        SecretToken: Match.stringLikeRegexp('resolve:secretsmanager:.*:SecretString:token::')
      },
      Filters: [
        { JsonPath: '$.ref', MatchEquals: 'refs/heads/main' },
        { JsonPath: '$.head_commit.modified[0]', MatchEquals: 'external-package-request.csv' }
      ],
      RegisterWithThirdParty: true
    });
    webhook.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Source',
          Actions: [
            Match.objectLike({
              ActionTypeId: Match.objectLike({ Provider: 'GitHub', Owner: 'ThirdParty' })
            })
          ]
        })
      ])
    });
    webhook.resourceCountIs('AWS::CodeStarConnections::Connection', 0);
  });

  test('an injected build image is used as is; no ECR repository is created', () => {
    webhook.resourceCountIs('AWS::ECR::Repository', 0);
    webhook.resourcePropertiesCountIs(
      'AWS::CodeBuild::Project',
      { Environment: Match.objectLike({ Image: TEST_IMAGE }) },
      6 // ingest, scan, finish, the fan-out's list and request, and the re-scan
    );
  });

  test('an existing token secret and connection are used, not created', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:repoguard/token-AbCdEf';
    const conn =
      'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-0000-1111-2222-333344445555';
    const t = Template.fromStack(
      buildApp({ githubTokenSecretArn: arn, connectionArn: conn }, { injectImage: true }).stacks
        .pipeline
    );
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    t.resourceCountIs('AWS::CodeStarConnections::Connection', 0);
    t.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          { Name: 'REPOGUARD_GITHUB_TOKEN_SECRET_ARN', Type: 'PLAINTEXT', Value: arn }
        ])
      })
    });
  });
});
