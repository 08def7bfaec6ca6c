#!/usr/bin/env node
// Benchmark: the policy on the two corpora, through the real scan + decide
// stages (every known scanner in parallel per package, 2 packages at a time).
//   node backend-infra/bench/corpus.js [--benign-only|--malicious-only] [--jobs 2]
// Benign: pipeline/corpus/benign.json, fetched by URL from PyPI / npm (digest-checked)
// into a cache (env REPOGUARD_CORPUS_CACHE, default $TMPDIR/repoguard-corpus-cache).
// Malicious: pipeline/corpus/malicious.js, written at run time.
// Prints a table per corpus and a JSON summary line; exits 1 when a target is missed
// (malicious: 100% refused; benign: at most 1 refused).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
require('./common'); // checks the build
const harness = require('../pipeline/corpus/harness');
const { fetchBenign } = require('../pipeline/corpus/fetch');
const { buildMalicious } = require('../pipeline/corpus/malicious');

const args = process.argv.slice(2);
const jobs = Number(args[args.indexOf('--jobs') + 1]) || 2;
const only = args.includes('--benign-only')
  ? 'benign'
  : args.includes('--malicious-only')
    ? 'malicious'
    : null;

function table(rows) {
  const cols = Object.keys(rows[0]);
  const width = cols.map(c => Math.max(c.length, ...rows.map(r => String(r[c]).length)));
  const line = r => cols.map((c, i) => String(r[c]).padEnd(width[i])).join('  ');
  return [
    line(Object.fromEntries(cols.map(c => [c, c]))),
    width.map(w => '-'.repeat(w)).join('  '),
    ...rows.map(line)
  ].join('\n');
}

async function runCorpus(label, packages) {
  const t0 = Date.now();
  const results = await harness.pool(packages, jobs, async p => {
    const r = await harness.scanAndDecide(p.dir, { name: p.name });
    return { p, r };
  });
  const rows = results.map(({ p, r }) => ({
    package: p.version ? `${p.ecosystem}:${p.name}==${p.version}` : p.name,
    kind: p.kind || '',
    decision: r.item.decision,
    naive: r.naive.length > 0 ? 'refuse' : 'approve',
    seconds: (r.ms / 1000).toFixed(1),
    why: (r.item.reason || '').slice(0, 160)
  }));
  console.log(
    `\n${label} (${packages.length} packages, ${((Date.now() - t0) / 1000).toFixed(0)}s wall, ${jobs} at a time)\n`
  );
  console.log(table(rows));
  return { rows, results, wallMs: Date.now() - t0 };
}

(async () => {
  harness.scannerEnvironment();
  const summary = { benchmark: 'corpus', scanners: harness.knownScannerNames() };
  let pass = true;
  if (only !== 'malicious') {
    const benign = await runCorpus('Benign corpus', await fetchBenign());
    const refused = benign.rows.filter(r => r.decision !== 'approved');
    summary.benign = {
      packages: benign.rows.length,
      refused: refused.length,
      which: refused.map(r => `${r.package}: ${r.decision}: ${r.why}`),
      naiveRuleRefused: benign.rows.filter(r => r.naive === 'refuse').length,
      wallSeconds: Math.round(benign.wallMs / 1000)
    };
    pass = pass && refused.length <= 1;
  }
  if (only !== 'benign') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-malicious-'));
    try {
      const mal = await runCorpus('Malicious corpus', buildMalicious(dir));
      const refused = mal.rows.filter(r => r.decision === 'refused').length;
      summary.malicious = {
        packages: mal.rows.length,
        refused,
        refusedPercent: Math.round((100 * refused) / mal.rows.length),
        notRefused: mal.rows
          .filter(r => r.decision !== 'refused')
          .map(r => `${r.package}: ${r.decision}`),
        naiveRuleRefused: mal.rows.filter(r => r.naive === 'refuse').length,
        wallSeconds: Math.round(mal.wallMs / 1000)
      };
      pass = pass && refused === mal.rows.length;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  summary.pass = pass;
  console.log('\n' + JSON.stringify(summary));
  process.exit(pass ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(2);
});
