/** Shared test setup: build the app from cdk.json's flags plus test context, with an injected build image. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildRepoGuardApp, type RepoGuardStacks } from '../lib/app';
import { loadConfig } from '../lib/config';

/** The feature flags and context of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** A registry image: no Docker build, no asset bundling (STYLE rule 20). */
export const TEST_IMAGE = 'public.ecr.aws/example/repoguard-scanner:test';

export interface Built {
  readonly app: App;
  readonly stacks: RepoGuardStacks;
}

/**
 * Builds the whole app. By default the stack's own ECR repository provides the
 * image (a reference only, nothing is built); `injectImage` passes a registry image.
 */
export function buildApp(
  context: Record<string, unknown> = {},
  options: { injectImage?: boolean; nag?: boolean } = {}
): Built {
  const app = new App({ context: { ...cdkJsonContext(), ...context }, analyticsReporting: false });
  const stacks = buildRepoGuardApp(app, loadConfig(app.node), {
    buildImage: options.injectImage
      ? codebuild.LinuxBuildImage.fromDockerRegistry(TEST_IMAGE)
      : undefined,
    nag: options.nag ?? false
  });
  return { app, stacks };
}

/** Every resource of a type, as [logicalId, resource] pairs. */
export function resourcesOf(
  template: Template,
  type: string
): Array<[string, { Properties?: Record<string, any> }]> {
  return Object.entries(template.findResources(type));
}

/** The IAM statements of every AWS::IAM::Policy / inline policy attached to a role logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): any[] {
  const statements: any[] = [];
  for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties?.Roles ?? []) as any[];
    if (roles.some(r => r?.Ref === roleLogicalId))
      statements.push(...policy.Properties!.PolicyDocument.Statement);
  }
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  for (const inline of role?.Properties?.Policies ?? [])
    statements.push(...inline.PolicyDocument.Statement);
  return statements;
}

/** The logical id of the single resource of a type whose path-derived id starts with a prefix. */
export function logicalIdStartingWith(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter(id => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(
      `expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`
    );
  return ids[0];
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A placement over four accounts: network, pipeline (InfoSec), notification, Studio (data science). */
export const MULTI_ACCOUNT = {
  networkAccount: '111111111111',
  networkRegion: 'eu-west-1',
  pipelineAccount: '222222222222',
  pipelineRegion: 'eu-west-1',
  notificationAccount: '333333333333',
  notificationRegion: 'eu-west-1',
  studioAccount: '444444444444',
  studioRegion: 'eu-west-1',
  enableStudio: true,
  sharedVpcId: 'vpc-0123456789abcdef0',
  sharedPrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2',
  sharedAvailabilityZones: 'eu-west-1a,eu-west-1b'
};
