import { Aspects, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type Node } from 'constructs';
import { acknowledgeKnownWildcards, type WildcardReason } from '../nag';
import type { ScanProject } from './scan-project';

/** Tunables of the fan-out (CDK context keys of the same names, see lib/config.ts and the README). */
export interface FanOutSettings {
  /** Child builds running at once (Distributed Map MaxConcurrency). @default 10 */
  readonly maxConcurrency?: number;
  /**
   * Share of children that may fail before the whole run is marked failed. A
   * failed child still has its request recorded `error` by the Catch, so this
   * only counts children whose failure could not even be recorded. @default 10
   */
  readonly toleratedFailurePercentage?: number;
  /** At most this many requests per run; the rest stay pending for the next run or sweep. @default 200 */
  readonly maxRequestsPerRun?: number;
  /** Time limit of one request's build (clone + every scanner + record). @default 60 minutes */
  readonly requestTimeout?: Duration;
  /** How often the sweep starts a run without a push. @default 1 hour */
  readonly sweepEvery?: Duration;
}

export interface FanOutProps extends FanOutSettings {
  /** Physical name prefix. */
  readonly prefix: string;
  /** Makes a CodeBuild project like the pipeline's stages (VPC, image, key, log group, environment). */
  readonly newProject: (
    name: 'list' | 'request',
    options: {
      timeout: Duration;
      computeType?: codebuild.ComputeType;
      privileged?: boolean;
      env?: Record<string, string>;
    }
  ) => ScanProject;
  /** The GitHub token both projects read (request repo, clone, publish). */
  readonly tokenSecret: secretsmanager.ISecret;
  /** Reports written by each child. */
  readonly reportBucket: s3.IBucket;
  /** Bucket of the items files (`fan-out/<execution>/items.json`). */
  readonly itemsBucket: s3.IBucket;
  /** Statement that lets a child send its mail (SES identity, or assuming the sender role). */
  readonly mailStatement: iam.PolicyStatement;
  /** Environment of a child beyond the common one (e.g. the SES configuration set). */
  readonly requestEnvironment?: Record<string, string>;
  /** Key of the logs. */
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/** CDK context keys of the fan-out settings (`-c fanOutMaxConcurrency=20`, or cdk.json). */
export const FAN_OUT_CONTEXT = {
  maxConcurrency: 'fanOutMaxConcurrency',
  toleratedFailurePercentage: 'fanOutToleratedFailurePercentage',
  maxRequestsPerRun: 'maxRequestsPerRun',
  requestTimeoutMinutes: 'fanOutRequestTimeoutMinutes',
  sweepEveryMinutes: 'fanOutSweepMinutes'
} as const;

/** The fan-out settings given as CDK context (numbers, or strings from `-c`); a bad value names its key. */
export function fanOutSettingsFromContext(node: Node): FanOutSettings {
  const num = (key: string): number | undefined => {
    const raw: unknown = node.tryGetContext(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      throw new Error(`context "${key}" must be a number, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const timeout = num(FAN_OUT_CONTEXT.requestTimeoutMinutes);
  const sweep = num(FAN_OUT_CONTEXT.sweepEveryMinutes);
  return {
    maxConcurrency: num(FAN_OUT_CONTEXT.maxConcurrency),
    toleratedFailurePercentage: num(FAN_OUT_CONTEXT.toleratedFailurePercentage),
    maxRequestsPerRun: num(FAN_OUT_CONTEXT.maxRequestsPerRun),
    requestTimeout: timeout === undefined ? undefined : Duration.minutes(timeout),
    sweepEvery: sweep === undefined ? undefined : Duration.minutes(sweep)
  };
}

/** S3 prefix of the items files. */
export const ITEMS_PREFIX = 'fan-out/';

/** The wildcards of the fan-out's grants, and why each is acceptable (cdk-nag AwsSolutions-IAM5). */
export const FAN_OUT_WILDCARDS: WildcardReason[] = [
  {
    pattern: /^Resource::arn:<AWS::Partition>:s3:::<StoreArtifacts[0-9A-F]{8}>\/\*$/,
    reason:
      "The Distributed Map's S3 item reader reads this run's items file; CDK grants the item reader the objects of the pipeline's own artifact bucket (the key is per execution)."
  },
  {
    pattern: /^Resource::<StoreArtifacts[0-9A-F]{8}\.Arn>\/fan-out\/\*$/,
    reason: 'The list build writes fan-out/<execution>/items.json: only under the fan-out prefix.'
  },
  {
    pattern: /^Resource::arn:.*:states:.*:execution:.*FanOutStateMachine[0-9A-F]{8}.*:(\*|push\*)$/,
    reason:
      "Executions of this state machine only (their names are generated): the Distributed Map starts, watches and stops its own child executions; the pipeline's action watches the execution it started."
  }
];

/**
 * The AWS fan-out: a Step Functions state machine that lists the pending
 * requests into an items file on S3 (`repoguard-pipeline list`, at most
 * `maxRequestsPerRun`), then a Distributed Map reads that file and starts one
 * CodeBuild build per request (`codebuild:startBuild.sync`, the request id in
 * the environment overrides), `maxConcurrency` at a time. Each child runs the
 * same per-request stage code as the embedded runner (`repoguard-pipeline
 * one`): clone, scan, decide, publish, record, notify of its own request. A
 * child whose build fails or times out is caught and a second, short build of
 * the same project records the request `error` with the build's status as
 * the reason; one child never blocks another. Started by the pipeline on a
 * push and by an EventBridge Scheduler sweep, so leftovers (beyond the
 * run's max, or of a run that died) are picked up without a push; every step
 * is idempotent (see pipeline/src/stages/process-request.ts).
 */
export class FanOut extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly list: ScanProject;
  public readonly request: ScanProject;
  public readonly sweep: scheduler.Schedule;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? 10;
    const tolerated = props.toleratedFailurePercentage ?? 10;
    const maxRequests = props.maxRequestsPerRun ?? 200;
    const requestTimeout = props.requestTimeout ?? Duration.minutes(60);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 10000) {
      throw new Error(`fan-out maxConcurrency: expected 1..10000, got ${maxConcurrency}`);
    }
    if (!(tolerated >= 0 && tolerated <= 100)) {
      throw new Error(`fan-out toleratedFailurePercentage: expected 0..100, got ${tolerated}`);
    }
    if (!Number.isInteger(maxRequests) || maxRequests < 1) {
      throw new Error(
        `fan-out maxRequestsPerRun: expected a whole number >= 1, got ${maxRequests}`
      );
    }

    this.list = props.newProject('list', {
      timeout: Duration.minutes(15),
      env: {
        REPOGUARD_ITEMS_BUCKET: props.itemsBucket.bucketName,
        REPOGUARD_MAX_REQUESTS: String(maxRequests)
      }
    });
    this.request = props.newProject('request', {
      timeout: requestTimeout,
      computeType: codebuild.ComputeType.MEDIUM,
      privileged: true,
      env: { REPOGUARD_OSV_ONLINE: '1', ...(props.requestEnvironment ?? {}) }
    });
    // Least privilege: list reads the request repo and writes items files only; a child reads
    // the token, writes reports and sends mail; neither can start builds or executions.
    props.tokenSecret.grantRead(this.list.role);
    props.itemsBucket.grantPut(this.list.role, `${ITEMS_PREFIX}*`);
    props.tokenSecret.grantRead(this.request.role);
    props.reportBucket.grantReadWrite(this.request.role);
    this.request.role.addToPolicy(props.mailStatement);

    const itemsKey = "States.Format('" + ITEMS_PREFIX + "{}/items.json', $$.Execution.Name)";
    const prepare = new sfn.Pass(this, 'Prepare', {
      comment: 'Name the items file of this run after the execution.',
      parameters: {
        'itemsKey.$': itemsKey,
        'executionId.$': '$$.Execution.Name'
      }
    });
    const listPending = new tasks.CodeBuildStartBuild(this, 'ListPending', {
      comment: `Write the ids of at most ${maxRequests} pending requests to the items file.`,
      project: this.list.project,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      environmentVariablesOverride: {
        REPOGUARD_ITEMS_KEY: {
          type: codebuild.BuildEnvironmentVariableType.PLAINTEXT,
          value: sfn.JsonPath.stringAt('$.itemsKey')
        },
        REPOGUARD_EXECUTION_ID: {
          type: codebuild.BuildEnvironmentVariableType.PLAINTEXT,
          value: sfn.JsonPath.stringAt('$.executionId')
        }
      },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(30))
    });

    const childEnv = (extra: Record<string, string> = {}) => ({
      REPOGUARD_REQUEST_ID: {
        type: codebuild.BuildEnvironmentVariableType.PLAINTEXT,
        value: sfn.JsonPath.stringAt('$.request_id')
      },
      REPOGUARD_EXECUTION_ID: {
        type: codebuild.BuildEnvironmentVariableType.PLAINTEXT,
        value: sfn.JsonPath.stringAt('$.executionId')
      },
      ...Object.fromEntries(
        Object.entries(extra).map(([name, path]) => [
          name,
          {
            type: codebuild.BuildEnvironmentVariableType.PLAINTEXT,
            value: sfn.JsonPath.stringAt(path)
          }
        ])
      )
    });
    // The state's own limit: the build's timeout, its queue time and a margin; the build
    // itself ends TIMED_OUT first in every normal case.
    const taskTimeout = sfn.Timeout.duration(requestTimeout.plus(Duration.minutes(30)));
    const runRequest = new tasks.CodeBuildStartBuild(this, 'RunRequest', {
      comment: 'One build per request: clone, scan, decide, publish, record, notify.',
      project: this.request.project,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      environmentVariablesOverride: childEnv(),
      resultSelector: { 'buildId.$': '$.Build.Id', 'status.$': '$.Build.BuildStatus' },
      resultPath: '$.build',
      taskTimeout
    });
    // Only a refusal to start (quota, throttling) is retried; a build that ran and failed is recorded.
    runRequest.addRetry({
      errors: ['CodeBuild.AccountLimitExceededException', 'CodeBuild.CodeBuildException'],
      interval: Duration.seconds(30),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL
    });

    // The failure, small enough for an environment variable: CodeBuild's Cause is the build as
    // JSON; keep its id, status and time limit (any other failure: the error name).
    const ids = { 'request_id.$': '$.request_id', 'executionId.$': '$.executionId' };
    const parseCause = new sfn.Pass(this, 'ParseCause', {
      parameters: {
        ...ids,
        failure: {
          'Error.$': '$.failure.Error',
          'parsed.$': 'States.StringToJson($.failure.Cause)'
        }
      }
    });
    const slimBuild = new sfn.Pass(this, 'BuildFailure', {
      parameters: {
        ...ids,
        failure: {
          'Error.$': '$.failure.Error',
          'BuildId.$': '$.failure.parsed.Build.Id',
          'BuildStatus.$': '$.failure.parsed.Build.BuildStatus',
          'TimeoutInMinutes.$': '$.failure.parsed.Build.TimeoutInMinutes'
        }
      }
    });
    const slimError = new sfn.Pass(this, 'OtherFailure', {
      parameters: { ...ids, failure: { 'Error.$': '$.failure.Error' } }
    });
    const encode = new sfn.Pass(this, 'EncodeFailure', {
      parameters: { ...ids, 'failure.$': 'States.JsonToString($.failure)' }
    });
    const recordFailure = new tasks.CodeBuildStartBuild(this, 'RecordFailure', {
      comment: 'Record the request `error` with the failed build as the reason (and mail it).',
      project: this.request.project,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      environmentVariablesOverride: childEnv({ REPOGUARD_CHILD_FAILURE: '$.failure' }),
      resultSelector: { 'buildId.$': '$.Build.Id', 'status.$': '$.Build.BuildStatus' },
      resultPath: '$.recorded',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(30))
    });
    recordFailure.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(60),
      backoffRate: 2,
      maxAttempts: 2
    });
    encode.next(recordFailure);
    slimBuild.next(encode);
    slimError.next(encode);
    const hasBuild = new sfn.Choice(this, 'HasBuild')
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.failure.parsed.Build.BuildStatus'),
          sfn.Condition.isPresent('$.failure.parsed.Build.TimeoutInMinutes')
        ),
        slimBuild
      )
      .otherwise(slimError);
    const whichFailure = new sfn.Choice(this, 'WhichFailure')
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.failure.Cause'),
          sfn.Condition.stringMatches('$.failure.Cause', '{*')
        ),
        parseCause.next(hasBuild)
      )
      .otherwise(slimError);
    runRequest.addCatch(whichFailure, { errors: ['States.ALL'], resultPath: '$.failure' });

    const map = new sfn.DistributedMap(this, 'EachRequest', {
      comment: `One child build per pending request, ${maxConcurrency} at a time.`,
      maxConcurrency,
      toleratedFailurePercentage: tolerated,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      itemReader: new sfn.S3JsonItemReader({
        bucket: props.itemsBucket,
        key: sfn.JsonPath.stringAt('$.itemsKey'),
        maxItems: maxRequests
      }),
      itemSelector: {
        'request_id.$': '$$.Map.Item.Value.request_id',
        'executionId.$': '$.executionId'
      },
      resultPath: sfn.JsonPath.DISCARD,
      label: 'EachRequest'
    });
    map.itemProcessor(runRequest);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${props.prefix}-fan-out`,
      comment: 'RepoGuard: one CodeBuild build per pending request',
      definitionBody: sfn.DefinitionBody.fromChainable(prepare.next(listPending).next(map)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      // Above the longest run: ceil(maxRequests / maxConcurrency) waves of a request's limit.
      timeout: Duration.minutes(
        (requestTimeout.toMinutes() + 30) * Math.ceil(maxRequests / maxConcurrency) + 60
      )
    });

    // X-Ray and log delivery (tracing, logging) support no resource-level permission.
    const smPolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (smPolicy) {
      Validations.of(smPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only X-Ray tracing and CloudWatch Logs delivery actions (xray:PutTraceSegments, xray:GetSampling*, logs:*LogDelivery, logs:Describe*) use "*": they support no resource-level permission.'
      });
    }
    // The pipeline's action role is created after this construct: acknowledge once the stack is complete.
    const stack = Stack.of(this);
    Aspects.of(stack).add({
      visit: node => {
        if (node === stack) acknowledgeKnownWildcards(stack, FAN_OUT_WILDCARDS);
      }
    });

    this.sweep = new scheduler.Schedule(this, 'Sweep', {
      description: 'RepoGuard fan-out sweep: takes pending requests left without a push',
      schedule: scheduler.ScheduleExpression.rate(props.sweepEvery ?? Duration.hours(1)),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'sweep' }),
        retryAttempts: 2
      })
    });
  }
}
