#!/usr/bin/env bash
# Install everything RepoGuard needs on a Debian machine with Node 20 and
# Python 3.11, then build it. Idempotent: a second run only checks stamps.
#
#   system packages (apt): git, chromium, bubblewrap, strace
#   JS: npm ci in ., backend-infra/ and ui-tests/ (one lock file each)
#   Python: .venv with repoguard installed editable and the test tools
#   scanners: scripts/install-scanners.sh (pinned, isolated) into .tools/bin
#   build: the labextension, the pipeline CLI; the extension linked into .venv
# The scanners (Go builds, CPU-bound) install in the background while npm
# (mostly network) installs the three JS projects in parallel; each step prints
# its start time, so a slow step shows in the log. Caches stay where each tool
# keeps them (~/.npm, ~/.cache/pip, ~/.cache/go-build, ~/go/pkg/mod), so a new
# clone on the same machine installs from them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=$ROOT/.venv/.repoguard-stamps
export CDK_DISABLE_CLI_TELEMETRY=true
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

t0=$SECONDS
step() { printf '\n\033[1m==> [%ss] %s\033[0m\n' "$((SECONDS - t0))" "$*"; }

# --- system packages -------------------------------------------------------
missing=()
command -v git >/dev/null || missing+=(git)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v strace >/dev/null || missing+=(strace)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
node -e 'if (+process.versions.node.split(".")[0] < 20) { console.error("Node.js >= 20 is required, found " + process.version); process.exit(1) }'
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is required")'

# --- stamps: redo a step only when its inputs changed -----------------------
digest() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
stamp_ok() { # name, files...: true when the files are unchanged since stamp_done
  local name=$1; shift
  [ -f "$STAMPS/$name" ] && [ "$(cat "$STAMPS/$name")" = "$(digest "$@")" ]
}
stamp_done() { # name, files...
  local name=$1; shift
  mkdir -p "$STAMPS"; digest "$@" > "$STAMPS/$name"
}

# --- Python environment ------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  step "python: creating .venv"
  python3 -m venv .venv
fi
if ! stamp_ok python pyproject.toml; then
  step "python: installing the builder and JupyterLab into .venv"
  .venv/bin/pip install -q --upgrade pip
  # What the JS build needs before repoguard itself can be installed.
  .venv/bin/pip install -q "jupyter-builder>=1.2,<2" "jupyterlab>=4.6.4,<4.7"
  stamp_done python pyproject.toml
fi
step "scanners: pinned, one venv each, links in .tools/bin (in the background)"
mkdir -p .tools
SCANNER_LOG=$ROOT/.tools/install-scanners.log
bash scripts/install-scanners.sh >"$SCANNER_LOG" 2>&1 &
scanners_pid=$!
# A failed step ends setup: stop the background install with it.
trap '[ -z "${scanners_pid:-}" ] || kill "$scanners_pid" 2>/dev/null || true' EXIT
export PATH=$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH

# --- JavaScript dependencies (the three projects in parallel) ----------------
npm_pids=()
npm_dirs=()
for dir in . backend-infra ui-tests; do
  name=npm-$(echo "$dir" | tr './' '__')
  if [ ! -d "$dir/node_modules" ] || ! stamp_ok "$name" "$dir/package-lock.json"; then
    step "npm: installing $dir"
    # npm install, not npm ci: the registry here lacks some optional platform
    # binaries (e.g. @rspack/binding-darwin-*), which makes npm ci refuse the lock.
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) >"$ROOT/.tools/$name.log" 2>&1 &
    npm_pids+=($!)
    npm_dirs+=("$dir")
  fi
done
for i in "${!npm_pids[@]}"; do
  dir=${npm_dirs[$i]}
  name=npm-$(echo "$dir" | tr './' '__')
  if ! wait "${npm_pids[$i]}"; then
    cat "$ROOT/.tools/$name.log" >&2
    echo "setup: npm install failed in $dir" >&2
    exit 1
  fi
  printf '  %s: %s\n' "$dir" "$(tail -n 1 "$ROOT/.tools/$name.log")"
  stamp_done "$name" "$dir/package-lock.json"
done
[ ${#npm_pids[@]} -eq 0 ] || step "npm: done"

# --- build ------------------------------------------------------------------
step "build: frontend (labextension) and pipeline CLI"
npm run --silent build:lib
if [ ! -f repoguard/labextension/package.json ] || [ -n "$(find src style schema package.json -newer repoguard/labextension/package.json -print -quit)" ]; then
  npm run --silent build:labextension:dev
fi
(cd backend-infra && npm run --silent build)

if ! stamp_ok editable pyproject.toml package.json; then
  step "python: installing repoguard (editable) and linking the labextension"
  # The labextension was just built above; skip the npm step of the wheel hook.
  HATCH_JUPYTER_BUILDER_SKIP_NPM=1 .venv/bin/pip install -q -e ".[server,aws,test,dev]"
  stamp_done editable pyproject.toml package.json
fi
.venv/bin/jupyter-builder develop . --overwrite >/dev/null
.venv/bin/jupyter server extension enable repoguard --sys-prefix >/dev/null 2>&1

step "scanners: waiting for the background install"
scanners_ok=0
wait "$scanners_pid" || scanners_ok=$?
scanners_pid=
cat "$SCANNER_LOG"
if [ "$scanners_ok" -ne 0 ]; then
  echo "setup: scripts/install-scanners.sh failed (exit $scanners_ok; log above: $SCANNER_LOG)" >&2
  exit 1
fi
printf '\nsetup: done in %ss\n' "$((SECONDS - t0))"
