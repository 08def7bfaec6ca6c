import { AwsSolutionsChecks } from 'cdk-nag';
import type { App } from 'aws-cdk-lib';
import { buildApp } from './helpers';

/** Unsuppressed findings of the AwsSolutions pack, as "rule @ path" lines (readable on failure). */
function findings(app: App): string[] {
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap(v => v.violatingResources.map(r => `${v.ruleName} @ ${r.constructPath}`));
}

describe('cdk-nag AwsSolutions', () => {
  test('the default app (no context) has no unsuppressed finding', () => {
    expect(findings(buildApp().app)).toEqual([]);
  });

  test('webhook trigger, Studio enabled, alerts by mail: no unsuppressed finding', () => {
    const { app } = buildApp({ trigger: 'webhook', enableStudio: true, alertEmail: 'infosec@example.com' });
    expect(findings(app)).toEqual([]);
  });

  test('multi-account placement: no unsuppressed finding', () => {
    const { app } = buildApp(MULTI_ACCOUNT);
    expect(findings(app)).toEqual([]);
  });
});

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
  sharedAvailabilityZones: 'eu-west-1a,eu-west-1b',
};
