/**
 * A GitHub double over HTTPS on loopback, for the offline AWS harness.
 *
 * - TLS: a CA and a server certificate (SAN github.com, api.github.com,
 *   127.0.0.1) made at start with the `openssl` CLI; clients trust `caFile`.
 * - REST (under `/api/v3`, as GitHub Enterprise serves it): only the calls
 *   GitHubPublisher (src/adapters/aws/github.ts) makes — get a repository,
 *   create an organization repository, get a reference — answered with the
 *   GitHub REST docs' response shapes, `clone_url` pointing at the double.
 *   Every call needs `Authorization: token <token>` (401 "Bad credentials"
 *   otherwise).
 * - git smart HTTP: `git http-backend` as a CGI over bare repos under
 *   `root/<owner>/<repo>.git` (GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL,
 *   receive-pack enabled). Reads of a public repo are anonymous; reads of a
 *   private repo and every push need the Basic header gitAuthEnv
 *   (src/adapters/aws/secrets.ts) sends: `x-access-token:<token>`.
 * - `readToken` (optional): a second token that may only read, as a GitHub
 *   fine-grained token with Contents: read (the Studio side's): REST GETs and
 *   fetches of private repos pass; a push is 403, a REST write 403.
 *
 * `listen()` serves on 127.0.0.1 (ephemeral port); `listenAlso(address, port)`
 * adds a socket, e.g. a 127/8 address on 443 for `https://github.com/...`
 * URLs pinned there by the clone's test seam.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpsRequest, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IDoubleRequest {
  method: string;
  path: string;
  host: string;
  /**
   * What authentication the request carried: the token as `token` (REST) or `basic` (git),
   * the read-only token (`read`, either form), `none` or `wrong`.
   */
  auth: 'token' | 'basic' | 'read' | 'none' | 'wrong';
  status: number;
  body?: unknown;
}

export interface IGitHubDoubleOptions {
  token: string;
  /** A token that may only read (REST GETs, fetches of private repos). @default - none */
  readToken?: string;
  /** Bare repos live under here (a temporary folder by default). */
  root?: string;
}

const DOCS = 'https://docs.github.com/rest';

/** The CA and a server certificate for the double, made with the openssl CLI. */
export async function makeCertificates(
  dir: string
): Promise<{ caFile: string; cert: string; key: string; ca: string }> {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=RepoGuard test CA (GitHub double)',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign'
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=github.com'
  ]);
  await writeFile(
    f('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:github.com,DNS:api.github.com,IP:127.0.0.1'
    ].join('\n') + '\n'
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    f('server.ext'),
    '-out',
    f('server.pem')
  ]);
  return {
    caFile: f('ca.pem'),
    ca: await readFile(f('ca.pem'), 'utf8'),
    cert: await readFile(f('server.pem'), 'utf8'),
    key: await readFile(f('server.key'), 'utf8')
  };
}

/** A `fetch` for octokit's `request.fetch` seam that trusts only `ca` (node's https, no agent). */
export function fetchTrusting(ca: string) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers: Record<string, string> = {};
    new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]).forEach(
      (v, k) => (headers[k] = v)
    );
    const body = typeof init?.body === 'string' ? init.body : undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, { method: init?.method ?? 'GET', headers, ca, agent: false });
      req.on('error', reject);
      req.on('response', res => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          const status = res.statusCode ?? 500;
          const empty = status === 204 || status === 304 || chunks.length === 0;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: out }));
        });
      });
      req.end(body);
    });
  };
}

export class GitHubDouble {
  readonly requests: IDoubleRequest[] = [];
  /** Repos created through the API (private), by "owner/name". */
  private readonly privateRepos = new Set<string>();
  private readonly servers: Server[] = [];
  private tls?: { cert: string; key: string; ca: string; caFile: string };
  private root = '';
  private work = '';
  private port = 0;

  constructor(private readonly options: IGitHubDoubleOptions) {}

  get caFile(): string {
    return this.tls!.caFile;
  }

  get ca(): string {
    return this.tls!.ca;
  }

  /** `https://127.0.0.1:<port>`, where the API and the org's clone URLs live. */
  get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get apiUrl(): string {
    return `${this.origin}/api/v3`;
  }

  get projectRoot(): string {
    return this.root;
  }

  /** The bare repo of owner/name on disk. */
  repoDir(owner: string, name: string): string {
    return path.join(this.root, owner, `${name}.git`);
  }

  async start(): Promise<void> {
    const work = await mkdtemp(path.join(tmpdir(), 'rg-ghdouble-'));
    this.root = this.options.root ?? path.join(work, 'repos');
    await mkdir(this.root, { recursive: true });
    await mkdir(path.join(work, 'tls'));
    this.tls = await makeCertificates(path.join(work, 'tls'));
    this.work = work;
    this.port = await this.listenAlso('127.0.0.1', 0);
  }

  /** Serve on one more socket; resolves to its port. */
  listenAlso(address: string, port: number): Promise<number> {
    const server = createServer({ cert: this.tls!.cert, key: this.tls!.key }, (req, res) => {
      this.handle(req, res).catch(error => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        this.servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(
        s =>
          new Promise<void>(resolve => {
            s.closeAllConnections();
            s.close(() => resolve());
          })
      )
    );
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }

  /** A public repo the pipeline may clone anonymously: a bare copy of the repo at `from`. */
  async addPublicRepo(owner: string, name: string, from: string): Promise<string> {
    const dir = this.repoDir(owner, name);
    await mkdir(path.dirname(dir), { recursive: true });
    await run('git', ['clone', '--quiet', '--bare', '--', from, dir], { env: gitEnv() });
    await this.configureRepo(dir);
    return dir;
  }

  private async configureRepo(dir: string): Promise<void> {
    // As GitHub: a reachable commit may be fetched by its sha; no shallow pushes.
    await run('git', ['--git-dir', dir, 'config', 'uploadpack.allowReachableSHA1InWant', 'true'], {
      env: gitEnv()
    });
  }

  private authOf(req: IncomingMessage): IDoubleRequest['auth'] {
    const header = req.headers.authorization;
    if (!header) return 'none';
    const token = this.options.token;
    if (header === `token ${token}`) return 'token';
    const basic = (t: string) => `Basic ${Buffer.from(`x-access-token:${t}`).toString('base64')}`;
    if (header === basic(token)) return 'basic';
    const read = this.options.readToken;
    if (read && (header === `token ${read}` || header === basic(read))) return 'read';
    return 'wrong';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://double.invalid');
    const auth = this.authOf(req);
    const record = (status: number, body?: unknown) =>
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        host: String(req.headers.host ?? ''),
        auth,
        status,
        ...(body === undefined ? {} : { body })
      });
    if (url.pathname.startsWith('/api/v3/')) {
      const raw = await readBody(req);
      const body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as unknown) : undefined;
      const [status, reply] = await this.api(
        req.method ?? 'GET',
        url.pathname.slice(7),
        auth,
        body
      );
      record(status, body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json'
      });
      res.end(JSON.stringify(reply));
      return;
    }
    const match = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?(\/.*)$/.exec(url.pathname);
    const service =
      url.searchParams.get('service') ?? (match ? /git-[a-z-]+$/.exec(match[3])?.[0] : undefined);
    if (
      !match ||
      !/^\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(match[3]) ||
      (service !== 'git-upload-pack' && service !== 'git-receive-pack')
    ) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found\n');
      return;
    }
    const [, owner, name, rest] = match;
    const dir = this.repoDir(owner, name);
    const needsAuth = service === 'git-receive-pack' || this.privateRepos.has(`${owner}/${name}`);
    if (existsSync(dir) && service === 'git-receive-pack' && auth === 'read') {
      // GitHub: a token without Contents: write may not push (403, not 401: it is a valid token).
      record(403);
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`Permission to ${owner}/${name}.git denied.\n`);
      return;
    }
    const allowed = auth === 'basic' || (auth === 'read' && service === 'git-upload-pack');
    if (!existsSync(dir) || (needsAuth && !allowed)) {
      // GitHub answers 401 for a private repo without valid credentials (it does not reveal it).
      const status = existsSync(dir) || needsAuth ? 401 : 404;
      record(status);
      res.writeHead(status, {
        'content-type': 'text/plain',
        ...(status === 401 ? { 'www-authenticate': 'Basic realm="GitHub"' } : {})
      });
      res.end(status === 401 ? 'Invalid username or token.\n' : 'Repository not found.\n');
      return;
    }
    const status = await this.cgi(req, res, `/${owner}/${name}.git${rest}`, url.search.slice(1));
    record(status);
  }

  /** One REST call: [status, JSON body]. `route` starts with "/". */
  private async api(
    method: string,
    route: string,
    auth: IDoubleRequest['auth'],
    body: unknown
  ): Promise<[number, unknown]> {
    if (auth === 'read' && method !== 'GET') {
      const message = 'Resource not accessible by personal access token';
      return [403, { message, documentation_url: DOCS, status: '403' }];
    }
    if (auth !== 'token' && auth !== 'read') {
      return [401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }];
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)$/.exec(route))) {
      const [, owner, name] = m;
      if (!existsSync(this.repoDir(owner, name))) {
        return [404, notFound('repos/repos#get-a-repository')];
      }
      return [200, this.repository(owner, name)];
    }
    if (method === 'POST' && (m = /^\/orgs\/([^/]+)\/repos$/.exec(route))) {
      const org = m[1];
      const name = String((body as { name?: unknown })?.name ?? '');
      if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
        return [422, validationFailed('name', 'name is invalid')];
      }
      const dir = this.repoDir(org, name);
      if (existsSync(dir)) {
        return [422, validationFailed('name', 'name already exists on this account')];
      }
      await mkdir(path.dirname(dir), { recursive: true });
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir], {
        env: gitEnv()
      });
      await this.configureRepo(dir);
      if ((body as { private?: unknown })?.private !== false) {
        this.privateRepos.add(`${org}/${name}`);
      }
      return [201, this.repository(org, name)];
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/git\/ref\/(.+)$/.exec(route))) {
      const [, owner, name, ref] = m;
      const dir = this.repoDir(owner, name);
      if (!existsSync(dir)) return [404, notFound('git/refs#get-a-reference')];
      const refs = (
        await run(
          'git',
          ['--git-dir', dir, 'for-each-ref', '--format=%(refname) %(objectname) %(objecttype)'],
          {
            env: gitEnv()
          }
        )
      ).stdout.trim();
      if (refs === '') {
        return [
          409,
          {
            message: 'Git Repository is empty.',
            documentation_url: `${DOCS}/git/refs#get-a-reference`,
            status: '409'
          }
        ];
      }
      const line = refs
        .split('\n')
        .find(l => l.split(' ')[0] === `refs/${decodeURIComponent(ref)}`);
      if (!line) return [404, notFound('git/refs#get-a-reference')];
      const [full, sha, type] = line.split(' ');
      const api = `https://api.github.com/repos/${owner}/${name}/git`;
      return [
        200,
        {
          ref: full,
          node_id: `REF_${Buffer.from(full).toString('base64url')}`,
          url: `${api}/${full}`,
          object: { type, sha, url: `${api}/${type}s/${sha}` }
        }
      ];
    }
    return [404, notFound('')];
  }

  /** The "repository" object of the REST docs (trimmed), clone_url at the double. */
  private repository(owner: string, name: string) {
    const isPrivate = this.privateRepos.has(`${owner}/${name}`);
    return {
      id: 1296269,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
      name,
      full_name: `${owner}/${name}`,
      owner: { login: owner, id: 1, node_id: 'MDEyOk9yZ2FuaXphdGlvbjE=', type: 'Organization' },
      private: isPrivate,
      visibility: isPrivate ? 'private' : 'public',
      html_url: `https://github.com/${owner}/${name}`,
      description: null,
      fork: false,
      url: `https://api.github.com/repos/${owner}/${name}`,
      git_url: `git:github.com/${owner}/${name}.git`,
      ssh_url: `git@github.com:${owner}/${name}.git`,
      clone_url: `${this.origin}/${owner}/${name}.git`,
      svn_url: `https://github.com/${owner}/${name}`,
      default_branch: 'main',
      has_issues: false,
      has_projects: false,
      has_wiki: false,
      archived: false,
      disabled: false,
      permissions: { admin: true, push: true, pull: true },
      created_at: '2026-12-01T10:00:00Z',
      updated_at: '2026-12-01T10:00:00Z',
      pushed_at: null
    };
  }

  /** Run `git http-backend` for this request (RFC 3875 CGI); resolves to the HTTP status sent. */
  private cgi(
    req: IncomingMessage,
    res: ServerResponse,
    pathInfo: string,
    query: string
  ): Promise<number> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      ...(this.authOf(req) === 'basic' || this.authOf(req) === 'read'
        ? { REMOTE_USER: 'x-access-token', AUTH_TYPE: 'Basic' }
        : {}),
      ...(req.headers['content-type'] ? { CONTENT_TYPE: req.headers['content-type'] } : {}),
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding']
        ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
        : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {})
    };
    return new Promise((resolve, reject) => {
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', c => (stderr += String(c)));
      child.on('error', reject);
      child.stdin.on('error', () => undefined);
      req.pipe(child.stdin);
      child.on('close', code => {
        const all = Buffer.concat(out);
        let split = all.indexOf('\r\n\r\n');
        let gap = 4;
        if (split < 0) {
          split = all.indexOf('\n\n');
          gap = 2;
        }
        if (split < 0) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`http-backend failed (${code}): ${stderr}`);
          resolve(500);
          return;
        }
        const headers: Record<string, string> = {};
        let status = 200;
        for (const line of all.subarray(0, split).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon < 0) continue;
          const key = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (key.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
          else headers[key] = value;
        }
        res.writeHead(status, headers);
        res.end(all.subarray(split + gap));
        resolve(status);
      });
    });
  }
}

function notFound(doc: string) {
  return {
    message: 'Not Found',
    documentation_url: `${DOCS}${doc ? `/${doc}` : ''}`,
    status: '404'
  };
}

function validationFailed(field: string, message: string) {
  return {
    message: 'Repository creation failed.',
    errors: [{ resource: 'Repository', code: 'custom', field, message }],
    documentation_url: `${DOCS}/repos/repos#create-an-organization-repository`,
    status: '422'
  };
}

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
