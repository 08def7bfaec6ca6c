#!/usr/bin/env bash
# Benchmarks of the RepoGuard panel (issue 5), each printed as one BENCH line:
#   1. the extension's own JS, gzipped, after a production build   (≤ 150 KB)
#   2. polling when nothing changed: 304s and no GitHub/ledger read (0 calls)
#   3. Galata in Chromium: request submitted → visible in the panel (≤ 1 s) and
#      the Approved list with 10,000 rows: render and each keystroke (≤ 100 ms)
# Usage: scripts/bench-panel.sh [size|polling|browser]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$ROOT/.venv/bin:$PATH
# browser runs on whatever build is in place: after "size", the production one.
what=${*:-size polling browser dev}

for step in $what; do
  case $step in
    size)
      npm run --silent build:prod >/dev/null
      node -e '
        const fs = require("fs"), path = require("path"), zlib = require("zlib");
        const dir = "repoguard/labextension/static";
        let raw = 0, gz = 0;
        for (const f of fs.readdirSync(dir).filter(f => f.endsWith(".js"))) {
          const data = fs.readFileSync(path.join(dir, f));
          raw += data.length; gz += zlib.gzipSync(data, { level: 9 }).length;
        }
        const kb = n => (n / 1024).toFixed(1);
        console.log(`BENCH js-size ${kb(gz)} KB gzipped (${kb(raw)} KB raw) in ${dir} — budget 150 KB`);
        if (gz > 150 * 1024) process.exit(1);'
      ;;
    polling)
      python -m pytest -q -p no:cacheprovider repoguard/tests/test_handlers.py \
        -k "unchanged_poll" 2>&1 | tail -1
      echo "BENCH polling: 20 unchanged polls → 20 × 304, 0 request-repo reads, 0 extra tip look-ups (test_fake_aws_unchanged_poll_costs_no_github_call)"
      ;;
    browser)
      fuser -k 8888/tcp 2>/dev/null || true
      (cd ui-tests && CI=1 npx playwright test bench/ tests/panel.spec.ts -g "approved list|clean repo" 2>&1) |
        grep -E "BENCH|passed|failed"
      ;;
    dev)
      npm run --silent build >/dev/null # back to the development build
      ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
