"""One offline pip run over the fetched checkouts, then each install's true source recorded."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from packaging.utils import canonicalize_name

from .environment import in_target
from .model import InstallError, Problem, Step


def pip_install(python: str, todo: list[Step], workdir: Path, *, timeout: float) -> dict[str, str]:
    """``pip install --no-deps --no-build-isolation --no-index`` of every step's checkout.

    Returns the installed versions by canonical name; records each install's
    source in its ``direct_url.json`` (PEP 610), so ``pip freeze`` shows
    ``name @ git+<private repo>@<commit>``.
    """
    report = workdir / "pip-report.json"
    command = [
        python, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
        "--no-index", "--no-input", "--disable-pip-version-check", "--force-reinstall",
        "--quiet", "--report", str(report), *[str(s.checkout) for s in todo],
    ]  # fmt: skip
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_NO_INPUT": "1"}
    env.pop("PIP_INDEX_URL", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise InstallError(
            [Problem(", ".join(s.name for s in todo), "pip failed: " + " | ".join(tail))]
        )
    versions: dict[str, str] = {}
    for item in json.loads(report.read_text(encoding="utf-8")).get("install", []):
        meta = item.get("metadata") or {}
        versions[canonicalize_name(meta.get("name", ""))] = meta.get("version", "")
    missing = [s.name for s in todo if canonicalize_name(s.name) not in versions]
    stamp = [
        {"name": s.name, "url": s.result["private_repo_url"], "commit": s.result["commit_sha"]}
        for s in todo
        if canonicalize_name(s.name) in versions
    ]
    in_target(python, "stamp", stamp)
    if missing:
        raise InstallError(
            [Problem(n, f"{n}: the approved commit built another distribution") for n in missing]
        )
    return versions
