#!/usr/bin/env bash
# Assembles the tool set of docker/scanner.Dockerfile into a folder, without
# Docker: DIR/bin holds every executable the stage code calls (the pinned
# scanners of scripts/install-scanners.sh, node and npm, python3, git,
# bubblewrap, strace) and repoguard-pipeline; DIR/tools the scanners' install.
#   usage: scripts/assemble-scanner-image.sh DIR [--tools-from TOOLS_DIR]
# --tools-from reuses an existing scripts/install-scanners.sh folder (e.g. the
# repo's .tools) instead of installing the scanners again into DIR/tools.
# The system tools are linked from this machine (the image installs them with
# apt: git bubblewrap strace; node 20 and npm from the node image).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${1:?usage: assemble-scanner-image.sh DIR [--tools-from TOOLS_DIR]}"
tools_from=""
if [ "${2:-}" = "--tools-from" ]; then tools_from="$(cd "${3:?--tools-from needs a folder}" && pwd)"; fi
mkdir -p "$dir/bin"
dir="$(cd "$dir" && pwd)"

if [ -n "$tools_from" ]; then
  ln -sfn "$tools_from" "$dir/tools"
else
  REPOGUARD_TOOLS="$dir/tools" bash "$root/scripts/install-scanners.sh"
fi
for tool in "$dir"/tools/bin/*; do
  ln -sf "$tool" "$dir/bin/$(basename "$tool")"
done

need() { command -v "$1" >/dev/null || { echo "assemble-scanner-image: $1 is not installed (${2:-apt-get install $1})" >&2; exit 2; }; }
for tool in git bwrap strace python3 node; do need "$tool"; done
for tool in git bwrap strace python3; do ln -sf "$(command -v "$tool")" "$dir/bin/$tool"; done
# node and npm as the image has them: the node binary and npm's own folder from the same install.
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$node_bin")/../lib/node_modules/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "assemble-scanner-image: no npm beside $node_bin" >&2; exit 2; }
ln -sf "$node_bin" "$dir/bin/node"
ln -sf "$(cd "$npm_dir" && pwd)/bin/npm-cli.js" "$dir/bin/npm"
ln -sf "$(cd "$npm_dir" && pwd)/bin/npx-cli.js" "$dir/bin/npx"
ln -sf "$root/backend-infra/pipeline/bin/repoguard-pipeline.js" "$dir/bin/repoguard-pipeline"
echo "assemble-scanner-image: $dir/bin"
