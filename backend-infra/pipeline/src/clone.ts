/**
 * Hardened clone of an untrusted source (TECH-NOTES §7).
 *
 * - Protocols: `GIT_ALLOW_PROTOCOL=https`; `file` only for a `file://` source
 *   under an allowed local root (embedded mode), checked again after resolving
 *   symlinks.
 * - No user/system git config, no hooks, no submodules, symlinks checked out
 *   as plain files, fsck of received objects, low-speed abort, redirects only
 *   on the initial request, no terminal prompt, and an environment without
 *   the caller's credentials (AWS_*, tokens).
 * - Size: fetch without checkout (depth 1, one ref, no tags), sum the blob
 *   sizes of the tree and refuse above `maxRepoSizeMB` before writing any file.
 * - Time: every git command runs under a deadline and is killed past it.
 * - The ref is resolved to the commit sha that is then scanned and published.
 */
import { execFile } from 'node:child_process';
import { realpath, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from './fsutil';
import { Resolver, checkHost, systemResolver } from './net';
import { redact } from './redact';

export interface ICloneOptions {
  url: string;
  ref: string;
  /** Destination folder (created; must not exist or be empty). */
  dest: string;
  allowedLocalRoots: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  resolve?: Resolver;
  /**
   * Fetch the whole history of the ref instead of depth 1. Production sets
   * it: GitHub refuses pushes from a shallow clone. The size cap still
   * applies to the scanned tree, and the time limit to the whole fetch.
   */
  fullHistory?: boolean;
  /**
   * Test seam, never set in production (the offline harness's GitHub double):
   * once the SSRF guard has accepted the addresses `resolve` answered, git is
   * pinned to `connect(address)` for each of them instead, and trusts the CA
   * bundle `caFile` (GIT_SSL_CAINFO). The guard is unchanged: it still checks
   * the addresses production would connect to.
   */
  testNetwork?: { connect: (checked: string) => string; caFile?: string };
}

export interface ICloneResult {
  commitSha: string;
  sizeBytes: number;
  files: number;
}

/** A source the policy refuses (decision `refused`), as opposed to a failure (`error`). */
export class SourceRefused extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(message);
  }
}

const HARDENING = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.symlinks=false',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.protectNTFS=true',
  '-c',
  'core.protectHFS=true',
  '-c',
  'transfer.fsckObjects=true',
  '-c',
  'fetch.fsckObjects=true',
  '-c',
  'submodule.recurse=false',
  '-c',
  'protocol.allow=never',
  '-c',
  'http.followRedirects=initial',
  '-c',
  'http.lowSpeedLimit=1000',
  '-c',
  'http.lowSpeedTime=30',
  '-c',
  'advice.detachedHead=false',
  '-c',
  'init.defaultBranch=main'
];

function hardenedEnv(protocol: 'https' | 'file', home: string, caFile?: string): NodeJS.ProcessEnv {
  return {
    ...(caFile ? { GIT_SSL_CAINFO: caFile } : {}),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    GIT_ALLOW_PROTOCOL: protocol,
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_LFS_SKIP_SMUDGE: '1'
  };
}

function runGit(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  deadline: number
): Promise<string> {
  const timeout = Math.max(1, deadline - Date.now());
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...HARDENING, ...args],
      { cwd, env, timeout, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const e = error as NodeJS.ErrnoException & { killed?: boolean };
          if (e.killed || Date.now() >= deadline) {
            reject(new Error(`git ${args[0]} took longer than the time limit`));
          } else {
            reject(
              new Error(redact(`git ${args[0]} failed: ${String(stderr).trim() || e.message}`))
            );
          }
          return;
        }
        resolve(String(stdout));
      }
    );
  });
}

/** Check the URL's transport and target; returns the protocol to allow and extra -c options. */
async function prepareSource(
  options: ICloneOptions
): Promise<{ protocol: 'https' | 'file'; extra: string[] }> {
  const parsed = new URL(options.url);
  if (parsed.username || parsed.password) {
    throw new SourceRefused('repo_url', 'must not contain credentials (user:password@)');
  }
  if (parsed.protocol === 'file:') {
    const roots = options.allowedLocalRoots;
    const target = decodeURIComponent(parsed.pathname);
    let real: string;
    try {
      real = await realpath(target);
    } catch {
      throw new SourceRefused('repo_url', `local source ${target} does not exist`);
    }
    const realRoots = await Promise.all(roots.map(r => realpath(r).catch(() => path.resolve(r))));
    if (!realRoots.some(root => isInside(root, real))) {
      throw new SourceRefused(
        'repo_url',
        `a file:// source must lie under ${roots.join(' or ')} (it resolves to ${real})`
      );
    }
    return { protocol: 'file', extra: [] };
  }
  if (parsed.protocol !== 'https:') {
    throw new SourceRefused('repo_url', `must use https:// (not ${parsed.protocol})`);
  }
  const check = await checkHost(parsed.hostname, options.resolve ?? systemResolver);
  if (!check.ok) {
    throw new SourceRefused('repo_url', check.reason ?? 'host refused');
  }
  const port = parsed.port || '443';
  const connect = options.testNetwork?.connect ?? ((address: string) => address);
  const pins = check.addresses
    .map(connect)
    .map(a => (a.includes(':') ? `[${a}]` : a))
    .join(',');
  return {
    protocol: 'https',
    extra: ['-c', `http.curloptResolve=${parsed.hostname}:${port}:${pins}`]
  };
}

export async function hardenedClone(options: ICloneOptions): Promise<ICloneResult> {
  const deadline = Date.now() + options.timeoutMs;
  const { protocol, extra } = await prepareSource(options);
  await rm(options.dest, { recursive: true, force: true });
  await mkdir(options.dest, { recursive: true });
  const home = path.join(options.dest, '.git', 'repoguard-home');
  const env = hardenedEnv(protocol, home, options.testNetwork?.caFile);
  const run = (args: string[]): Promise<string> =>
    runGit([...extra, ...args], env, options.dest, deadline);

  await run(['init', '--quiet']);
  const want = options.ref === '' ? 'HEAD' : options.ref;
  try {
    const depth = options.fullHistory ? [] : ['--depth', '1'];
    await run([
      'fetch',
      '--quiet',
      ...depth,
      '--no-tags',
      '--no-recurse-submodules',
      '--',
      options.url,
      want
    ]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (
      /couldn't find remote ref|not our ref|no such remote ref|unadvertised object/i.test(message)
    ) {
      throw new SourceRefused('ref', `${options.ref || 'HEAD'} was not found in ${options.url}`);
    }
    throw error;
  }
  const commitSha = (await run(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).trim();

  // Size cap before anything is written to the work tree.
  const listing = await run(['ls-tree', '-r', '-l', '-z', commitSha]);
  let sizeBytes = 0;
  let files = 0;
  for (const entry of listing.split('\0')) {
    const match = /^\d+ (\w+) [0-9a-f]+\s+(\S+)\t/.exec(entry);
    if (!match) {
      continue;
    }
    files++;
    if (match[1] === 'blob' && match[2] !== '-') {
      sizeBytes += Number(match[2]);
    }
  }
  if (sizeBytes > options.maxBytes) {
    throw new SourceRefused(
      'repo_url',
      `repository is ${(sizeBytes / 1048576).toFixed(1)} MB, over the limit of ${(options.maxBytes / 1048576).toFixed(0)} MB`
    );
  }
  await run(['checkout', '--quiet', '--detach', commitSha]);
  return { commitSha, sizeBytes, files };
}
