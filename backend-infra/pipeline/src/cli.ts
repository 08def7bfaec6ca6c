/**
 * `repoguard-pipeline`: argument parsing only; the work is in runner.ts and
 * the stage modules.
 *
 * Embedded mode (one machine, a workspace folder):
 *   repoguard-pipeline init  --local DIR
 *   repoguard-pipeline run   --local DIR [--concurrency N] [--max N]
 *                                                   every pending request (at most N), once,
 *                                                   N at a time (default: the number of cores)
 *   repoguard-pipeline one   --local DIR --request-id ID   one request (what a child build runs)
 *   repoguard-pipeline watch --local DIR [--interval MS]
 *   repoguard-pipeline ingest --local DIR --out WORK/manifest.json
 *   repoguard-pipeline scan|decide|publish|record|notify|finish --manifest WORK/manifest.json
 *
 * Production (CodeBuild runs `ingest`, `scan` and `finish` with --mode aws;
 * the folder of the manifest, sources included, is the artifact between them):
 *   repoguard-pipeline ingest --mode aws --out out/manifest.json [--config FILE]
 *   repoguard-pipeline scan   --manifest out/manifest.json
 *   repoguard-pipeline finish --manifest out/manifest.json     (= decide+publish+record+notify)
 * Re-scan (embedded, or the scheduled CodeBuild project with --mode aws):
 *   repoguard-pipeline rescan --local DIR | --mode aws   re-check approved commits, revoke failures
 * Fan-out (the Step Functions state machine of lib/constructs/fan-out.ts):
 *   repoguard-pipeline list --mode aws --items s3://BUCKET/KEY [--max N]   pending ids, nothing cloned
 *   repoguard-pipeline one  --mode aws                   one request: REPOGUARD_REQUEST_ID; with
 *                                                        REPOGUARD_CHILD_FAILURE (the Catch's
 *                                                        {Error, Cause}) it records `error` instead
 *
 * Environment (aws mode):
 *   REPOGUARD_REQUEST_REPO_URL         https URL of the request repo (no credentials in it)
 *   REPOGUARD_GITHUB_ORG               org that receives the private package repos
 *   REPOGUARD_GITHUB_TOKEN_SECRET_ARN  Secrets Manager secret with the GitHub token
 *                                      (plain string or JSON {"token": "..."}); or
 *   GITHUB_TOKEN                       the token itself (never printed)
 *   REPOGUARD_GITHUB_API_URL           GitHub API base (default https://api.github.com)
 *   REPOGUARD_REPORT_BUCKET            S3 bucket for reports; REPOGUARD_REPORT_PREFIX (default reports/)
 *   REPOGUARD_MAIL_FROM                SES-verified sender; REPOGUARD_SES_CONFIGURATION_SET optional
 *   REPOGUARD_EXECUTION_ID             CodePipeline execution id (else CODEBUILD_BUILD_ID)
 *   REPOGUARD_CONFIG                   JSON config file (keys of repoguard.config.json)
 *   REPOGUARD_ALLOWED_HOSTS            comma-separated allow list (overrides the config)
 *   REPOGUARD_MAX_REQUESTS             at most this many requests per run (else config maxRequestsPerRun)
 *   REPOGUARD_SIGNING_KEY_ARN          KMS key (ECC_NIST_P256) that signs each decision's attestation
 *   AWS_REGION                         region of S3, SES and Secrets Manager
 * Both modes:
 *   REPOGUARD_SCANNER_BIN_DIR          folder of the scanner executables (else PATH;
 *                                      REPOGUARD_SCANNER_BIN is read too)
 *   REPOGUARD_SMTP_PASSWORD            SMTP password when mail.transport is smtp with a user
 *   REPOGUARD_INFOSEC_EMAIL            InfoSec's address, mailed on every revocation (rescan;
 *                                      wins over mail.infosec of the config)
 */
import { rescanOnce } from './rescan';
import { Command, Option } from 'commander';
import path from 'node:path';
import {
  defaultConcurrency,
  ingestToFile,
  listToItems,
  runOnce,
  runOne,
  stageOnFile,
  StageCommand,
  watch
} from './runner';
import type { Mode } from './types';
import { Workspace } from './workspace';

interface IModeOptions {
  local?: string;
  mode?: Mode;
  config?: string;
}

function mode(options: IModeOptions): Mode {
  return options.mode ?? (options.local ? 'local' : 'aws');
}

function modeOptions(command: Command): Command {
  return command
    .option('--local <dir>', 'embedded workspace folder (implies --mode local)')
    .addOption(new Option('--mode <mode>', 'adapters to use').choices(['local', 'aws']))
    .option('--config <file>', 'config JSON for --mode aws (else env REPOGUARD_CONFIG)');
}

const STAGE_HELP: Record<StageCommand, string> = {
  scan: 'run the enabled scanners (in parallel) on every cloned source of the manifest',
  decide: 'apply the policy: approved, refused or error (fail closed)',
  publish: 'publish approved sources to private repos, tagged with the request id',
  record: 'store reports and append results rows to the request repo',
  notify: 'email each requester the decision and the install command',
  finish: 'decide + publish + record + notify (the last CodeBuild step)'
};

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${name}: expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

function maxOption(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : positive('--max', value);
}

export function buildProgram(): Command {
  const program = new Command('repoguard-pipeline')
    .description(
      'RepoGuard pipeline: ingest requests, scan, decide, publish, record, notify.\n' +
        'Embedded mode works on a local workspace folder (--local DIR); production\n' +
        '(--mode aws) uses GitHub, S3 and SES configured by REPOGUARD_* environment\n' +
        'variables (see backend-infra/pipeline/README.md).\n\n' +
        'Stages one by one pass a manifest file:\n' +
        '  ingest --local DIR --out W/manifest.json; scan --manifest W/manifest.json;\n' +
        '  finish --manifest W/manifest.json'
    )
    .showHelpAfterError();

  program
    .command('init')
    .description('create an embedded workspace (idempotent)')
    .requiredOption('--local <dir>', 'workspace folder')
    .action(async (options: { local: string }) => {
      const workspace = new Workspace(path.resolve(options.local));
      const { created } = await workspace.init();
      console.log(
        `${created ? 'Created' : 'Kept'} workspace ${workspace.root}\n` +
          `  request repo: ${workspace.requestRepo}\n` +
          `  config:       ${workspace.configFile}`
      );
    });

  modeOptions(program.command('run'))
    .description('process every pending request once (all stages in this process, a worker pool)')
    .option('--concurrency <n>', 'requests processed at once', String(defaultConcurrency()))
    .option('--max <n>', 'at most this many requests in this run; the rest stay pending')
    .action(async (options: IModeOptions & { concurrency: string; max?: string }) => {
      await runOnce({
        mode: mode(options),
        workspace: options.local,
        configFile: options.config,
        concurrency: positive('--concurrency', options.concurrency),
        max: maxOption(options.max)
      });
    });

  modeOptions(program.command('one'))
    .description('process one request by id, all stages (what a fan-out child build runs)')
    .option('--request-id <id>', 'request_id (else env REPOGUARD_REQUEST_ID)')
    .action(async (options: IModeOptions & { requestId?: string }) => {
      const requestId = options.requestId ?? process.env.REPOGUARD_REQUEST_ID;
      if (!requestId) {
        throw new Error('one: --request-id or env REPOGUARD_REQUEST_ID is required');
      }
      const failure = process.env.REPOGUARD_CHILD_FAILURE;
      await runOne({
        mode: mode(options),
        workspace: options.local,
        configFile: options.config,
        requestId,
        failure: failure ? failure : undefined
      });
    });

  modeOptions(program.command('list'))
    .description('write the pending request ids (at most --max) as the fan-out items file')
    .option(
      '--items <target>',
      's3://BUCKET/KEY or a file (else s3://$REPOGUARD_ITEMS_BUCKET/$REPOGUARD_ITEMS_KEY)'
    )
    .option('--max <n>', 'at most this many requests; the rest stay pending')
    .action(async (options: IModeOptions & { items?: string; max?: string }) => {
      const env = process.env;
      const target =
        options.items ??
        (env.REPOGUARD_ITEMS_BUCKET && env.REPOGUARD_ITEMS_KEY
          ? `s3://${env.REPOGUARD_ITEMS_BUCKET}/${env.REPOGUARD_ITEMS_KEY}`
          : undefined);
      if (!target) {
        throw new Error(
          'list: --items or env REPOGUARD_ITEMS_BUCKET and REPOGUARD_ITEMS_KEY are required'
        );
      }
      await listToItems(
        {
          mode: mode(options),
          workspace: options.local,
          configFile: options.config,
          max: maxOption(options.max ?? env.REPOGUARD_MAX_REQUESTS)
        },
        target
      );
    });

  modeOptions(program.command('rescan'))
    .description(
      're-check every approved commit against the current advisory data and policy; revoke what now fails'
    )
    .action(async (options: IModeOptions) => {
      const outcome = await rescanOnce({
        mode: mode(options),
        workspace: options.local,
        configFile: options.config
      });
      if (outcome.failed.length > 0) {
        process.exitCode = 1;
      }
    });

  program
    .command('watch')
    .description('run whenever the request repo changes (polls its main ref)')
    .requiredOption('--local <dir>', 'workspace folder')
    .option('--interval <ms>', 'poll interval in milliseconds', '2000')
    .action(async (options: { local: string; interval: string }) => {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await watch({
        mode: 'local',
        workspace: options.local,
        intervalMs: Math.max(100, Number(options.interval) || 2000),
        signal: controller.signal
      });
    });

  modeOptions(program.command('ingest'))
    .description('read pending requests, validate them, clone their sources; write a manifest')
    .requiredOption('--out <file>', 'manifest to write (sources are cloned beside it)')
    .action(async (options: IModeOptions & { out: string }) => {
      await ingestToFile(
        { mode: mode(options), workspace: options.local, configFile: options.config },
        options.out
      );
    });

  for (const stage of Object.keys(STAGE_HELP) as StageCommand[]) {
    program
      .command(stage)
      .description(`${STAGE_HELP[stage]}; updates the manifest in place`)
      .requiredOption('--manifest <file>', 'manifest written by ingest')
      .option('--config <file>', 'config JSON for --mode aws (else env REPOGUARD_CONFIG)')
      .action(async (options: { manifest: string; config?: string }) => {
        await stageOnFile(stage, options.manifest, { configFile: options.config });
      });
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
