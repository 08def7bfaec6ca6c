// Shared helpers of the benchmarks (CommonJS, on the compiled dist/ of `npm run build`).
const path = require('node:path');
const fs = require('node:fs');
const DIST = path.join(__dirname, '..', 'dist');
if (!fs.existsSync(path.join(DIST, 'backend-infra', 'pipeline', 'src', 'runner.js'))) {
  console.error('build first: npm --prefix backend-infra run build');
  process.exit(2);
}
const req = p => require(path.join(DIST, p));
// The test helpers point the build-requirement fetch at a dead loopback index (no test
// reaches a public index); a benchmark fetches like the product does, from pip's index,
// unless REPOGUARD_BUILD_REQUIREMENTS_INDEX names one.
process.env.REPOGUARD_BUILD_REQUIREMENTS_INDEX ??= '';
module.exports = {
  runner: req('backend-infra/pipeline/src/runner.js'),
  ledger: req('backend-infra/pipeline/src/ledger.js'),
  scanners: {
    run: req('backend-infra/pipeline/src/scanners/run.js'),
    registry: req('backend-infra/pipeline/src/scanners/registry.js')
  },
  common: req('src/common/index.js'),
  helpers: req('backend-infra/pipeline/test/helpers.js'),
  median(values) {
    const s = [...values].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
};
