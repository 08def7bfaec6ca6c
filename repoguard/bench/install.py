"""Benchmark: ``%repoguard install`` against a plain ``pip install`` of the same commit.

    python -m repoguard.bench.install [--runs 5]

Makes an embedded workspace (the real ``repoguard-pipeline init``), a small
hatchling package published to ``DIR/private/<name>.git`` with an approved
results row, and a fresh offline venv. Then, alternately and after an
uninstall each time, it times

- plain: ``python -m pip install --no-deps --no-build-isolation --no-index
  "<name> @ git+file://localhost<repo>@<sha>"`` (the same git source and commit),
  once with ``--no-cache-dir`` (it builds the wheel, as RepoGuard does) and once
  with pip's wheel cache (pip caches wheels of commit-pinned git URLs, so its
  repeats skip the build), and
- repoguard: what ``%repoguard install <name>`` does (the installer: read the
  ledger, validate, fetch, check the build backend and dependencies, pip, record
  the source), run inside a long-lived interpreter of that venv, as in a kernel,

and prints the medians and their ratio. The private repo is a full (not
shallow) clone here, as in production: pip's own blob-less clone never
finishes on the embedded mode's shallow repos (see repoguard/installer.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import ledger
from ..config import load_settings
from ..installer import installer_from_settings
from ..service import embedded_service
from ..workspace import Workspace
from .venvs import make_venv

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
NAME = "rgbench"


def _package(root: Path) -> Path:
    src = root / "src"
    (src / NAME).mkdir(parents=True)
    for i in range(20):
        (src / NAME / f"mod{i}.py").write_text(f"def f{i}(x):\n    return x * {i}\n")
    (src / NAME / "__init__.py").write_text('VERSION = "1.0.0"\n')
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{NAME}"\nversion = "1.0.0"\ndependencies = ["packaging>=20"]\n'
    )
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*GIT, "-C", str(src), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(src), "commit", "-qm", "bench"], check=True)
    return src


def setup(root: Path) -> tuple[Path, Path, str, Path]:
    """(workspace, private repo, commit sha, venv python)."""
    ws = root / "ws"
    subprocess.run(
        ["node", str(PIPELINE), "init", "--local", str(ws)], check=True, capture_output=True
    )
    src = _package(root)
    bare = ws / "private" / f"{NAME}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    sha = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    service = embedded_service(Workspace(ws))
    row = dict.fromkeys(ledger.result_columns(), "")
    row.update(
        request_id="rq-bench-1", package_name=NAME, commit_sha=sha, decision="approved",
        private_repo_url=f"file://{bare}", scanned_at="2026-11-24T10:00:00Z",
        dependencies="packaging >=20",
    )  # fmt: skip
    service.store.append(service.results_file, ledger.result_columns(), [row], "bench")
    python = make_venv(root / "env", ["hatchling", "repoguard"])
    return ws, bare, sha, python


def measure(ws: Path, bare: Path, sha: str, runs: int) -> dict[str, list[float]]:
    """The timed loop; runs inside the venv's interpreter (as a kernel would)."""
    os.environ["REPOGUARD_WORKSPACE"] = str(ws)
    os.environ.pop("REPOGUARD_MODE", None)
    installer = installer_from_settings(load_settings())
    plain_cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--disable-pip-version-check", f"{NAME} @ git+file://localhost{bare}@{sha}",
    ]  # fmt: skip
    uninstall = [sys.executable, "-m", "pip", "uninstall", "-y", "-q", NAME]
    times: dict[str, list[float]] = {"plain": [], "plain-warm": [], "repoguard": []}
    for _ in range(runs):
        for key, extra in (("plain", ["--no-cache-dir"]), ("plain-warm", [])):
            subprocess.run(uninstall, check=False, capture_output=True)
            start = time.perf_counter()
            subprocess.run([*plain_cmd, *extra], check=True)
            times[key].append(time.perf_counter() - start)
        subprocess.run(uninstall, check=True, capture_output=True)
        start = time.perf_counter()
        [done] = installer.run([NAME])
        times["repoguard"].append(time.perf_counter() - start)
        assert done.status == "installed" and done.commit == sha
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repoguard.bench.install")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", nargs=3, metavar=("WS", "REPO", "SHA"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["PIP_NO_INDEX"] = "1"
    if args.measure:
        ws, bare, sha = args.measure
        print(json.dumps(measure(Path(ws), Path(bare), sha, args.runs)))
        return 0
    root = Path(tempfile.mkdtemp(prefix="repoguard-bench-"))
    try:
        ws, bare, sha, python = setup(root)
        proc = subprocess.run(
            [str(python), "-m", "repoguard.bench.install", "--runs", str(args.runs),
             "--measure", str(ws), str(bare), sha],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        times = json.loads(proc.stdout.strip().splitlines()[-1])
        median = {k: statistics.median(v) for k, v in times.items()}
        labels = {
            "plain": "plain pip install, builds the wheel (--no-cache-dir)",
            "plain-warm": "plain pip install, pip's wheel cache warm",
            "repoguard": "%repoguard install (always builds)",
        }
        for key, label in labels.items():
            print(f"{label:<54} median {median[key]:.3f}s  runs {plain_fmt(times[key])}")
        ratio = median["repoguard"] / median["plain"]
        warm = median["repoguard"] / median["plain-warm"]
        print(f"ratio: {ratio:.2f}x the same build (budget 1.5x); {warm:.2f}x a cached pip install")
        return 0 if ratio <= 1.5 else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


def plain_fmt(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
