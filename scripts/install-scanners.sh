#!/usr/bin/env bash
# Install RepoGuard's scanners, pinned, into .tools/ (or $REPOGUARD_TOOLS):
#   .tools/venvs/<tool>/   one Python virtual environment per Python scanner, so
#                          their pins never fight each other or JupyterLab's
#   .tools/bin/            every scanner executable (links), the only directory
#                          the pipeline looks in (scannerBinDir / REPOGUARD_SCANNER_BIN)
# Used by scripts/setup.sh (tests, demo) and by backend-infra/docker/scanner.Dockerfile
# (CodeBuild), so development and production scan with the same versions.
# Idempotent: a tool already at its pinned version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${REPOGUARD_TOOLS:-$PWD/.tools}
PYTHON=${PYTHON:-python3}

# --- pins -----------------------------------------------------------------
PY_TOOLS=(
  "semgrep|semgrep==1.180.0|semgrep pysemgrep"
  "bandit|bandit[sarif]==1.9.4|bandit"
  "checkov|checkov==3.3.30|checkov"
  "guarddog|guarddog==3.2.0|guarddog"
)
GO_TOOLS=(
  "gitleaks|github.com/zricethezav/gitleaks/v8@v8.30.0"
  # v2.6.0 needs Go 1.27; v2.5.0 builds with the Go 1.26 here.
  "osv-scanner|github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.5.0"
)

mkdir -p "$TOOLS/bin" "$TOOLS/venvs"
for entry in "${PY_TOOLS[@]}"; do
  IFS='|' read -r name spec bins <<<"$entry"
  venv=$TOOLS/venvs/$name
  if [ "$(cat "$venv/.pin" 2>/dev/null)" != "$spec" ]; then
    echo "scanners: installing $spec"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$spec"
    echo "$spec" >"$venv/.pin"
  fi
  for bin in $bins; do ln -sf "$venv/bin/$bin" "$TOOLS/bin/$bin"; done
done

for entry in "${GO_TOOLS[@]}"; do
  IFS='|' read -r name module <<<"$entry"
  if [ "$(cat "$TOOLS/bin/.$name.pin" 2>/dev/null)" != "$module" ]; then
    command -v go >/dev/null || { echo "scanners: Go is required to build $name" >&2; exit 1; }
    echo "scanners: building $module (go install)"
    GOBIN=$TOOLS/bin GOTOOLCHAIN=local go install "$module"
    echo "$module" >"$TOOLS/bin/.$name.pin"
  fi
done
# osv-scanner's offline database (.tools/osv-db/osv-scalibr/<Ecosystem>/all.zip,
# read by the pipeline's osv adapter when OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY
# is unset): the advisories kept in ../shared/data/osv when present.
OSV_DATA=${REPOGUARD_OSV_DATA:-$PWD/../shared/data/osv}
if [ -d "$OSV_DATA" ]; then
  mkdir -p "$TOOLS/osv-db"
  ln -sfn "$(cd "$OSV_DATA" && pwd)" "$TOOLS/osv-db/osv-scalibr"
fi
echo "scanners: ready in $TOOLS/bin"
