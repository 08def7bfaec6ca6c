#!/usr/bin/env bash
# Install everything (scripts/setup.sh), then start the embedded demo:
# a workspace with two sample sources, the local pipeline runner, and
# JupyterLab with the RepoGuard panel at the printed URL. Ctrl-C stops it all.
#
#   REPOGUARD_WORKSPACE  workspace folder (default: ./workspace)
#   PORT                 JupyterLab port (default: 8888)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh
export PATH=$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH
export REPOGUARD_WORKSPACE=${REPOGUARD_WORKSPACE:-$ROOT/workspace}
PORT=${PORT:-8888}
WS=$REPOGUARD_WORKSPACE
# The SCA scanner runs offline against .tools/osv-db (install-scanners.sh: OSV's
# live database when it was online, else the committed fixture); its SOURCE.json
# says which, and so do /repoguard/health and every report.
advisories=$(python3 - "${OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY:-$ROOT/.tools/osv-db}/SOURCE.json" <<'PY' 2>/dev/null || echo "unknown (no SOURCE.json)"
import json, sys
d = json.load(open(sys.argv[1]))
mode = "offline, on the bundled fixture" if d.get("kind") == "fixture" else "offline"
print("%s, dated %s (%s)" % (d["source"], d["date"], mode))
PY
)
pipeline() { node "$ROOT/backend-infra/pipeline/bin/repoguard-pipeline.js" "$@"; }

pipeline init --local "$WS"

# Sample sources, as git repos under the workspace's allowed local root.
for sample in demo/samples/*/; do
  name=$(basename "$sample")
  dest=$WS/sources/$name
  if [ ! -d "$dest/.git" ]; then
    mkdir -p "$dest"
    cp -R "$sample". "$dest/"
    git -C "$dest" init -q -b main
    git -C "$dest" add -A
    git -C "$dest" -c user.name=RepoGuard -c user.email=repoguard@localhost commit -qm "$name sample"
  fi
done

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if pipeline --help | grep -q '^  watch'; then
  pipeline watch --local "$WS" >"$WS/pipeline.log" 2>&1 &
  pids+=($!)
  runner="local runner watching $WS/requests.git (log: $WS/pipeline.log)"
else
  runner="no local runner in this version: run \`npx repoguard-pipeline run --local $WS\` by hand"
fi

TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
extra=()
[ "$(id -u)" -ne 0 ] || extra+=(--allow-root)
cat <<MSG

RepoGuard demo
  JupyterLab: http://127.0.0.1:$PORT/lab?token=$TOKEN
  workspace:  $WS
  pipeline:   $runner
  advisories: $advisories
  try these in the RepoGuard panel (Repository URL):
    file://$WS/sources/clean-greeter   (approved)
    file://$WS/sources/shell-runner    (refused)
Ctrl-C stops the demo.

MSG
jupyter lab --no-browser --ip=127.0.0.1 --port="$PORT" --port-retries=0 \
  --IdentityProvider.token="$TOKEN" --ServerApp.root_dir="$ROOT/demo" "${extra[@]}" &
pids+=($!)
wait "${pids[-1]}"
