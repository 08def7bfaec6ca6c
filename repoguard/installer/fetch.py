"""Fetching exactly the approved commit from the private repo, with a locked-down git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packaging.utils import canonicalize_name

from ..gitstore import token_env


def git_env(scheme: str, token: str | None = None) -> dict[str, str]:
    """git's environment: one transport only, no prompts, no system/global config."""
    env = {
        **os.environ,
        "GIT_ALLOW_PROTOCOL": scheme,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **token_env(token),
    }
    return env


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "submodule.recurse=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def fetch_commit(
    name: str, url: str, sha: str, workdir: Path, *, scheme: str, token: str | None = None
) -> Path:
    """Exactly the approved commit, checked out in a fresh folder under ``workdir``."""
    env = git_env(scheme, token)
    target = workdir / f"{canonicalize_name(name)}-{sha[:12]}"
    target.mkdir()
    _git("init", "--quiet", cwd=target, env=env)
    try:
        _git(
            "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules",
            "--", url, sha, cwd=target, env=env,
        )  # fmt: skip
    except RuntimeError as error:
        raise RuntimeError(
            f"the approved commit {sha[:12]} cannot be fetched from {url} ({error})"
        ) from None
    _git("checkout", "--quiet", "--detach", sha, cwd=target, env=env)
    if (target / ".gitmodules").exists():
        raise RuntimeError("the approved commit has git submodules, which were not scanned")
    return target
