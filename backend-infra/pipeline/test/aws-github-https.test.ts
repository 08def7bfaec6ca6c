/**
 * The production network paths against a GitHub double over HTTPS (loopback
 * only, test CA made at run time; support/github-double.ts):
 *
 * 1. the ingest clone (clone.ts: SSRF guard, address pinning, fsck, no
 *    redirects beyond the first request) fetches https://github.com/someone/pkg
 *    for real — the injected resolver answers a public address for github.com,
 *    the guard checks that address, and the clone's test seam pins the
 *    connection to the double's loopback address; git trusts the test CA only
 *    through GIT_SSL_CAINFO;
 * 2. GitHubPublisher.publish creates the private org repo through the REST
 *    API and pushes commit + tag over HTTPS with the token as a header;
 * 3. GitHubPublisher.exportCommit (re-scan) fetches exactly that commit back.
 *
 * No real DNS lookup and no connection beyond 127.0.0.0/8.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Octokit } from '@octokit/rest';
import { GitHubPublisher } from '../src/adapters/aws/github';
import { registerSecret } from '../src/redact';
import { SourceRefused, hardenedClone } from '../src/clone';
import type { Resolver } from '../src/net';
import { gitSync, makeRepo, tempDir } from './helpers';
import { GitHubDouble, fetchTrusting } from './support/github-double';

// Made at run time, never committed; registered as the pipeline's githubToken() does.
const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const WRONG = `ghp_${randomBytes(18).toString('hex')}`;
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const ORG = 'acme-approved';
// What github.com resolves to in production (a public unicast address the guard accepts).
const GITHUB_PUBLIC = '140.82.112.3';

/** The test's DNS: github.com only, to its public address; everything else does not resolve. */
const resolver: Resolver = async host => {
  if (host === 'github.com') return [GITHUB_PUBLIC];
  throw Object.assign(new Error(`no test DNS for ${host}`), { code: 'ENOTFOUND' });
};

describe('GitHub double over HTTPS: hardened clone, publish (REST + push) and re-scan export', () => {
  const double = new GitHubDouble({ token: TOKEN });
  let loopback = '127.0.0.1';
  let sourceUrl = 'https://github.com/someone/pkg';
  let upstream: { sha: string; first: string };
  let clonedDir = '';
  const logLines: string[] = [];
  const log = {
    debug: (...a: unknown[]) => logLines.push(a.map(String).join(' ')),
    info: (...a: unknown[]) => logLines.push(a.map(String).join(' ')),
    warn: (...a: unknown[]) => logLines.push(a.map(String).join(' ')),
    error: (...a: unknown[]) => logLines.push(a.map(String).join(' '))
  };
  const octokit = (token: string) =>
    new Octokit({
      auth: token,
      baseUrl: double.apiUrl,
      userAgent: 'repoguard-pipeline',
      log,
      request: { fetch: fetchTrusting(double.ca) }
    });
  /** Trust the test CA for RepoGuard's own git (src/git.ts inherits the environment) until restore(). */
  const trustTestCa = () => {
    const previous = process.env.GIT_SSL_CAINFO;
    process.env.GIT_SSL_CAINFO = double.caFile;
    return {
      restore: () => {
        if (previous === undefined) delete process.env.GIT_SSL_CAINFO;
        else process.env.GIT_SSL_CAINFO = previous;
      }
    };
  };
  const pinned: string[] = [];
  const seam = () => ({
    connect: (checked: string) => {
      pinned.push(checked);
      return loopback;
    },
    caFile: double.caFile
  });

  before(async () => {
    registerSecret(TOKEN);
    await double.start();
    // github.com's face: port 443 on a random 127/8 address (root or a low
    // unprivileged port start); else the URL names the double's own port.
    const candidate = `127.${1 + (randomBytes(1)[0] % 250)}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0] % 250)}`;
    try {
      await double.listenAlso(candidate, 443);
      loopback = candidate;
    } catch {
      loopback = '127.0.0.1';
      sourceUrl = `https://github.com:${new URL(double.origin).port}/someone/pkg`;
    }
    const root = await tempDir('rg-ghhttps-');
    const work = path.join(root, 'upstream');
    const first = await makeRepo(work, {
      'pyproject.toml': '[project]\nname = "pkg"\nversion = "0.1.0"\n',
      'pkg/__init__.py': 'VERSION = "0.1.0"\n'
    });
    await writeFile(
      path.join(work, 'pkg', 'stats.py'),
      'def mean(xs):\n    return sum(xs) / len(xs)\n'
    );
    gitSync(work, 'add', '-A');
    gitSync(work, 'commit', '--quiet', '-m', 'stats');
    upstream = { sha: gitSync(work, 'rev-parse', 'HEAD').trim(), first: first.sha };
    await double.addPublicRepo('someone', 'pkg', work);
  });

  after(async () => {
    await double.stop();
  });

  it('the hardened clone fetches https://github.com/someone/pkg from the double (guard checks the public address, pin goes to loopback, CA via GIT_SSL_CAINFO only)', async t => {
    t.diagnostic(`source ${sourceUrl}, pinned to ${loopback}`);
    assert.notEqual(
      process.env.GIT_SSL_CAINFO,
      double.caFile,
      'the test CA is not trusted globally'
    );
    const dest = path.join(await tempDir('rg-ghclone-'), 'src');
    const before = double.requests.length;
    const result = await hardenedClone({
      url: sourceUrl,
      ref: 'main',
      dest,
      allowedLocalRoots: [],
      maxBytes: 10 * 1024 * 1024,
      timeoutMs: 30_000,
      resolve: resolver,
      fullHistory: true,
      testNetwork: seam()
    });
    assert.equal(result.commitSha, upstream.sha);
    assert.equal(result.files, 3);
    assert.match(await readFile(path.join(dest, 'pkg', 'stats.py'), 'utf8'), /def mean/);
    // Full history (production sets it: GitHub refuses pushes from a shallow clone).
    assert.equal(gitSync(dest, 'rev-list', '--count', 'HEAD').trim(), '2');
    assert.ok(!existsSync(path.join(dest, '.git', 'shallow')));
    // The guard saw the production address; git really spoke smart HTTP over TLS to the double.
    assert.deepEqual([...new Set(pinned)], [GITHUB_PUBLIC]);
    const seen = double.requests.slice(before);
    assert.ok(
      seen.some(
        r => r.path === '/someone/pkg/info/refs?service=git-upload-pack' && r.status === 200
      ),
      JSON.stringify(seen)
    );
    assert.ok(seen.some(r => r.path === '/someone/pkg/git-upload-pack' && r.status === 200));
    assert.ok(
      seen.every(r => r.host.startsWith('github.com')),
      'Host header is github.com'
    );
    assert.ok(
      seen.every(r => r.auth === 'none'),
      'no credentials go to a public source'
    );
    clonedDir = dest;
  });

  it('without the CA the clone fails TLS verification; the guard still refuses loopback, seam or not', async () => {
    const root = await tempDir('rg-ghclone-');
    await assert.rejects(
      hardenedClone({
        url: sourceUrl,
        ref: 'main',
        dest: path.join(root, 'noca'),
        allowedLocalRoots: [],
        maxBytes: 1e7,
        timeoutMs: 20_000,
        resolve: resolver,
        testNetwork: { connect: () => loopback }
      }),
      (e: unknown) =>
        !(e instanceof SourceRefused) && /certificate|SSL|issuer|verif/i.test((e as Error).message)
    );
    const loop: Resolver = async () => ['127.0.0.1'];
    for (const [url, resolve, testNetwork] of [
      ['https://github.com/someone/pkg', loop, undefined],
      ['https://github.com/someone/pkg', loop, seam()],
      ['https://127.0.0.1/someone/pkg', undefined, undefined],
      [`${double.origin}/someone/pkg`, undefined, seam()]
    ] as const) {
      await assert.rejects(
        hardenedClone({
          url,
          ref: 'main',
          dest: path.join(root, 'refused'),
          allowedLocalRoots: [],
          maxBytes: 1e7,
          timeoutMs: 10_000,
          resolve,
          testNetwork
        }),
        (e: unknown) =>
          e instanceof SourceRefused && /127\.0\.0\.1, a loopback address/.test(e.message)
      );
    }
  });

  it('publish creates the private repo in the org and pushes commit + tag over HTTPS with the token as a header', async () => {
    assert.ok(clonedDir, 'the clone test ran first');
    const outer = trustTestCa();
    try {
      const before = double.requests.length;
      const publisher = new GitHubPublisher({ octokit: octokit(TOKEN), org: ORG, token: TOKEN });
      const request = {
        packageName: 'pkg',
        source: clonedDir,
        commitSha: upstream.sha,
        tag: 'r-101',
        origin: 'https://github.com/someone/pkg'
      };
      const result = await publisher.publish(request);
      assert.deepEqual(result, {
        url: `${double.origin}/${ORG}/pkg.git`,
        createdRepo: true,
        pushed: true
      });
      const bare = double.repoDir(ORG, 'pkg');
      const refs = gitSync(bare, 'for-each-ref', '--format=%(refname) %(objectname)');
      assert.equal(
        refs.trim(),
        [`refs/heads/main ${upstream.sha}`, `refs/tags/r-101 ${upstream.sha}`].join('\n')
      );
      const seen = double.requests.slice(before);
      const create = seen.find(r => r.method === 'POST');
      assert.equal(create?.path, `/api/v3/orgs/${ORG}/repos`);
      assert.equal(create?.status, 201);
      assert.equal((create?.body as { private?: boolean }).private, true);
      assert.ok(seen.filter(r => r.path.startsWith('/api/')).every(r => r.auth === 'token'));
      const pushes = seen.filter(r => !r.path.startsWith('/api/'));
      assert.ok(
        pushes.some(r => r.path === `/${ORG}/pkg.git/git-receive-pack` && r.status === 200)
      );
      assert.ok(
        pushes.every(r => r.auth === 'basic'),
        JSON.stringify(pushes)
      );

      // Idempotent: the tag already points at the commit (get a reference), nothing is pushed.
      const again = await publisher.publish(request);
      assert.deepEqual(again, { url: result.url, createdRepo: false, pushed: false });
      assert.ok(
        double.requests.some(
          r =>
            r.path === `/api/v3/repos/${ORG}/pkg/git/ref/tags%2Fr-101` ||
            r.path === `/api/v3/repos/${ORG}/pkg/git/ref/tags/r-101`
        )
      );
    } finally {
      outer.restore();
    }
  });

  it('a wrong token fails with a clear error, and no token reaches the error or the logs', async () => {
    const outer = trustTestCa();
    try {
      const publisher = new GitHubPublisher({
        octokit: octokit(WRONG),
        org: ORG,
        token: WRONG,
        retry: { retries: 0 }
      });
      let caught: unknown;
      await publisher
        .publish({
          packageName: 'other',
          source: clonedDir,
          commitSha: upstream.sha,
          tag: 'r-102',
          origin: 'https://github.com/someone/pkg'
        })
        .catch(e => (caught = e));
      assert.ok(caught instanceof Error, 'publish must fail');
      assert.equal((caught as { status?: number }).status, 401);
      assert.match(caught.message, /Bad credentials/);
      // A right API token but a git credential the double refuses: git's own error.
      let pushError: unknown;
      await new GitHubPublisher({ octokit: octokit(TOKEN), org: ORG, token: WRONG })
        .publish({
          packageName: 'other',
          source: clonedDir,
          commitSha: upstream.sha,
          tag: 'r-103',
          origin: 'https://github.com/someone/pkg'
        })
        .catch(e => (pushError = e));
      assert.ok(pushError instanceof Error, 'push must fail');
      assert.match(pushError.message, /failed: .*(Authentication failed|could not read Username)/s);
      assert.ok(!existsSync(path.join(double.repoDir(ORG, 'other'), 'refs', 'tags', 'r-103')));
      const texts = [
        caught.message,
        String(caught.stack),
        JSON.stringify(caught),
        pushError.message,
        String(pushError.stack),
        ...logLines
      ].join('\n');
      for (const secret of [
        TOKEN,
        WRONG,
        BASIC,
        Buffer.from(`x-access-token:${WRONG}`).toString('base64')
      ]) {
        assert.ok(!texts.includes(secret), 'a token leaked into an error or a log line');
      }
    } finally {
      outer.restore();
    }
  });

  it('exportCommit (re-scan) fetches exactly the published commit back over HTTPS', async () => {
    const outer = trustTestCa();
    try {
      const before = double.requests.length;
      const dest = await tempDir('rg-ghexport-');
      const publisher = new GitHubPublisher({ octokit: octokit(TOKEN), org: ORG, token: TOKEN });
      await publisher.exportCommit('pkg', upstream.sha, dest);
      const files = (await readdir(dest, { recursive: true, withFileTypes: true }))
        .filter(d => d.isFile())
        .map(d => path.relative(dest, path.join(d.parentPath ?? d.path, d.name)))
        .sort();
      assert.deepEqual(
        files,
        gitSync(clonedDir, 'ls-tree', '-r', '--name-only', upstream.sha).trim().split('\n').sort()
      );
      assert.match(await readFile(path.join(dest, 'pkg', 'stats.py'), 'utf8'), /def mean/);
      const fetches = double.requests.slice(before).filter(r => !r.path.startsWith('/api/'));
      assert.ok(
        fetches.some(r => r.path === `/${ORG}/pkg.git/git-upload-pack` && r.status === 200)
      );
      assert.ok(
        fetches.every(r => r.auth === 'basic'),
        'the private repo is read with the token'
      );
      // Exactly the commit asked for: the parent commit has no stats.py; an unknown sha is refused.
      const parent = await tempDir('rg-ghexport-');
      await publisher.exportCommit('pkg', upstream.first, parent);
      assert.ok(existsSync(path.join(parent, 'pkg', '__init__.py')));
      assert.ok(!existsSync(path.join(parent, 'pkg', 'stats.py')));
      await assert.rejects(
        publisher.exportCommit('pkg', 'f'.repeat(40), await tempDir('rg-ghexport-')),
        /not our ref f{40}/
      );
    } finally {
      outer.restore();
    }
  });
});
