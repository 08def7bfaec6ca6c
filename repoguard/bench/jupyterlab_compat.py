"""Smoke test of the built wheel on the JupyterLab versions SageMaker Studio ships.

SageMaker Distribution 3.x carries JupyterLab 4.4 and 4.x carries 4.5; the
extension declares the oldest JupyterLab it needs in package.json (the
``@jupyterlab/*`` and ``@lumino/*`` ranges). For each version this makes a
throwaway virtual environment, installs that JupyterLab from the package
index and the wheel built from this checkout, and checks that
``jupyter labextension list`` marks repoguard ``enabled OK`` (not ``X``,
"not compatible with the current JupyterLab") and that the server extension
loads. Too slow for the test command (a wheel build and one JupyterLab
install per version): run it before a release.

    python -m repoguard.bench.jupyterlab_compat [--wheel WHEEL] [VERSION ...]

Default versions: 4.4.10 4.5.11 and the pinned development version.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VERSIONS = ["4.4.10", "4.5.11", "4.6.6"]


def build_wheel(out: Path) -> Path:
    """Build the labextension and the wheel from this checkout."""
    subprocess.run(["npm", "run", "build:prod"], cwd=ROOT, check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    return next(out.glob("repoguard-*.whl"))


def check(version: str, wheel: Path, workdir: Path) -> tuple[bool, str, float]:
    started = time.monotonic()
    env_dir = workdir / f"lab-{version}"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"jupyterlab=={version}", str(wheel)],
        check=True,
    )
    jupyter = str(env_dir / "bin" / "jupyter")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(env_dir / "etc-user"),
        "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}",
    }
    lab = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True, env=env)
    server = subprocess.run(
        [jupyter, "server", "extension", "list"], capture_output=True, text=True, env=env
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", lab.stdout + lab.stderr)  # jupyter colours its output
    line = next((ln.strip() for ln in text.splitlines() if ln.strip().startswith("repoguard")), "")
    lab_ok = bool(re.search(r"\benabled\b.*\bOK\b", line)) and " X" not in line
    server_text = re.sub(r"\x1b\[[0-9;]*m", "", server.stdout + server.stderr)
    server_ok = bool(re.search(r"repoguard.*OK", server_text))
    detail = f"labextension: {line or 'not listed'}; server extension: {'OK' if server_ok else 'missing'}"
    return lab_ok and server_ok, detail, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="*", default=DEFAULT_VERSIONS)
    parser.add_argument("--wheel", type=Path, help="a built wheel (default: build one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="repoguard-compat-") as tmp:
        work = Path(tmp)
        wheel = args.wheel or build_wheel(work / "dist")
        failed = 0
        for version in args.versions:
            ok, detail, seconds = check(version, wheel, work)
            failed += not ok
            print(f"jupyterlab {version}: {'OK' if ok else 'FAIL'} ({seconds:.0f} s) {detail}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
