import { AwsSolutionsChecks } from 'cdk-nag';
import { Stack, Validations, type App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, MULTI_ACCOUNT } from './helpers';

/** Unsuppressed findings of the AwsSolutions pack, as "rule @ path" lines (readable on failure). */
function findings(app: App): string[] {
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap(v =>
    v.violatingResources.map(r => `${v.ruleName} @ ${r.constructPath}`)
  );
}

describe('cdk-nag AwsSolutions', () => {
  test('the default app (no context) has no unsuppressed finding', () => {
    expect(findings(buildApp().app)).toEqual([]);
  });

  test('webhook trigger, Studio enabled, alerts by mail: no unsuppressed finding', () => {
    const { app } = buildApp({
      trigger: 'webhook',
      githubTokenSecretArn:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:repoguard/github-token-AbCdEf',
      enableStudio: true,
      alertEmail: 'infosec@example.com'
    });
    expect(findings(app)).toEqual([]);
  });

  test('multi-account placement: no unsuppressed finding', () => {
    const { app } = buildApp(MULTI_ACCOUNT);
    expect(findings(app)).toEqual([]);
  });
});

describe('acknowledgements and skips carry reasons', () => {
  let app: App;
  beforeAll(() => {
    app = buildApp({
      trigger: 'webhook',
      githubTokenSecretArn:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:repoguard/github-token-AbCdEf',
      enableStudio: true
    }).app;
    app.synth();
  });

  test('every cdk-nag acknowledgement has a written reason', () => {
    const acks: Array<[string, string, unknown]> = [];
    for (const node of app.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>))
          acks.push([node.node.path, id, reason]);
      }
    }
    expect(acks.length).toBeGreaterThan(0);
    for (const [path, id, reason] of acks) {
      expect({
        path,
        id,
        reason: typeof reason === 'string' && reason.length >= 20 ? 'ok' : reason
      }).toEqual({ path, id, reason: 'ok' });
    }
  });

  test('every checkov skip in the templates names a check and has a reason', () => {
    const skips = app.node
      .findAll()
      .filter(Stack.isStack)
      .flatMap(stack =>
        Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, any>)
      )
      .flatMap(resource => resource.Metadata?.checkov?.skip ?? []);
    expect(skips.length).toBeGreaterThan(0);
    for (const skip of skips) {
      expect(skip.id).toMatch(/^CKV2?_AWS_\d+$/);
      expect(String(skip.comment).length).toBeGreaterThanOrEqual(20);
    }
  });
});
