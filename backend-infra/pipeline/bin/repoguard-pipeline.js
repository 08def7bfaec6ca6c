#!/usr/bin/env node
// Entry point of the stage CLI; the code is TypeScript compiled to dist/ by `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', '..', 'dist', 'backend-infra', 'pipeline', 'src', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error(
    'repoguard-pipeline is not built yet: run `npm --prefix backend-infra run build` (or the README setup command).'
  );
  process.exit(2);
}
require(cli)
  .main(process.argv)
  .catch(error => {
    console.error(`repoguard-pipeline: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
