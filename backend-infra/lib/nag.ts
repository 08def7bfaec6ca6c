/**
 * cdk-nag v3 acknowledgements for IAM wildcards that CDK's own grants produce
 * (bucket/key grants, CodeBuild's log and report-group permissions, VPC ENI
 * permissions). Each acknowledgement is placed on the policy resource that
 * carries the wildcard, with a reason; a wildcard that matches no known
 * pattern is left unacknowledged, so the nag test fails on anything new.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** A known wildcard and why it is acceptable. */
export interface WildcardReason {
  /** Matches the finding after `AwsSolutions-IAM5[` (e.g. `Action::s3:GetObject*`). */
  readonly pattern: RegExp;
  readonly reason: string;
}

const PARTITION = '(?:<AWS::Partition>|aws[a-z-]*)';
const REGION = '(?:<AWS::Region>|[a-z0-9-]+)';
const ACCOUNT = '(?:<AWS::AccountId>|\\d{12})';

/** Reasons shared by every pipeline policy. */
export const GRANT_WILDCARDS: WildcardReason[] = [
  {
    pattern:
      /^Action::(s3:(GetObject\*|GetBucket\*|List\*|DeleteObject\*|Abort\*)|kms:(GenerateDataKey\*|ReEncrypt\*|Encrypt\*|Decrypt\*|Describe\*))$/,
    reason:
      "Action groups of CDK grants (bucket read/write, key use); every such statement names only this stack's own bucket or key."
  },
  {
    pattern: /^Resource::<Store(Artifacts|Reports)[0-9A-F]{8}\.Arn>\/\*$/,
    reason:
      "Objects of this pipeline's own artifact or report bucket; object keys are per execution and cannot be listed ahead."
  },
  {
    pattern:
      /^Resource::(<StoreReports[0-9A-F]{8}\.Arn>|[a-z0-9-]+-report-bucket-arn)\/(inbox|reports)\/\*$/,
    reason:
      'The request inbox (one object per request, named by its id) and the reports (one folder per request) of the report bucket: keys are made per request.'
  },
  {
    pattern: new RegExp(
      `^Resource::arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:\\/aws\\/codebuild\\/<[A-Za-z0-9]+>:\\*$`
    ),
    reason: "CodeBuild's default log stream permission, limited to this project's own log group."
  },
  {
    pattern: new RegExp(
      `^Resource::arn:${PARTITION}:codebuild:${REGION}:${ACCOUNT}:report-group\\/<[A-Za-z0-9]+>-\\*$`
    ),
    reason: "CodeBuild's test-report permission, limited to report groups named after this project."
  },
  {
    pattern: new RegExp(
      `^Resource::arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:network-interface\\/\\*$`
    ),
    reason:
      'VPC-attached CodeBuild creates ENIs with generated ids; the permission is conditioned on our subnets and the CodeBuild service.'
  }
];

/** `Resource::*` is acceptable only for actions that support no resource-level permission. */
const RESOURCE_STAR_ONLY_FOR = new Set([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeVpcs',
  'ecr:GetAuthorizationToken'
]);

/** Acknowledges the known wildcards of every IAM policy under `scope`. */
export function acknowledgeKnownWildcards(scope: IConstruct, extra: WildcardReason[] = []): void {
  const known = [...GRANT_WILDCARDS, ...extra];
  for (const node of scope.node.findAll()) {
    if (!(node instanceof iam.CfnPolicy) && !(node instanceof iam.CfnRole)) continue;
    const documents = policyDocuments(node);
    for (const finding of wildcardFindings(documents)) {
      const match = known.find(k => k.pattern.test(finding));
      if (match) {
        Validations.of(node).acknowledge({
          id: `AwsSolutions-IAM5[${finding}]`,
          reason: match.reason
        });
      } else if (finding === 'Resource::*' && starActionsAreUnscopable(documents)) {
        Validations.of(node).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: `Only actions without resource-level permissions use "*": ${[...RESOURCE_STAR_ONLY_FOR].join(', ')}.`
        });
      }
    }
  }
}

function policyDocuments(node: CfnResource): any[] {
  const stack = Stack.of(node);
  if (node instanceof iam.CfnPolicy) return [stack.resolve(node.policyDocument)];
  const inline = (stack.resolve((node as iam.CfnRole).policies) ?? []) as any[];
  return inline.map(p => stack.resolve(p.policyDocument));
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function wildcardFindings(documents: any[]): Set<string> {
  const findings = new Set<string>();
  for (const doc of documents) {
    for (const st of doc?.Statement ?? []) {
      if (st.Effect !== 'Allow') continue;
      for (const action of asArray<string>(st.Action))
        if (action.includes('*')) findings.add(`Action::${action}`);
      for (const resource of asArray(st.Resource)) {
        const flat = flattenCfnReference(resource);
        if (flat.includes('*')) findings.add(`Resource::${flat}`);
      }
    }
  }
  return findings;
}

function starActionsAreUnscopable(documents: any[]): boolean {
  for (const doc of documents) {
    for (const st of doc?.Statement ?? []) {
      if (st.Effect !== 'Allow' || !asArray(st.Resource).includes('*')) continue;
      if (!asArray<string>(st.Action).every(a => RESOURCE_STAR_ONLY_FOR.has(a))) return false;
    }
  }
  return true;
}

/** Exported for the tests: the actions allowed on `Resource: *`. */
export const UNSCOPABLE_ACTIONS: ReadonlySet<string> = RESOURCE_STAR_ONLY_FOR;
