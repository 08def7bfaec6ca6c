/**
 * Dockerfile / IaC configuration: checkov (3.3.30, in its own venv, pinned by
 * scripts/install-scanners.sh) with the dockerfile, kubernetes, terraform,
 * cloudformation and github_actions frameworks, `--skip-download` (no
 * Bridgecrew platform calls; the sandbox has no network anyway) and
 * `--soft-fail`, with the pinned `scanner-config/checkov.yaml` (see there
 * why a source's `.checkov.yaml` has no effect). Skipped checks (a source's
 * own `checkov:skip` comments, which checkov cannot ignore) come back with
 * `suppressions` and are counted all the same. No SARIF log is a failed run;
 * a file checkov could not parse is a `repoguard.not-scanned` finding.
 *
 * Severity: checkov's open-source checks carry no severity (SARIF level
 * `error` for every failed check), so RepoGuard rates them: `medium` (medium
 * confidence) by default, `high` for an `ADD` of a remote URL, `low` for
 * hygiene checks (HEALTHCHECK, apt/yum cache flags, pinned tags).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from 'sarif';
import type { Severity } from '../../../../src/common';
import type { IScannerSpec } from './registry';
import { ScannerFailure } from './run';
import type { IRunContext } from './run';
import { annotate, pinnedArgs, pinnedFile, SCANNER_CONFIG_DIR } from './pinned';
import type { INotScanned } from './pinned';

const LOW = new Set([
  'CKV_DOCKER_2',
  'CKV_DOCKER_5',
  'CKV_DOCKER_7',
  'CKV_DOCKER_9',
  'CKV2_DOCKER_1',
  'CKV_K8S_43',
  'CKV_K8S_14'
]);

export function checkovSeverity(ruleId: string, snippet: string): Severity {
  if (ruleId === 'CKV_DOCKER_4' && /\bADD\s+(--\S+\s+)*(https?|ftp):\/\//i.test(snippet))
    return 'high';
  if (LOW.has(ruleId)) return 'low';
  return 'medium';
}

interface ICheckovJsonReport {
  check_type?: string;
  results?: { parsing_errors?: string[] };
}

/** The longest common folder of two absolute paths. */
function commonFolder(a: string, b: string): string {
  const x = path.resolve(a).split(path.sep);
  const y = path.resolve(b).split(path.sep);
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return x.slice(0, i).join(path.sep) || path.sep;
}

/**
 * The file a checkov URI names: checkov writes it relative to the common
 * folder of its working directory and the tree (`/` when they share none).
 */
function resolveUri(uri: string, target: string, cwd: string): string {
  if (path.isAbsolute(uri)) return uri;
  const candidates = [
    path.join(commonFolder(cwd, target), uri),
    path.join(target, uri),
    path.resolve(cwd, uri)
  ];
  return candidates.find(c => existsSync(c)) ?? path.join(target, uri);
}

/** A tree with more candidate files than this is given to checkov as a folder. */
const MAX_FILE_ARGS = 2000;
/** YAML/JSON larger than this is a candidate unread (checkov decides). */
const SNIFF_BYTES = 4 << 20;
const DOCKERFILE = /^(?:docker|container)file(?:[._-].*)?$|\.(?:docker|container)file$/i;
const CFN_VERSION = /\bAWSTemplateFormatVersion\b/;
const CFN_RESOURCES = /^\s*Resources\s*:|"Resources"\s*:/m;
/** A resource type checkov's CloudFormation checks apply to (AWS::S3::Bucket, AWS::Serverless::Function). */
const CFN_TYPE = /\b(?:AWS|Alexa)::\w+::\w+/;
const K8S_API = /^\s*-?\s*apiVersion\s*:|"apiVersion"\s*:/m;
const K8S_KIND = /^\s*-?\s*kind\s*:|"kind"\s*:/m;

/**
 * The files of the tree checkov's frameworks would read, or `folder` when it
 * must be given the whole tree (Terraform, whose modules span files, or too
 * many files). A YAML/JSON file is a candidate when it could be a
 * CloudFormation template or a Kubernetes manifest (what those runners
 * require), so thousands of data files (botocore's service models) are not
 * parsed as templates: checkov on botocore took over 300 s. Symlinks are not
 * followed (checkov's folder walk skips them too).
 */
export async function iacCandidates(target: string): Promise<string[] | 'folder'> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<boolean> => {
    for (const e of await readdir(path.join(target, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (e.name === '.git') continue;
        if (!(await walk(r))) return false;
        continue;
      }
      if (!e.isFile()) continue;
      if (/\.tf(?:\.json)?$|\.tfvars$/i.test(e.name)) return false;
      if (DOCKERFILE.test(e.name)) {
        out.push(r);
      } else if (/\.(?:ya?ml|json|template)$/i.test(e.name)) {
        if (/(^|\/)\.github\/workflows\//.test(r)) {
          out.push(r);
          continue;
        }
        const file = path.join(target, r);
        const { size } = await stat(file);
        const text = size > SNIFF_BYTES ? null : await readFile(file, 'latin1');
        if (
          text === null ||
          CFN_VERSION.test(text) ||
          (CFN_RESOURCES.test(text) && CFN_TYPE.test(text)) ||
          (K8S_API.test(text) && K8S_KIND.test(text))
        ) {
          out.push(r);
        }
      }
      if (out.length > MAX_FILE_ARGS) return false;
    }
    return true;
  };
  return (await walk('')) ? out.sort() : 'folder';
}

export function checkov(): IScannerSpec {
  return {
    name: 'checkov',
    category: 'config',
    async run(ctx: IRunContext): Promise<Log> {
      const file = await ctx.which('checkov');
      const outDir = path.join(ctx.outDir, 'checkov');
      const config = await pinnedFile('checkov.yaml');
      const cwd = SCANNER_CONFIG_DIR;
      const candidates = await iacCandidates(ctx.target);
      if (candidates !== 'folder' && candidates.length === 0) {
        // Nothing any of the frameworks reads: checkov would check nothing.
        return annotate(
          {
            version: '2.1.0',
            // checkov's own driver name, as in the logs it writes.
            runs: [{ tool: { driver: { name: 'Checkov', rules: [] } }, results: [] }]
          },
          'checkov',
          'config',
          [
            config,
            pinnedArgs(
              'not run: no Dockerfile, workflow, Terraform, CloudFormation or Kubernetes file',
              []
            )
          ],
          []
        );
      }
      const argv = [
        // One argument: checkov reads `<dir>/.checkov.yaml` only after a separate `-d`.
        ...(candidates === 'folder'
          ? [`--directory=${ctx.target}`]
          : ['--file', ...candidates.map(c => path.join(ctx.target, c))]),
        '--config-file',
        config.file,
        '--framework',
        'dockerfile,kubernetes,terraform,cloudformation,github_actions',
        '-o',
        'sarif',
        '-o',
        'json',
        '--output-file-path',
        outDir,
        '--soft-fail',
        '--skip-download',
        '--compact'
      ];
      const exit = await ctx.exec(file, argv, {
        env: {
          BC_SKIP_MAPPING: 'TRUE',
          CHECKOV_NO_OUTPUT_CONSOLE: 'true',
          LOG_LEVEL: 'ERROR',
          // Hidden folders (.devcontainer/Dockerfile, .circleci/…) and
          // node_modules are scanned too: no silent exclusions.
          CKV_IGNORE_HIDDEN_DIRECTORIES: 'False',
          CKV_IGNORED_DIRECTORIES: '.git'
        },
        cwd,
        sandbox: { readOnly: [SCANNER_CONFIG_DIR], chdir: cwd }
      });
      if (exit.code !== 0) {
        throw new ScannerFailure(
          'crashed',
          `failed (exit ${exit.code ?? 'signal'}): ${exit.stderr.trim().slice(-300)}`,
          exit.code
        );
      }
      let log: Log;
      try {
        log = JSON.parse(await readFile(path.join(outDir, 'results_sarif.sarif'), 'utf8')) as Log;
      } catch (error) {
        // checkov writes a SARIF log even when nothing was checked: none means it did not finish.
        throw new ScannerFailure(
          'crashed',
          `wrote no readable SARIF (${error instanceof Error ? error.message : String(error)})`,
          exit.code
        );
      }
      for (const run of log.runs ?? []) {
        for (const result of run.results ?? []) {
          const region = result.locations?.[0]?.physicalLocation?.region;
          const uri = result.locations?.[0]?.physicalLocation?.artifactLocation;
          if (uri?.uri) uri.uri = resolveUri(uri.uri, ctx.target, cwd);
          if (result.suppressions?.length) {
            // An inline `checkov:skip=` cannot be switched off in checkov: it is counted anyway.
            result.message = {
              ...result.message,
              text: `${result.message?.text ?? ''} (skipped in the source by a checkov:skip comment: counted)`
            };
          }
          result.properties = {
            ...(result.properties ?? {}),
            'repoguard-severity': checkovSeverity(result.ruleId ?? '', region?.snippet?.text ?? ''),
            confidence: 'medium',
            category: 'config',
            phase: 'unknown'
          };
        }
      }
      const notScanned: INotScanned[] = [];
      try {
        const json = JSON.parse(await readFile(path.join(outDir, 'results_json.json'), 'utf8')) as
          ICheckovJsonReport | ICheckovJsonReport[];
        for (const report of Array.isArray(json) ? json : [json]) {
          for (const f of report.results?.parsing_errors ?? []) {
            const rel = path.relative(ctx.target, resolveUri(f, ctx.target, cwd));
            notScanned.push({
              path: rel.startsWith('..') ? f : rel,
              reason: `checkov could not parse it (${report.check_type ?? 'unknown'} framework)`
            });
          }
        }
      } catch {
        // The SARIF is the result; without the JSON only parse errors are unknown.
        notScanned.push({
          path: '.',
          reason: 'checkov wrote no JSON report: parse errors unknown'
        });
      }
      return annotate(
        log,
        'checkov',
        'config',
        [config, pinnedArgs('checkov argv', argv.slice(1))],
        notScanned
      );
    }
  };
}
