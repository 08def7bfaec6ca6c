// Fetch the benign corpus (corpus/benign.json) from the registries, into a
// cache folder so that reruns do not refetch: env REPOGUARD_CORPUS_CACHE,
// default $TMPDIR/repoguard-corpus-cache. Each archive is unpacked once into
// CACHE/src/<ecosystem>-<name>-<version>.
//
// By URL from the registries' own JSON APIs, nothing built: PyPI's simple
// API (PEP 691 JSON, the one pip reads; PIP_INDEX_URL when set) gives the
// sdist's URL and sha256, npm's registry (npm_config_registry) the tarball's
// URL and sha512 integrity; each download is checked against its digest.
// (`pip download --no-binary :all:` built each sdist's metadata, and so
// compiled Cython from source for pyyaml: minutes, for a file we only unpack.)
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LIST = path.join(__dirname, 'benign.json');
const TIMEOUT_MS = 60_000;
const PARALLEL = 4;

function cacheDir() {
  return process.env.REPOGUARD_CORPUS_CACHE || path.join(os.tmpdir(), 'repoguard-corpus-cache');
}

/** PEP 503 normalized project name. */
function normalize(name) {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function pypiIndex() {
  return (process.env.PIP_INDEX_URL || 'https://pypi.org/simple').replace(/\/+$/, '');
}

function npmRegistry() {
  return (process.env.npm_config_registry || 'https://registry.npmjs.org').replace(/\/+$/, '');
}

/** The URL without credentials, for messages. */
function shown(url) {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return `${u.origin}${u.pathname}`;
}

async function get(url, accept) {
  const { default: pRetry, AbortError } = await import('p-retry');
  return pRetry(
    async () => {
      const response = await fetch(url, {
        headers: accept ? { Accept: accept } : {},
        signal: AbortSignal.timeout(TIMEOUT_MS)
      });
      if (response.status === 404) throw new AbortError(`${shown(url)}: 404 Not Found`);
      if (!response.ok) throw new Error(`${shown(url)}: HTTP ${response.status}`);
      return response;
    },
    { retries: 2, minTimeout: 500 }
  );
}

/** The sdist of name==version: { url, filename, algorithm, digest } from PyPI's simple API. */
async function pypiSdist(name, version) {
  const index = `${pypiIndex()}/${normalize(name)}/`;
  const response = await get(index, 'application/vnd.pypi.simple.v1+json');
  const type = response.headers.get('content-type') || '';
  let files;
  if (type.includes('json')) {
    files = (await response.json()).files.map(f => ({
      filename: f.filename,
      url: new URL(f.url, index).href,
      sha256: f.hashes && f.hashes.sha256
    }));
  } else {
    // An index serving only PEP 503 HTML: <a href="URL#sha256=...">filename</a>.
    const html = await response.text();
    files = [...html.matchAll(/<a\s[^>]*href="([^"]+)"[^>]*>([^<]+)<\/a>/gi)].map(m => {
      const href = m[1].replace(/&amp;/g, '&');
      return {
        filename: m[2].trim(),
        url: new URL(href.split('#')[0], index).href,
        sha256: (href.match(/#sha256=([0-9a-f]{64})/) || [])[1]
      };
    });
  }
  const sdist = files.find(f => {
    const m = f.filename.match(/^(.+)-([^-]+)\.(tar\.gz|zip)$/);
    return m && normalize(m[1]) === normalize(name) && m[2] === version;
  });
  if (!sdist) throw new Error(`PyPI has no sdist of ${name}==${version} (${shown(index)})`);
  if (!sdist.sha256) throw new Error(`PyPI lists no sha256 for ${sdist.filename}`);
  return { url: sdist.url, filename: sdist.filename, algorithm: 'sha256', digest: sdist.sha256 };
}

/** The tarball of name@version: { url, filename, algorithm, digest } from the npm registry. */
async function npmTarball(name, version) {
  const meta = `${npmRegistry()}/${name.replace('/', '%2f')}/${encodeURIComponent(version)}`;
  const dist = (await (await get(meta, 'application/json')).json()).dist || {};
  const integrity = String(dist.integrity || '').match(/^sha512-([A-Za-z0-9+/=]+)$/);
  if (!dist.tarball || !integrity) {
    throw new Error(`npm lists no tarball with sha512 integrity for ${name}@${version}`);
  }
  return {
    url: dist.tarball,
    filename: `${name.replace('@', '').replace('/', '-')}-${version}.tgz`,
    algorithm: 'sha512',
    digest: Buffer.from(integrity[1], 'base64').toString('hex')
  };
}

/** Download `file` into dir, checked against its digest; returns the archive's path. */
async function download(file, dir) {
  const body = Buffer.from(await (await get(file.url)).arrayBuffer());
  const actual = createHash(file.algorithm).update(body).digest('hex');
  if (actual !== file.digest) {
    throw new Error(`${file.filename}: ${file.algorithm} mismatch (got ${actual.slice(0, 16)}…)`);
  }
  if (path.basename(file.filename) !== file.filename) {
    throw new Error(`unsafe archive name ${JSON.stringify(file.filename)}`);
  }
  const target = path.join(dir, file.filename);
  fs.writeFileSync(`${target}.partial`, body);
  fs.renameSync(`${target}.partial`, target);
  return target;
}

function unpack(archive, dest) {
  const tmp = `${dest}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  if (archive.endsWith('.zip')) {
    execFileSync('python3', ['-m', 'zipfile', '-e', archive, tmp]);
  } else {
    execFileSync('tar', ['-xzf', archive, '-C', tmp, '--no-same-owner']);
  }
  // Archives hold one top folder (name-version/ or package/): use its content.
  const entries = fs.readdirSync(tmp);
  const top =
    entries.length === 1 && fs.statSync(path.join(tmp, entries[0])).isDirectory()
      ? path.join(tmp, entries[0])
      : tmp;
  fs.renameSync(top, dest);
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** Fetch (or reuse) one package; resolves to its unpacked source folder. */
async function fetchOne(pkg, cache = cacheDir()) {
  const key = `${pkg.ecosystem}-${pkg.name}-${pkg.version}`;
  const src = path.join(cache, 'src', key);
  if (fs.existsSync(src)) return src;
  const dl = path.join(cache, 'archives', key);
  fs.mkdirSync(dl, { recursive: true });
  let archive = fs.readdirSync(dl).find(f => /\.(tar\.gz|tgz|zip)$/.test(f));
  if (archive) {
    archive = path.join(dl, archive);
  } else if (pkg.ecosystem === 'pypi') {
    archive = await download(await pypiSdist(pkg.name, pkg.version), dl);
  } else if (pkg.ecosystem === 'npm') {
    archive = await download(await npmTarball(pkg.name, pkg.version), dl);
  } else {
    throw new Error(`unknown ecosystem ${pkg.ecosystem}`);
  }
  fs.mkdirSync(path.dirname(src), { recursive: true });
  unpack(archive, src);
  return src;
}

/** The benign list, each with `dir` (fetched, 4 at a time, or cached). */
async function fetchBenign(list = JSON.parse(fs.readFileSync(LIST, 'utf8')).packages) {
  const { pool } = require('./harness');
  return pool(list, PARALLEL, async pkg => ({ ...pkg, dir: await fetchOne(pkg) }));
}

function countLines(dir, ext = '.py') {
  let n = 0;
  const walk = d => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext)) n += fs.readFileSync(p, 'utf8').split('\n').length - 1;
    }
  };
  walk(dir);
  return n;
}

module.exports = { fetchBenign, fetchOne, cacheDir, countLines, LIST };
