/**
 * Typed configuration of the RepoGuard CDK app, read from CDK context.
 *
 * Every key has an example default so that `npx cdk synth --all` works with no
 * context at all, offline, with no lookups and no credentials. Override keys in
 * `cdk.json`, in `cdk.context.json` or on the command line (`-c key=value`);
 * the README lists them all.
 */
import type { Environment } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { REQUESTS_FILE } from '../../src/common/contract';

/** How a push to the request repo starts the pipeline. */
export type TriggerKind = 'codeconnections' | 'webhook';

/** Where one stack is deployed. An empty account/region means environment-agnostic. */
export interface StackPlacement {
  /** @default - environment-agnostic (the CLI's current account) */
  readonly account?: string;
  /** @default - environment-agnostic (the CLI's current region) */
  readonly region?: string;
}

/** The whole app's configuration. */
export interface RepoGuardConfig {
  /** Prefix of every physical name (roles, pipeline, repositories). @default 'repoguard' */
  readonly prefix: string;
  /** Networking account (egress VPC, NAT, endpoints). */
  readonly network: StackPlacement;
  /** InfoSec / shared-services account (pipeline, artifact store, token). */
  readonly pipeline: StackPlacement;
  /** Account of the SES identity. @default the pipeline placement */
  readonly notification: StackPlacement;
  /** Data-science account of the optional Studio domain. @default the network placement */
  readonly studio: StackPlacement;
  /** Availability zones of the egress VPC; avoids any lookup. @default `<region>a,<region>b`, or Fn::GetAZs when the region is agnostic */
  readonly availabilityZones?: string[];
  /** CIDR of the egress VPC. @default '10.40.0.0/22' */
  readonly vpcCidr: string;
  /** Existing (shared through AWS RAM) VPC used when the pipeline's account is not the network's. */
  readonly sharedVpc?: SharedVpcConfig;
  /** GitHub organisation that receives the private repositories. @default 'example-org' */
  readonly githubOrg: string;
  /** `owner/name` of the private request repo. @default 'example-org/repoguard-requests' */
  readonly requestRepo: string;
  /** Branch of the request repo. @default 'main' */
  readonly requestBranch: string;
  /** Request file whose changes start the pipeline; only the contract's file name is accepted. @default 'external-package-request.csv' */
  readonly requestFile: string;
  /** `codeconnections` (recommended) or `webhook` (the original sample's GitHub webhook). @default 'codeconnections' */
  readonly trigger: TriggerKind;
  /** An existing CodeConnections connection ARN. @default - the stack creates one (authorize it once in the console) */
  readonly connectionArn?: string;
  /** An existing Secrets Manager secret holding the GitHub token as JSON `{"token": "..."}`; required with the webhook trigger. @default - the stack creates one */
  readonly githubTokenSecretArn?: string;
  /** A full image URI for the CodeBuild stages. @default - `<prefix>-scanner:<scannerImageTag>` in an ECR repository of the pipeline stack */
  readonly scannerImageUri?: string;
  /** Tag of the scanner image in the stack's ECR repository. @default '0.1.0' */
  readonly scannerImageTag: string;
  /** SES identity: a domain (`example.com`) or an address. @default 'example.com' */
  readonly sesIdentity: string;
  /** The only From address the notify stage may use. @default 'repoguard@example.com' */
  readonly mailFrom: string;
  /** Optional address subscribed to failed-execution notifications. @default - none */
  readonly alertEmail?: string;
  /**
   * InfoSec's address: the re-scan mails every revocation to it as well as to the requester
   * (`REPOGUARD_INFOSEC_EMAIL` of the re-scan project). @default - none (the requester only)
   */
  readonly infosecEmail?: string;
  /** Retention of every log group, in days. @default 90 */
  readonly logRetentionDays: number;
  /** Whether the Studio stack is part of the app. @default false */
  readonly enableStudio: boolean;
  /** pip requirement installed by the Studio lifecycle configuration. @default 'repoguard==0.1.0' */
  readonly studioInstallSpec: string;
  /**
   * When the re-scan of every approved commit runs: an EventBridge Scheduler
   * expression, `rate(N minutes|hours|days)` (at least an hour) or
   * `cron(min hour day-of-month month day-of-week year)`. @default 'rate(1 day)'
   */
  readonly rescanSchedule: string;
}

/** A VPC of the networking account shared with this account through AWS RAM. */
export interface SharedVpcConfig {
  readonly vpcId: string;
  readonly privateSubnetIds: string[];
  readonly availabilityZones: string[];
  readonly vpcCidr: string;
}

/** Retention values that CloudWatch Logs accepts. */
const VALID_RETENTION = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653
];

/** Example defaults, used when a key is absent from the context. */
export const DEFAULTS = {
  prefix: 'repoguard',
  vpcCidr: '10.40.0.0/22',
  githubOrg: 'example-org',
  requestRepo: 'example-org/repoguard-requests',
  requestBranch: 'main',
  requestFile: REQUESTS_FILE,
  trigger: 'codeconnections' as TriggerKind,
  scannerImageTag: '0.1.0',
  sesIdentity: 'example.com',
  mailFrom: 'repoguard@example.com',
  logRetentionDays: 90,
  enableStudio: false,
  studioInstallSpec: 'repoguard==0.1.0',
  rescanSchedule: 'rate(1 day)'
} as const;

/** One address, nothing around it (no list, no display name, no header-breaking characters). */
const EMAIL = /^[^@\s,;<>"']+@[^@\s,;<>"']+\.[^@\s,;<>"']+$/;

/** Raised on an invalid context value, naming the key. */
export class ConfigError extends Error {}

type Getter = (key: string) => unknown;

function str(get: Getter, key: string): string | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ConfigError(`context "${key}" must be a string`);
  }
  return String(value);
}

function list(get: Getter, key: string): string[] | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') {
    return value
      .split(',')
      .map(s => s.trim())
      .filter(Boolean);
  }
  throw new ConfigError(`context "${key}" must be a list or a comma-separated string`);
}

function bool(get: Getter, key: string, fallback: boolean): boolean {
  const value = get(key);
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(`context "${key}" must be true or false`);
}

function placement(get: Getter, name: string, fallback?: StackPlacement): StackPlacement {
  const account = str(get, `${name}Account`) ?? fallback?.account;
  const region = str(get, `${name}Region`) ?? fallback?.region;
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new ConfigError(`context "${name}Account" must be a 12-digit AWS account id`);
  }
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new ConfigError(`context "${name}Region" is not an AWS region name`);
  }
  return { account, region };
}

/**
 * Validates a recurring EventBridge Scheduler expression (a one-time `at(...)`
 * would re-scan once and never again). `rate` needs a whole number of
 * minutes, hours or days, at least one hour (one small build per run);
 * `cron` needs its six fields.
 */
export function validRescanSchedule(expression: string): string {
  const text = expression.trim();
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(text);
  if (rate) {
    const n = Number(rate[1]);
    const minutes = n * (rate[2].startsWith('minute') ? 1 : rate[2].startsWith('hour') ? 60 : 1440);
    if (n < 1 || minutes < 60) {
      throw new ConfigError(
        `context "rescanSchedule": ${JSON.stringify(expression)} is more often than once an hour; every run re-checks every approved commit`
      );
    }
    return text;
  }
  const cron = /^cron\(([^()]+)\)$/.exec(text);
  if (cron && cron[1].trim().split(/\s+/).length === 6) return text;
  throw new ConfigError(
    `context "rescanSchedule" must be an EventBridge Scheduler expression such as "rate(1 day)" or ` +
      `"cron(0 4 * * ? *)" (six fields), got ${JSON.stringify(expression)}`
  );
}

/** Reads and validates the configuration from a construct node's context (usually the App's). */
export function loadConfig(node: Pick<Node, 'tryGetContext'>): RepoGuardConfig {
  const get: Getter = key => node.tryGetContext(key);
  const network = placement(get, 'network');
  const pipeline = placement(get, 'pipeline');
  const notification = placement(get, 'notification', pipeline);
  const studio = placement(get, 'studio', network);

  const trigger = (str(get, 'trigger') ?? DEFAULTS.trigger) as TriggerKind;
  if (trigger !== 'codeconnections' && trigger !== 'webhook') {
    throw new ConfigError('context "trigger" must be "codeconnections" or "webhook"');
  }
  const logRetentionDays = Number(str(get, 'logRetentionDays') ?? DEFAULTS.logRetentionDays);
  if (!VALID_RETENTION.includes(logRetentionDays)) {
    throw new ConfigError(
      `context "logRetentionDays" must be one of ${VALID_RETENTION.join(', ')}`
    );
  }
  const requestRepo = str(get, 'requestRepo') ?? DEFAULTS.requestRepo;
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(requestRepo)) {
    throw new ConfigError('context "requestRepo" must be "owner/name"');
  }
  const requestFile = str(get, 'requestFile') ?? DEFAULTS.requestFile;
  if (requestFile !== DEFAULTS.requestFile) {
    // The trigger filter and the ledger must name the same file; the row contract fixes it.
    throw new ConfigError(
      `context "requestFile" must be ${DEFAULTS.requestFile}: the pipeline's ledger reads that file (src/common contract)`
    );
  }
  const githubTokenSecretArn = str(get, 'githubTokenSecretArn');
  if (trigger === 'webhook' && !githubTokenSecretArn) {
    throw new ConfigError(
      'context "githubTokenSecretArn" is required with trigger=webhook: the webhook is registered with the ' +
        'token at deploy time, so the secret (JSON {"token": "..."}) must hold it before the first deploy'
    );
  }
  const mailFrom = str(get, 'mailFrom') ?? DEFAULTS.mailFrom;
  const sesIdentity = str(get, 'sesIdentity') ?? DEFAULTS.sesIdentity;
  if (!/^[^@\s]+@[^@\s]+$/.test(mailFrom))
    throw new ConfigError('context "mailFrom" must be an email address');
  const infosecEmail = str(get, 'infosecEmail')?.trim();
  if (infosecEmail !== undefined && !EMAIL.test(infosecEmail)) {
    throw new ConfigError(
      `context "infosecEmail" must be one email address (InfoSec's, mailed on every revocation), got ${JSON.stringify(infosecEmail)}`
    );
  }
  const identityDomain = sesIdentity.includes('@') ? undefined : sesIdentity.toLowerCase();
  if (
    identityDomain
      ? !mailFrom.toLowerCase().endsWith(`@${identityDomain}`)
      : mailFrom.toLowerCase() !== sesIdentity.toLowerCase()
  ) {
    throw new ConfigError(
      'context "mailFrom" must belong to "sesIdentity" (the address itself, or an address of the domain)'
    );
  }

  let sharedVpc: SharedVpcConfig | undefined;
  const sharedVpcId = str(get, 'sharedVpcId');
  if (sharedVpcId) {
    const privateSubnetIds = list(get, 'sharedPrivateSubnetIds') ?? [];
    const azs = list(get, 'sharedAvailabilityZones') ?? [];
    if (privateSubnetIds.length === 0 || privateSubnetIds.length !== azs.length) {
      throw new ConfigError(
        '"sharedPrivateSubnetIds" and "sharedAvailabilityZones" must list one zone per subnet'
      );
    }
    sharedVpc = {
      vpcId: sharedVpcId,
      privateSubnetIds,
      availabilityZones: azs,
      vpcCidr: str(get, 'sharedVpcCidr') ?? DEFAULTS.vpcCidr
    };
  }

  const config: RepoGuardConfig = {
    prefix: str(get, 'prefix') ?? DEFAULTS.prefix,
    network,
    pipeline,
    notification,
    studio,
    availabilityZones:
      list(get, 'availabilityZones') ??
      (network.region ? [`${network.region}a`, `${network.region}b`] : undefined),
    vpcCidr: str(get, 'vpcCidr') ?? DEFAULTS.vpcCidr,
    sharedVpc,
    githubOrg: str(get, 'githubOrg') ?? DEFAULTS.githubOrg,
    requestRepo,
    requestBranch: str(get, 'requestBranch') ?? DEFAULTS.requestBranch,
    requestFile,
    trigger,
    connectionArn: str(get, 'connectionArn'),
    githubTokenSecretArn,
    scannerImageUri: str(get, 'scannerImageUri'),
    scannerImageTag: str(get, 'scannerImageTag') ?? DEFAULTS.scannerImageTag,
    sesIdentity,
    mailFrom,
    alertEmail: str(get, 'alertEmail'),
    infosecEmail,
    logRetentionDays,
    enableStudio: bool(get, 'enableStudio', DEFAULTS.enableStudio),
    studioInstallSpec: str(get, 'studioInstallSpec') ?? DEFAULTS.studioInstallSpec,
    rescanSchedule: validRescanSchedule(str(get, 'rescanSchedule') ?? DEFAULTS.rescanSchedule)
  };

  const explicit = [
    config.network,
    config.notification,
    ...(config.enableStudio ? [config.studio] : [])
  ].some(p => p.account);
  if (explicit && !config.pipeline.account) {
    throw new ConfigError(
      'give "pipelineAccount" when any other stack has an explicit account (cross-account roles name it)'
    );
  }
  if (!sameAccount(config.network, config.pipeline) && !config.sharedVpc) {
    throw new ConfigError(
      'the pipeline account differs from the network account: deploy the network stack first, then give ' +
        '"sharedVpcId", "sharedPrivateSubnetIds" and "sharedAvailabilityZones" (the VPC it shares with the pipeline account)'
    );
  }
  if (config.pipeline.region !== config.network.region) {
    throw new ConfigError(
      '"pipelineRegion" must equal "networkRegion": CodeBuild runs in the egress VPC'
    );
  }
  return config;
}

/** The CDK environment of a placement. */
export function envOf(p: StackPlacement): Environment {
  return { account: p.account, region: p.region };
}

/** True when two placements are the same account (both agnostic counts as the same). */
export function sameAccount(a: StackPlacement, b: StackPlacement): boolean {
  return (a.account ?? '') === (b.account ?? '');
}
