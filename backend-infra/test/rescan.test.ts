/**
 * The scheduled re-scan as synthesized: its CodeBuild project (command,
 * environment), its role's scope (the finish stage's grants plus kms:Sign),
 * the EventBridge Scheduler schedule that starts it (default and configured
 * expression, IAM of the schedule's role) and cdk-nag.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ConfigError, loadConfig, validRescanSchedule } from '../lib/config';
import { asArray, buildApp, logicalIdStartingWith, resourcesOf, statementsOfRole } from './helpers';

let template: Template;
let stack: Stack;
beforeAll(() => {
  stack = buildApp({}, { injectImage: true }).stacks.pipeline;
  template = Template.fromStack(stack);
});

const projectId = () =>
  logicalIdStartingWith(template, 'AWS::CodeBuild::Project', 'RescanStageProject');
const roleId = () => logicalIdStartingWith(template, 'AWS::IAM::Role', 'RescanStageRole');
const project = () => template.toJSON().Resources[projectId()];
const envOf = (id: string) =>
  Object.fromEntries(
    (template.toJSON().Resources[id].Properties.Environment.EnvironmentVariables as any[]).map(
      v => [v.Name, v.Value]
    )
  );
const actions = (statements: any[]) => statements.flatMap(s => asArray<string>(s.Action)).sort();
const schedulesOf = (t: Template) =>
  resourcesOf(t, 'AWS::Scheduler::Schedule').filter(([id]) => id.startsWith('Rescan'));

describe('re-scan: CodeBuild project', () => {
  test('runs `repoguard-pipeline rescan --mode aws` (no source, no artifacts), privileged for the sandbox', () => {
    const props = project().Properties;
    const spec = JSON.parse(props.Source.BuildSpec);
    expect(spec.phases.build.commands).toEqual(['repoguard-pipeline rescan --mode aws']);
    expect(props.Source.Type).toBe('NO_SOURCE');
    expect(props.Artifacts.Type).toBe('NO_ARTIFACTS');
    expect(props).toMatchObject({
      Name: 'repoguard-rescan',
      TimeoutInMinutes: 120,
      Environment: { ComputeType: 'BUILD_GENERAL1_SMALL', PrivilegedMode: true },
      VpcConfig: expect.objectContaining({ VpcId: expect.anything() })
    });
  });

  test("gets the finish stage's environment, the signing key and online advisories", () => {
    const finish = envOf(
      logicalIdStartingWith(template, 'AWS::CodeBuild::Project', 'FinishStageProject')
    );
    const rescan = envOf(projectId());
    for (const name of [
      'REPOGUARD_REQUEST_REPO_URL',
      'REPOGUARD_REQUEST_BRANCH',
      'REPOGUARD_GITHUB_ORG',
      'REPOGUARD_GITHUB_TOKEN_SECRET_ARN',
      'REPOGUARD_REPORT_BUCKET',
      'REPOGUARD_REPORT_PREFIX',
      'REPOGUARD_MAIL_FROM',
      'REPOGUARD_SES_CONFIGURATION_SET',
      'REPOGUARD_SIGNING_KEY_ARN'
    ]) {
      expect(rescan[name]).toBeDefined();
      expect(rescan[name]).toEqual(finish[name]);
    }
    const keyId = logicalIdStartingWith(template, 'AWS::KMS::Key', 'AttestationKey');
    expect(rescan.REPOGUARD_SIGNING_KEY_ARN).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(rescan.REPOGUARD_OSV_ONLINE).toBe('1');
  });
});

describe('re-scan: InfoSec address (CDK context infosecEmail)', () => {
  test('becomes REPOGUARD_INFOSEC_EMAIL of the re-scan project, and only of the stages that mail InfoSec', () => {
    const other = Template.fromStack(
      buildApp({ infosecEmail: 'secops@example.com' }, { injectImage: true }).stacks.pipeline
    );
    const projects = resourcesOf(other, 'AWS::CodeBuild::Project');
    const withIt = projects
      .filter(([, p]) =>
        (p.Properties!.Environment.EnvironmentVariables as any[]).some(
          v => v.Name === 'REPOGUARD_INFOSEC_EMAIL'
        )
      )
      .map(([id]) => id);
    expect(withIt).toEqual([
      logicalIdStartingWith(other, 'AWS::CodeBuild::Project', 'RescanStageProject')
    ]);
    const [, rescan] = projects.find(([id]) => id === withIt[0])!;
    expect(rescan.Properties!.Environment.EnvironmentVariables).toContainEqual({
      Name: 'REPOGUARD_INFOSEC_EMAIL',
      Type: 'PLAINTEXT',
      Value: 'secops@example.com'
    });
  });

  test('absent by default (InfoSec is then mailed only if a config file names it)', () => {
    expect(envOf(projectId()).REPOGUARD_INFOSEC_EMAIL).toBeUndefined();
  });

  test('a value that is not one email address is refused, naming the context key', () => {
    const config = (infosecEmail: unknown) =>
      loadConfig({ tryGetContext: (key: string) => ({ infosecEmail })[key] });
    for (const bad of [
      'infosec',
      'a@example.com,b@example.com',
      'InfoSec <i@example.com>',
      'i@localhost'
    ]) {
      expect(() => config(bad)).toThrow(ConfigError);
      expect(() => config(bad)).toThrow(/context "infosecEmail" must be one email address/);
    }
    expect(config(' secops@example.com ').infosecEmail).toBe('secops@example.com');
    expect(config(undefined).infosecEmail).toBeUndefined();
  });
});

describe('re-scan: role (least privilege)', () => {
  test('can kms:Sign (and read the public key) with the attestation key only', () => {
    const keyId = logicalIdStartingWith(template, 'AWS::KMS::Key', 'AttestationKey');
    const signs = statementsOfRole(template, roleId()).filter(s =>
      asArray<string>(s.Action).includes('kms:Sign')
    );
    expect(signs).toHaveLength(1);
    expect(signs[0]).toMatchObject({ Effect: 'Allow', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    expect(asArray<string>(signs[0].Action).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(template.toJSON().Resources[roleId()].Properties.RoleName).toBe(
      'repoguard-rescan-stage'
    );
  });

  test("has the finish stage's grants plus kms:Sign, and nothing else", () => {
    const finish = actions(
      statementsOfRole(
        template,
        logicalIdStartingWith(template, 'AWS::IAM::Role', 'FinishStageRole')
      )
    );
    const rescan = actions(statementsOfRole(template, roleId()));
    // Same actions as finish (token, report bucket, mail, logs, VPC ENIs, image pull, signing).
    expect([...new Set(rescan)]).toEqual([...new Set(finish)]);
    expect(rescan).toEqual(
      expect.arrayContaining(['secretsmanager:GetSecretValue', 'ses:SendEmail'])
    );
    for (const never of ['codebuild:StartBuild', 'states:StartExecution', 's3:PutBucketPolicy'])
      expect(rescan).not.toContain(never);
    const bucketId = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'StoreReports');
    const s3 = statementsOfRole(template, roleId()).filter(s =>
      asArray<string>(s.Action).some(a => a.startsWith('s3:'))
    );
    for (const st of s3) expect(JSON.stringify(st.Resource)).toContain(bucketId);
  });
});

describe('re-scan: schedule', () => {
  test('an EventBridge Scheduler schedule starts the project daily by default', () => {
    const schedules = schedulesOf(template);
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0];
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [projectId(), 'Arn'] },
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: 2 })
      }
    });
  });

  test("the schedule's role may codebuild:StartBuild on that one project, nothing more", () => {
    const [, schedule] = schedulesOf(template)[0];
    const roleRef = schedule.Properties!.Target.RoleArn['Fn::GetAtt'][0] as string;
    const role = template.toJSON().Resources[roleRef];
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(
      'scheduler.amazonaws.com'
    );
    const statements = statementsOfRole(template, roleRef);
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'codebuild:StartBuild',
        Resource: { 'Fn::GetAtt': [projectId(), 'Arn'] }
      })
    ]);
  });

  test('a configured expression (CDK context rescanSchedule) is used as given', () => {
    const other = Template.fromStack(
      buildApp({ rescanSchedule: 'cron(0 4 ? * MON-FRI *)' }, { injectImage: true }).stacks.pipeline
    );
    const [, schedule] = schedulesOf(other)[0];
    expect(schedule.Properties!.ScheduleExpression).toBe('cron(0 4 ? * MON-FRI *)');
  });

  test('a bad or too-frequent expression is refused, naming the context key', () => {
    const config = (rescanSchedule: unknown) =>
      loadConfig({ tryGetContext: (key: string) => ({ rescanSchedule })[key] });
    for (const bad of ['daily', 'rate(1 week)', 'cron(0 4 * * ?)', 'at(2027-01-01T00:00:00)']) {
      expect(() => config(bad)).toThrow(ConfigError);
      expect(() => config(bad)).toThrow(
        /context "rescanSchedule" must be an EventBridge Scheduler/
      );
    }
    expect(() => config('rate(5 minutes)')).toThrow(/more often than once an hour/);
    expect(config('rate(12 hours)').rescanSchedule).toBe('rate(12 hours)');
    expect(config(undefined).rescanSchedule).toBe('rate(1 day)');
    expect(validRescanSchedule(' rate(2 days) ')).toBe('rate(2 days)');
  });
});

describe('re-scan: cdk-nag', () => {
  test('no unsuppressed AwsSolutions finding on the re-scan construct', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const found = report.violations.flatMap(v =>
      v.violatingResources
        .filter(r => /\/Rescan(Stage)?\//.test(r.constructPath ?? ''))
        .map(r => `${v.ruleName} @ ${r.constructPath}`)
    );
    expect(found).toEqual([]);
  });
});
