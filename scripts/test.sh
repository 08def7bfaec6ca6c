#!/usr/bin/env bash
# Install everything (scripts/setup.sh), then run every check and test suite:
# lint, jest (frontend), pytest (server extension, magic, ledger), backend-infra
# (CDK jest tests, cdk-nag, checkov, pipeline node:test), Galata in Chromium.
# Every suite runs even when an earlier one fails; the exit code says if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh || exit 1
export PATH=$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH
export CDK_DISABLE_CLI_TELEMETRY=true
# Scanners never go online in tests; the SCA scan reads the local advisory data.
export REPOGUARD_OSV_ONLINE=0
# The benign corpus (25 popular packages from PyPI and npm, cached) runs too.
export REPOGUARD_CORPUS=1 REPOGUARD_CORPUS_CACHE=${REPOGUARD_CORPUS_CACHE:-$ROOT/.tools/corpus-cache}

failed=()
summary=()
suite() { # name, command...
  local name=$1; shift
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local start=$SECONDS
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - start))s)")
  else
    failed+=("$name")
    summary+=("FAIL  $name ($((SECONDS - start))s)")
  fi
}

suite "lint: prettier" npx prettier --check --log-level warn .
suite "lint: eslint" npx eslint .
suite "lint: ruff" bash -c "ruff check . && ruff format --check ."
suite "jest: frontend" npx jest
suite "pytest: server extension, magic, ledger" python -m pytest -q -p no:cacheprovider
suite "backend-infra: CDK, cdk-nag, checkov, pipeline" bash -c "cd backend-infra && npm test --silent"
# A leftover server on Galata's fixed port would serve stale code.
if command -v fuser >/dev/null; then fuser -k 8888/tcp >/dev/null 2>&1 || true; fi
suite "galata: JupyterLab in Chromium" bash -c "cd ui-tests && CI=true npx playwright test"

printf '\n\033[1mSummary\033[0m\n'
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "Failed: ${failed[*]}"
  exit 1
fi
echo "All suites passed."
