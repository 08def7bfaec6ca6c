/**
 * Defects of the AWS deployment (issue 13) and the deployment contract, pinned
 * on the synthesized templates; the lifecycle script is run for real in bash.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../lib/config';
import { webhookFilters } from '../lib/stacks/pipeline-stack';
import { resolveIntrinsics } from './intrinsics';
import {
  buildApp,
  cdkJsonContext,
  logicalIdStartingWith,
  MULTI_ACCOUNT,
  resourcesOf,
  statementsOfRole
} from './helpers';

const SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:repoguard/github-token-AbCdEf';
const CONNECTION =
  'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-0000-1111-2222-333344445555';

/** The lifecycle script of the Studio stack, with its references resolved. */
export function synthesizedLifecycleScript(t: Template): string {
  const [, config] = resourcesOf(t, 'AWS::SageMaker::StudioLifecycleConfig')[0];
  return resolveIntrinsics(config.Properties!.StudioLifecycleConfigContent) as string;
}

/** A JSONPath of the form `$.a.b[0]` (the shape of our webhook filters) evaluated on a payload. */
function jsonPath(payload: any, expression: string): unknown {
  const steps = expression.replace(/^\$\.?/, '').match(/[^.[\]]+|\[\d+\]/g) ?? [];
  return steps.reduce(
    (v: any, step) =>
      v == null ? undefined : step.startsWith('[') ? v[Number(step.slice(1, -1))] : v[step],
    payload
  );
}

/** GitHub push payloads (the fields the filters read), as GitHub sends them. */
const push = (branch: string, modified: string[]) => ({
  ref: `refs/heads/${branch}`,
  head_commit: { id: 'a'.repeat(40), added: [], removed: [], modified }
});

describe('webhook trigger (defect 3)', () => {
  let t: Template;
  beforeAll(() => {
    t = Template.fromStack(
      buildApp({ trigger: 'webhook', githubTokenSecretArn: SECRET_ARN }, { injectImage: true })
        .stacks.pipeline
    );
  });

  test('the HMAC secret is the "token" field of the JSON secret, not the whole string', () => {
    const [, hook] = resourcesOf(t, 'AWS::CodePipeline::Webhook')[0];
    const token = JSON.stringify(hook.Properties!.AuthenticationConfiguration.SecretToken);
    expect(token).toContain(':SecretString:token::}}');
  });

  test('only a push of the request file to the branch starts the pipeline; results commits do not', () => {
    const hooks = resourcesOf(t, 'AWS::CodePipeline::Webhook');
    expect(hooks).toHaveLength(1);
    const filters = hooks[0][1].Properties!.Filters as { JsonPath: string; MatchEquals: string }[];
    const starts = (payload: unknown) =>
      filters.every(f => jsonPath(payload, f.JsonPath) === f.MatchEquals);
    expect(starts(push('main', ['external-package-request.csv']))).toBe(true);
    expect(starts(push('main', ['external-package-results.csv']))).toBe(false);
    expect(starts(push('other', ['external-package-request.csv']))).toBe(false);
    expect(filters).toEqual(
      webhookFilters('main', 'external-package-request.csv').map(f => ({
        JsonPath: f.jsonPath,
        MatchEquals: f.matchEquals
      }))
    );
  });

  test('the webhook needs an existing token secret (it is registered with the token at deploy time)', () => {
    const app = new App({ context: { ...cdkJsonContext(), trigger: 'webhook' } });
    expect(() => loadConfig(app.node)).toThrow(/githubTokenSecretArn/);
  });

  test('a created token secret holds JSON with a "token" key (the form every reader expects)', () => {
    const own = Template.fromStack(buildApp().stacks.pipeline);
    own.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'token' }
    });
  });
});

describe('redeploy, connections, settings (defect 7)', () => {
  test('no retained resource has a fixed physical name (a failed first deploy would block the next)', () => {
    const { stacks } = buildApp({ enableStudio: true });
    const named: string[] = [];
    for (const stack of [stacks.network, stacks.notification, stacks.pipeline, stacks.studio!]) {
      const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
      for (const [id, r] of Object.entries(resources)) {
        if (r.DeletionPolicy !== 'Retain') continue;
        const props = r.Properties ?? {};
        for (const key of ['Name', 'RepositoryName', 'BucketName', 'LogGroupName', 'KeyName'])
          if (props[key] !== undefined) named.push(`${stack.stackName}/${id}.${key}`);
      }
    }
    expect(named).toEqual([]);
  });

  test('an arn:aws:codeconnections: connection may be used (codeconnections:UseConnection)', () => {
    const t = Template.fromStack(
      buildApp({ connectionArn: CONNECTION }, { injectImage: true }).stacks.pipeline
    );
    const sourceRole = logicalIdStartingWith(t, 'AWS::IAM::Role', 'PipelineSourceRequestRepo');
    const statements = statementsOfRole(t, sourceRole);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['codeconnections:UseConnection']),
        Resource: CONNECTION
      })
    );
  });

  test('the request branch reaches the stages (the ledger reads it); another request file is refused', () => {
    const t = Template.fromStack(
      buildApp({ requestBranch: 'requests' }, { injectImage: true }).stacks.pipeline
    );
    const projects = resourcesOf(t, 'AWS::CodeBuild::Project');
    expect(projects.length).toBeGreaterThan(0);
    for (const [, p] of projects)
      expect(p.Properties!.Environment.EnvironmentVariables).toContainEqual({
        Name: 'REPOGUARD_REQUEST_BRANCH',
        Type: 'PLAINTEXT',
        Value: 'requests'
      });
    const app = new App({ context: { ...cdkJsonContext(), requestFile: 'requests.csv' } });
    expect(() => loadConfig(app.node)).toThrow(ConfigError);
  });
});

describe('Studio side: least privilege and the lifecycle script (defects 5, 6)', () => {
  let studio: Template;
  let pipeline: Template;
  beforeAll(() => {
    const { stacks } = buildApp({ enableStudio: true }, { injectImage: true });
    studio = Template.fromStack(stacks.studio!);
    pipeline = Template.fromStack(stacks.pipeline);
  });

  test("no Studio role can read the pipeline's GitHub token (same account and cross-account)", () => {
    const exec = statementsOfRole(
      studio,
      logicalIdStartingWith(studio, 'AWS::IAM::Role', 'ExecutionRole')
    );
    const readTokenId = logicalIdStartingWith(studio, 'AWS::SecretsManager::Secret', 'ReadToken');
    for (const s of exec.filter(s =>
      [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:'))
    ))
      expect(s.Resource).toEqual({ Ref: readTokenId });
    const { stacks } = buildApp(MULTI_ACCOUNT, { injectImage: true });
    const cross = Template.fromStack(stacks.pipeline);
    const reader = statementsOfRole(
      cross,
      logicalIdStartingWith(cross, 'AWS::IAM::Role', 'PanelReaderRole')
    );
    expect(
      reader.flatMap(s => [s.Action].flat()).filter((a: string) => a.startsWith('secretsmanager:'))
    ).toEqual([]);
    expect(pipeline.findResources('AWS::SecretsManager::Secret')).not.toEqual({});
  });

  test('the Studio role reads reports through S3 and the key, and may only put requests into the inbox', () => {
    const exec = statementsOfRole(
      studio,
      logicalIdStartingWith(studio, 'AWS::IAM::Role', 'ExecutionRole')
    );
    const bySid = Object.fromEntries(exec.map(s => [s.Sid, s]));
    expect(JSON.stringify(bySid.ReadReportsAndInbox.Resource)).toContain('/reports/*');
    expect(bySid.PutRequestsIntoTheInbox.Action).toBe('s3:PutObject');
    expect(resolveIntrinsics(bySid.PutRequestsIntoTheInbox.Resource)).toMatch(/\/inbox\/\*$/);
    expect(
      resolveIntrinsics(bySid.UseTheKeyThroughS3.Condition.StringEquals['kms:ViaService'])
    ).toBe('s3.eu-west-1.amazonaws.com');
    const writes = exec
      .flatMap(s => [s.Action].flat())
      .filter((a: string) =>
        /^(s3:(Put|Delete)|secretsmanager:Put|codepipeline:(Put|Update|Delete))/.test(a)
      );
    expect(writes).toEqual(['s3:PutObject']);
  });

  test('the lifecycle script writes the contract the Python side reads and survives a failed pip install', () => {
    const script = synthesizedLifecycleScript(studio);
    const home = mkdtempSync(path.join(tmpdir(), 'rg-lcc-'));
    try {
      const bin = path.join(home, 'bin');
      execFileSync('mkdir', ['-p', bin]);
      writeFileSync(path.join(bin, 'pip'), '#!/bin/sh\necho "no index reachable" >&2\nexit 1\n');
      chmodSync(path.join(bin, 'pip'), 0o755);
      writeFileSync(path.join(home, 'on-start.sh'), script);
      execFileSync('bash', [path.join(home, 'on-start.sh')], {
        env: { HOME: home, PATH: `${bin}:/usr/bin:/bin` },
        stdio: 'pipe'
      });
      const contract = JSON.parse(
        readFileSync(path.join(home, '.config', 'repoguard', 'deployment.json'), 'utf8')
      );
      expect(contract).toMatchObject({
        version: 1,
        mode: 'aws',
        pipelineName: 'repoguard-pipeline',
        requestRepoUrl: 'https://github.com/example-org/repoguard-requests.git',
        requestBranch: 'main',
        githubOrg: 'example-org',
        reportPrefix: 'reports/',
        inboxPrefix: 'inbox/'
      });
      expect(contract.reportBucket).toEqual(expect.any(String));
      expect(contract.readTokenSecretArn).toEqual(expect.any(String));
      const server = JSON.parse(
        readFileSync(path.join(home, '.jupyter', 'jupyter_repoguard_config.json'), 'utf8')
      );
      expect(server.RepoGuardApp).toEqual({
        mode: 'aws',
        deployment_file: path.join(home, '.config', 'repoguard', 'deployment.json')
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('the project that lists pending requests drains the inbox (env and inbox-only S3 access)', () => {
    const listProject = logicalIdStartingWith(pipeline, 'AWS::CodeBuild::Project', 'ListStage');
    const [, project] = resourcesOf(pipeline, 'AWS::CodeBuild::Project').find(
      ([id]) => id === listProject
    )!;
    expect(project.Properties!.Environment.EnvironmentVariables).toContainEqual({
      Name: 'REPOGUARD_REQUEST_INBOX_PREFIX',
      Type: 'PLAINTEXT',
      Value: 'inbox/'
    });
    const role = logicalIdStartingWith(pipeline, 'AWS::IAM::Role', 'ListStageRole');
    const deletes = statementsOfRole(pipeline, role).filter(s =>
      [s.Action].flat().includes('s3:DeleteObject*')
    );
    expect(deletes.map(s => resolveIntrinsics(s.Resource))).toEqual([
      expect.stringMatching(/\/inbox\/\*$/)
    ]);
  });

  test('the pipeline stack publishes its part of the contract in SSM', () => {
    const [, parameter] = resourcesOf(pipeline, 'AWS::SSM::Parameter')[0];
    expect(parameter.Properties!.Name).toBe('/repoguard/deployment.json');
    const value = JSON.parse(resolveIntrinsics(parameter.Properties!.Value));
    expect(Object.keys(value).sort()).toEqual(
      [
        'githubOrg',
        'inboxPrefix',
        'mode',
        'pipelineName',
        'region',
        'reportBucket',
        'reportPrefix',
        'requestBranch',
        'requestRepoUrl',
        'signingKeyArn',
        'version'
      ].sort()
    );
  });
});
