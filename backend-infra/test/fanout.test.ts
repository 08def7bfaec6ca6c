/**
 * The fan-out state machine as synthesized: its ASL definition (the same
 * text the offline interpreter test executes), its projects, IAM scope,
 * sweep schedule, pipeline wiring and cdk-nag findings.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, logicalIdStartingWith, resourcesOf, statementsOfRole, asArray } from './helpers';

/** The state machine's definition with CloudFormation references replaced by `<LogicalId>` / `aws`. */
export function definitionOf(template: Template): any {
  const [, sm] = resourcesOf(template, 'AWS::StepFunctions::StateMachine')[0];
  const body = sm.Properties!.DefinitionString;
  const parts: unknown[] = body['Fn::Join'] ? body['Fn::Join'][1] : [body];
  const text = parts
    .map(p =>
      typeof p === 'string'
        ? p
        : (p as any).Ref === 'AWS::Partition'
          ? 'aws'
          : `<${(p as any).Ref ?? (p as any)['Fn::GetAtt']?.[0]}>`
    )
    .join('');
  return JSON.parse(text);
}

let template: Template;
let asl: any;
let stack: Stack;
beforeAll(() => {
  stack = buildApp({}, { injectImage: true }).stacks.pipeline;
  template = Template.fromStack(stack);
  asl = definitionOf(template);
});

const projectId = (name: string) =>
  logicalIdStartingWith(template, 'AWS::CodeBuild::Project', `${name}StageProject`);
const roleId = (name: string) =>
  logicalIdStartingWith(template, 'AWS::IAM::Role', `${name}StageRole`);

describe('fan-out state machine: definition', () => {
  test('lists the pending requests to S3 first, then a Distributed Map reads that file', () => {
    expect(asl.StartAt).toBe('Prepare');
    expect(asl.States.Prepare.Parameters).toEqual({
      'itemsKey.$': "States.Format('fan-out/{}/items.json', $$.Execution.Name)",
      'executionId.$': '$$.Execution.Name'
    });
    expect(asl.States.ListPending).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::codebuild:startBuild.sync',
      ResultPath: null,
      Parameters: {
        ProjectName: `<${projectId('List')}>`,
        EnvironmentVariablesOverride: [
          { Name: 'REPOGUARD_ITEMS_KEY', Type: 'PLAINTEXT', 'Value.$': '$.itemsKey' },
          { Name: 'REPOGUARD_EXECUTION_ID', Type: 'PLAINTEXT', 'Value.$': '$.executionId' }
        ]
      },
      Next: 'EachRequest'
    });
    const bucket = logicalIdStartingWith(template, 'AWS::S3::Bucket', 'StoreArtifacts');
    expect(asl.States.EachRequest).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 10,
      ToleratedFailurePercentage: 10,
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON', MaxItems: 200 },
        Parameters: { Bucket: `<${bucket}>`, 'Key.$': '$.itemsKey' }
      },
      ItemSelector: {
        'request_id.$': '$$.Map.Item.Value.request_id',
        'executionId.$': '$.executionId'
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'RunRequest'
      },
      End: true
    });
  });

  test('one startBuild.sync per request, the request id in the environment overrides', () => {
    const run = asl.States.EachRequest.ItemProcessor.States.RunRequest;
    expect(run).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::codebuild:startBuild.sync',
      Parameters: {
        ProjectName: `<${projectId('Request')}>`,
        EnvironmentVariablesOverride: [
          { Name: 'REPOGUARD_REQUEST_ID', Type: 'PLAINTEXT', 'Value.$': '$.request_id' },
          { Name: 'REPOGUARD_EXECUTION_ID', Type: 'PLAINTEXT', 'Value.$': '$.executionId' }
        ]
      },
      // The build's own 60 min limit ends it first; the state's limit is a backstop.
      TimeoutSeconds: 90 * 60,
      End: true
    });
    // Only refusals to start are retried; a build that ran and failed goes to the Catch.
    expect(run.Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: ['CodeBuild.AccountLimitExceededException', 'CodeBuild.CodeBuildException']
      })
    ]);
    expect(run.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'WhichFailure' }
    ]);
  });

  test('a failed or timed-out build is recorded error by a second build of the same project', () => {
    const states = asl.States.EachRequest.ItemProcessor.States;
    expect(states.BuildFailure.Parameters.failure).toEqual({
      'Error.$': '$.failure.Error',
      'BuildId.$': '$.failure.parsed.Build.Id',
      'BuildStatus.$': '$.failure.parsed.Build.BuildStatus',
      'TimeoutInMinutes.$': '$.failure.parsed.Build.TimeoutInMinutes'
    });
    expect(states.EncodeFailure.Next).toBe('RecordFailure');
    expect(states.RecordFailure).toMatchObject({
      Resource: 'arn:aws:states:::codebuild:startBuild.sync',
      Parameters: {
        ProjectName: `<${projectId('Request')}>`,
        EnvironmentVariablesOverride: expect.arrayContaining([
          { Name: 'REPOGUARD_CHILD_FAILURE', Type: 'PLAINTEXT', 'Value.$': '$.failure' }
        ])
      },
      End: true
    });
  });

  test('the request and list projects run the fan-out commands, standalone (no pipeline source)', () => {
    for (const [name, command] of [
      ['Request', 'repoguard-pipeline one --mode aws'],
      ['List', 'repoguard-pipeline list --mode aws']
    ]) {
      const props = template.toJSON().Resources[projectId(name)].Properties;
      expect(props.Source.Type).toBe('NO_SOURCE');
      expect(props.Artifacts.Type).toBe('NO_ARTIFACTS');
      expect(JSON.parse(props.Source.BuildSpec).phases.build.commands).toEqual([command]);
      expect(props.VpcConfig).toBeDefined();
    }
    const request = template.toJSON().Resources[projectId('Request')].Properties;
    expect(request.Environment).toMatchObject({
      PrivilegedMode: true,
      ComputeType: 'BUILD_GENERAL1_MEDIUM'
    });
    expect(request.TimeoutInMinutes).toBe(60);
    const list = template.toJSON().Resources[projectId('List')].Properties;
    expect(list.Environment.EnvironmentVariables).toEqual(
      expect.arrayContaining([{ Name: 'REPOGUARD_MAX_REQUESTS', Type: 'PLAINTEXT', Value: '200' }])
    );
  });
});

describe('fan-out: IAM scope', () => {
  const actionsOf = (role: string) =>
    statementsOfRole(template, roleId(role)).flatMap(s => asArray<string>(s.Action));

  test('the state machine may start only the two fan-out projects, and read only its bucket', () => {
    const role = logicalIdStartingWith(template, 'AWS::IAM::Role', 'FanOutStateMachineRole');
    const statements = statementsOfRole(template, role);
    const builds = statements.filter(s =>
      asArray<string>(s.Action).includes('codebuild:StartBuild')
    );
    const targets = builds.flatMap(s => asArray(s.Resource)).map(r => JSON.stringify(r));
    expect(targets.sort()).toEqual(
      [projectId('List'), projectId('Request')]
        .map(id => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }))
        .sort()
    );
    for (const s of statements) {
      for (const r of asArray(s.Resource))
        expect(
          r === '*' ? asArray<string>(s.Action).every(a => /^(xray|logs):/.test(a)) : true
        ).toBe(true);
    }
  });

  test('list writes items files only; a child reads the token, writes reports and mails; neither starts builds', () => {
    const list = statementsOfRole(template, roleId('List'));
    const puts = list.filter(s => asArray<string>(s.Action).some(a => a.startsWith('s3:Put')));
    expect(JSON.stringify(puts.map(s => s.Resource))).toContain('/fan-out/*');
    expect(actionsOf('List')).not.toContain('ses:SendEmail');
    expect(actionsOf('Request')).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf('Request')).toEqual(expect.arrayContaining(['ses:SendEmail']));
    for (const role of ['List', 'Request']) {
      expect(actionsOf(role)).not.toContain('codebuild:StartBuild');
      expect(actionsOf(role)).not.toContain('states:StartExecution');
    }
  });
});

describe('fan-out: triggers', () => {
  test('the pipeline starts the state machine on push (no single-build stages)', () => {
    const sm = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'FanOut');
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: [
        Match.objectLike({ Name: 'Source' }),
        Match.objectLike({
          Name: 'FanOut',
          Actions: [
            Match.objectLike({
              ActionTypeId: Match.objectLike({ Category: 'Invoke', Provider: 'StepFunctions' }),
              Configuration: Match.objectLike({ StateMachineArn: { Ref: sm } })
            })
          ]
        })
      ]
    });
  });

  test('an EventBridge Scheduler sweep starts it every hour, without a push', () => {
    const sm = logicalIdStartingWith(template, 'AWS::StepFunctions::StateMachine', 'FanOut');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Target: Match.objectLike({ Arn: { Ref: sm }, Input: '{"trigger":"sweep"}' })
    });
  });

  test('logs every event to an encrypted log group, traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false })
    });
  });
});

describe('fan-out: settings', () => {
  test('concurrency, tolerated failures, max per run and sweep come from CDK context', () => {
    const other = Template.fromStack(
      stackWith({
        fanOutMaxConcurrency: 25,
        fanOutToleratedFailurePercentage: '5',
        maxRequestsPerRun: 50,
        fanOutSweepMinutes: 15
      })
    );
    const map = definitionOf(other).States.EachRequest;
    expect(map.MaxConcurrency).toBe(25);
    expect(map.ToleratedFailurePercentage).toBe(5);
    expect(map.ItemReader.ReaderConfig.MaxItems).toBe(50);
    other.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)'
    });
  });

  test('a concurrency outside 1..10000 is refused with the field named', () => {
    expect(() => stackWith({ fanOutMaxConcurrency: 0 })).toThrow(
      /maxConcurrency: expected 1\.\.10000/
    );
    expect(() => stackWith({ maxRequestsPerRun: 'many' })).toThrow(
      /context "maxRequestsPerRun" must be a number/
    );
  });
});

describe('fan-out: cdk-nag', () => {
  test('the pipeline stack with the fan-out has no unsuppressed AwsSolutions finding', () => {
    const { app } = buildApp({}, { injectImage: true });
    app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const found = report.violations.flatMap(v =>
      v.violatingResources
        .filter(r => (r.constructPath ?? '').match(/FanOut|Stage/))
        .map(r => `${v.ruleName} @ ${r.constructPath}`)
    );
    expect(found).toEqual([]);
  });
});

/** A pipeline stack built with fan-out context keys. */
function stackWith(context: Record<string, unknown>): Stack {
  return buildApp(context, { injectImage: true }).stacks.pipeline;
}
