#!/usr/bin/env bash
# Install RepoGuard's scanners, pinned, into .tools/ (or $REPOGUARD_TOOLS):
#   .tools/venvs/<tool>/   one Python virtual environment per Python scanner, so
#                          their pins never fight each other or JupyterLab's
#   .tools/bin/            every scanner executable (links), the only directory
#                          the pipeline looks in (scannerBinDir / REPOGUARD_SCANNER_BIN)
#   .tools/osv-db/         osv-scanner's offline advisory database and its SOURCE.json
#                          (source, date, records, ecosystems), from, in this order:
#                          REPOGUARD_OSV_DATA (a folder of <Ecosystem>/all.zip, e.g.
#                          ../shared/data/osv for benchmarks); OSV's live database,
#                          downloaded when online (REPOGUARD_OSV_DOWNLOAD=0 skips it,
#                          =required fails without it; REPOGUARD_OSV_ECOSYSTEMS, default
#                          "PyPI npm crates.io Go"; kept for a day); else the committed fixture,
#                          backend-infra/pipeline/advisories (65 real PyPI records).
# Used by scripts/setup.sh (tests, demo) and by backend-infra/docker/scanner.Dockerfile
# (CodeBuild), so development and production scan with the same versions.
# Idempotent: a tool already at its pinned version is left alone. The Go builds
# run in the background while the Python scanners install (Go's build and module
# caches, ~/.cache/go-build and ~/go/pkg/mod, make a rebuild in a new clone fast).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=${REPOGUARD_TOOLS:-$PWD/.tools}
PYTHON=${PYTHON:-python3}
t0=$SECONDS
took() { echo "scanners: $1 in $((SECONDS - $2))s"; }

# --- pins -----------------------------------------------------------------
PY_TOOLS=(
  "semgrep|semgrep==1.180.0|semgrep pysemgrep"
  "bandit|bandit[sarif]==1.9.4|bandit"
  "checkov|checkov==3.3.30|checkov"
  "guarddog|guarddog==3.2.0|guarddog"
  "picklescan|picklescan==1.0.5|picklescan"
)
GO_TOOLS=(
  "gitleaks|github.com/zricethezav/gitleaks/v8@v8.30.0"
  # v2.6.0 needs Go 1.27; v2.5.0 builds with the Go 1.26 here.
  "osv-scanner|github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.5.0"
)

mkdir -p "$TOOLS/bin" "$TOOLS/venvs"

# Go builds (CPU-bound) in the background while pip (mostly I/O) works.
go_builds() {
  for entry in "${GO_TOOLS[@]}"; do
    IFS='|' read -r name module <<<"$entry"
    if [ "$(cat "$TOOLS/bin/.$name.pin" 2>/dev/null)" != "$module" ]; then
      command -v go >/dev/null || { echo "scanners: Go is required to build $name" >&2; return 1; }
      echo "scanners: building $module (go install)"
      local start=$SECONDS
      # (its "go: downloading <module>" lines left out)
      { GOBIN=$TOOLS/bin GOTOOLCHAIN=local go install "$module"; } 2>&1 |
        { grep -v '^go: downloading ' || true; }
      echo "$module" >"$TOOLS/bin/.$name.pin"
      took "built $name" "$start"
    fi
  done
}
go_builds &
go_pid=$!

for entry in "${PY_TOOLS[@]}"; do
  IFS='|' read -r name spec bins <<<"$entry"
  venv=$TOOLS/venvs/$name
  if [ "$(cat "$venv/.pin" 2>/dev/null)" != "$spec" ]; then
    echo "scanners: installing $spec"
    start=$SECONDS
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$spec"
    echo "$spec" >"$venv/.pin"
    took "installed $name" "$start"
  fi
  for bin in $bins; do ln -sf "$venv/bin/$bin" "$TOOLS/bin/$bin"; done
done

# --- advisory data (osv-scanner's offline database) ---------------------------
OSV_DB=$TOOLS/osv-db
OSV_DB_PY=$ROOT/scripts/osv-db.py
fixture=$ROOT/backend-infra/pipeline/advisories
downloaded_recently() { # a download less than a day old
  grep -q '"kind": "download"' "$OSV_DB/SOURCE.json" 2>/dev/null &&
    [ -n "$(find "$OSV_DB/SOURCE.json" -mmin -1440 2>/dev/null)" ]
}
if [ -n "${REPOGUARD_OSV_DATA:-}" ]; then
  echo "scanners: advisory data from REPOGUARD_OSV_DATA=$REPOGUARD_OSV_DATA"
  "$PYTHON" "$OSV_DB_PY" link "$REPOGUARD_OSV_DATA" "$OSV_DB"
elif downloaded_recently; then
  echo "scanners: advisory data kept (downloaded less than a day ago)"
elif [ "${REPOGUARD_OSV_DOWNLOAD:-1}" != 0 ] &&
  # shellcheck disable=SC2086 # the ecosystems are words
  "$PYTHON" "$OSV_DB_PY" download "$OSV_DB" ${REPOGUARD_OSV_ECOSYSTEMS:-PyPI npm crates.io Go}; then
  echo "scanners: advisory data downloaded"
elif [ "${REPOGUARD_OSV_DOWNLOAD:-1}" = required ]; then
  echo "scanners: REPOGUARD_OSV_DOWNLOAD=required, and the OSV database could not be downloaded" >&2
  exit 1
else
  echo "scanners: offline: advisory data from the committed fixture ($fixture)"
  "$PYTHON" "$OSV_DB_PY" fixture "$fixture" "$OSV_DB"
fi

REPOGUARD_TOOLS=$TOOLS PYTHON=$PYTHON bash "$ROOT/scripts/install-sandbox-python.sh"  # the dynamic scanner's offline build backends + coverage
if ! wait "$go_pid"; then
  echo "scanners: a Go build failed" >&2
  exit 1
fi
# gitleaks' pinned configuration: the default rules of the pinned release (from Go's
# module cache, not copied into this repo) with RepoGuard's global path allowlist.
gitleaks_module=$(printf '%s\n' "${GO_TOOLS[@]}" | sed -n 's/^gitleaks|//p')
gitleaks_src=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$gitleaks_module" |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
"$PYTHON" "$ROOT/scripts/gitleaks-config.py" "$gitleaks_src/config/gitleaks.toml" \
  "$ROOT/backend-infra/pipeline/scanner-config/gitleaks-paths.toml" "$TOOLS/scanner-config/gitleaks.toml"
took "ready in $TOOLS/bin" "$t0"
