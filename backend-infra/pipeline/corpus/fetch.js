// Fetch the benign corpus (corpus/benign.json) from the registries with their
// own clients: `pip download --no-deps --no-binary :all:` (PyPI sdists) and
// `npm pack` (npm tarballs), into a cache folder so that reruns do not
// refetch: env REPOGUARD_CORPUS_CACHE, default $TMPDIR/repoguard-corpus-cache.
// Each archive is unpacked once into CACHE/src/<ecosystem>-<name>-<version>.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LIST = path.join(__dirname, 'benign.json');

function cacheDir() {
  return process.env.REPOGUARD_CORPUS_CACHE || path.join(os.tmpdir(), 'repoguard-corpus-cache');
}

function pip() {
  const venv = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'pip');
  return fs.existsSync(venv) ? [venv] : ['python3', '-m', 'pip'];
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

/** Fetch (or reuse) one package; returns its unpacked source folder. */
function fetchOne(pkg, cache = cacheDir()) {
  const key = `${pkg.ecosystem}-${pkg.name}-${pkg.version}`;
  const src = path.join(cache, 'src', key);
  if (fs.existsSync(src)) return src;
  const dl = path.join(cache, 'archives', key);
  fs.mkdirSync(dl, { recursive: true });
  let archive = fs.readdirSync(dl).find(f => /\.(tar\.gz|tgz|zip)$/.test(f));
  if (!archive) {
    if (pkg.ecosystem === 'pypi') {
      const [cmd, ...pre] = pip();
      execFileSync(
        cmd,
        [
          ...pre,
          'download',
          '--no-deps',
          '--no-binary',
          ':all:',
          '--quiet',
          `${pkg.name}==${pkg.version}`,
          '-d',
          dl
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] }
      );
    } else if (pkg.ecosystem === 'npm') {
      execFileSync('npm', ['pack', '--silent', `${pkg.name}@${pkg.version}`], {
        cwd: dl,
        stdio: ['ignore', 'ignore', 'pipe']
      });
    } else {
      throw new Error(`unknown ecosystem ${pkg.ecosystem}`);
    }
    archive = fs.readdirSync(dl).find(f => /\.(tar\.gz|tgz|zip)$/.test(f));
    if (!archive) throw new Error(`no archive for ${key}`);
  }
  fs.mkdirSync(path.dirname(src), { recursive: true });
  unpack(path.join(dl, archive), src);
  return src;
}

/** The benign list, each with `dir` (fetched or cached). */
function fetchBenign(list = JSON.parse(fs.readFileSync(LIST, 'utf8')).packages) {
  return list.map(pkg => ({ ...pkg, dir: fetchOne(pkg) }));
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
