#!/usr/bin/env bash
# The Python toolchain of the dynamic scanner's install sandbox, pinned, in one
# virtual environment: .tools/sandbox-python/ (or $REPOGUARD_TOOLS/sandbox-python).
# The sandbox has no network, so a package is built offline
# (`pip wheel --no-build-isolation --no-index`) with the build backends
# carried here; coverage.py measures which lines ran at install and import.
# The pipeline shows this folder (and the base interpreter it was made from)
# read-only inside the sandbox; a build that needs a backend missing here
# makes the dynamic scan fail closed (`error`), never approve.
# Called by scripts/install-scanners.sh. Idempotent: an environment already at
# these pins is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${REPOGUARD_TOOLS:-$PWD/.tools}
PYTHON=${PYTHON:-python3}
VENV=$TOOLS/sandbox-python

# --- pins (build backends, their usual plugins, and coverage) ---------------
PINS=(
  "pip==25.3"
  "setuptools==80.9.0"
  "wheel==0.45.1"
  "packaging==25.0"
  "hatchling==1.27.0"
  "hatch-vcs==0.5.0"
  "hatch-fancy-pypi-readme==25.1.0"
  "setuptools-scm==8.3.1"
  "flit-core==3.12.0"
  "pdm-backend==2.4.5"
  "poetry-core==2.2.1"
  "scikit-build-core==0.11.6"
  "meson-python==0.18.0"
  "meson==1.9.1"
  "ninja==1.13.0"
  "maturin==1.9.6"
  "coverage==7.11.0"
)
PIN_TEXT=$(printf '%s\n' "${PINS[@]}")

if [ "$(cat "$VENV/.pin" 2>/dev/null)" = "$PIN_TEXT" ] && [ -x "$VENV/bin/python" ]; then
  echo "sandbox-python: ready in $VENV"
  exit 0
fi
echo "sandbox-python: installing build backends and coverage into $VENV"
rm -rf "$VENV"
# The real interpreter (a pyenv shim needs variables the sandbox does not pass).
BASE=$("$PYTHON" -c 'import sys; print(sys.executable)')
"$BASE" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"
# Where the base interpreter lives: the sandbox binds it read-only beside the venv.
"$VENV/bin/python" -c 'import sys; print(sys.base_prefix)' >"$VENV/.base-prefix"
echo "$PIN_TEXT" >"$VENV/.pin"
echo "sandbox-python: ready in $VENV"
