// Run the real scan and decide stages (compiled, from backend-infra/dist) on
// one source folder, as the pipeline does after its clone: every known
// scanner in parallel, then the policy. Used by the corpus tests and
// backend-infra/bench/corpus.js / large-scan.js. Build first (npm run build).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DIST = path.resolve(__dirname, '..', '..', 'dist', 'backend-infra', 'pipeline', 'src');
const load = rel => require(path.join(DIST, rel));

/**
 * The repo's scanner folders on PATH (.tools/bin, .venv/bin). Offline SCA reads
 * .tools/osv-db (install-scanners.sh: OSV's live database, or the committed
 * fixture); REPOGUARD_OSV_DATA names a larger data set for benchmarks, e.g.
 * REPOGUARD_OSV_DATA=../shared/data/osv (a folder of <Ecosystem>/all.zip).
 */
function scannerEnvironment() {
  const root = path.resolve(__dirname, '..', '..', '..');
  for (const dir of [path.join(root, '.venv', 'bin'), path.join(root, '.tools', 'bin')]) {
    if (fs.existsSync(dir) && !(process.env.PATH || '').split(':').includes(dir)) {
      process.env.PATH = `${dir}:${process.env.PATH || ''}`;
    }
  }
  const data = process.env.REPOGUARD_OSV_DATA;
  if (data && !process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY) {
    process.env.OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY = path.resolve(data);
  }
}

function knownScannerNames() {
  return [...load('scanners/registry.js').knownScanners().keys()];
}

/**
 * Copy `source` into a scratch folder, run scan + decide on it.
 * options: { name, scanners?, config? (merged into the default config), commitSha?, keep? }
 * Returns { item, ms, naive: findings the naive rule would refuse on }.
 */
async function scanAndDecide(source, options) {
  const { scan } = load('stages/scan.js');
  const { decide } = load('stages/decide.js');
  const { SilentProgress } = load('progress.js');
  const { defaultConfig } = load('workspace.js');
  const { naiveRefuses } = load('policy/index.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-corpus-run-'));
  try {
    fs.cpSync(source, path.join(dir, 'src'), { recursive: true });
    const config = {
      ...defaultConfig(dir),
      scanners: options.scanners || knownScannerNames(),
      scanTimeoutSeconds: 300,
      ...(options.config || {})
    };
    const item = {
      request: {
        request_id: `corpus-${options.name}`.replace(/[^A-Za-z0-9._-]/g, '-'),
        package_name: options.name,
        repo_url: `file://${source}`,
        ref: '',
        requester_email: 'bench@example.com',
        justification: 'corpus',
        requested_at: new Date().toISOString()
      },
      row: 2,
      key: `corpus-${options.name}`.replace(/[^A-Za-z0-9._-]/g, '-'),
      commitSha: options.commitSha || '0'.repeat(40),
      source: 'src'
    };
    const manifest = {
      version: 1,
      mode: 'local',
      executionId: 'corpus',
      createdAt: new Date().toISOString(),
      ledgerSha: '',
      items: [item]
    };
    const ctx = { manifest, dir, config, progress: new SilentProgress('corpus') };
    const t0 = Date.now();
    await scan(ctx);
    const scanMs = Date.now() - t0;
    await decide(ctx, { waivers: options.waivers || '' });
    return { item, ms: Date.now() - t0, scanMs, naive: naiveRefuses(item.scanners || []) };
  } finally {
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Run `work` over `items`, `limit` at a time, keeping order. */
async function pool(items, limit, work) {
  const out = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** A one-line why: the gate(s) and first drivers, or the error. */
function summary(item) {
  if (item.decision === 'approved') return '';
  return item.reason || '';
}

module.exports = { scanAndDecide, scannerEnvironment, knownScannerNames, pool, summary, DIST };
