"""The embedded workspace, as ``repoguard-pipeline init --local DIR`` lays it out.

``DIR/requests.git`` is the bare request repo holding both CSV files,
``DIR/private/<name>.git`` the approved packages, ``DIR/reports/<id>/`` the
reports, ``DIR/outbox/`` the mails and ``DIR/repoguard.config.json`` the config.
The Studio side finds ``DIR`` from ``REPOGUARD_WORKSPACE``.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import ledger

ENV_VAR = "REPOGUARD_WORKSPACE"


class WorkspaceError(RuntimeError):
    """The workspace is missing or broken; the message says what to do."""


def workspace_from_env(default: str | None = None) -> Path | None:
    value = os.environ.get(ENV_VAR) or default
    return Path(value).expanduser().resolve() if value else None


@dataclass
class Workspace:
    root: Path

    @property
    def request_repo(self) -> Path:
        return self.root / "requests.git"

    @property
    def config_file(self) -> Path:
        return self.root / "repoguard.config.json"

    def problem(self) -> str | None:
        """Why this workspace cannot be used, or None when it can."""
        if not self.root.is_dir():
            return (
                f"workspace {self.root} does not exist: "
                f"run `npx repoguard-pipeline init --local {self.root}`"
            )
        if not (self.request_repo / "HEAD").is_file() or not self.config_file.is_file():
            return (
                f"{self.root} is not a RepoGuard workspace: "
                f"run `npx repoguard-pipeline init --local {self.root}`"
            )
        return None

    def config(self) -> dict:
        try:
            return json.loads(self.config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise WorkspaceError(f"cannot read {self.config_file}: {error}") from error

    def read_file(self, name: str) -> str:
        """A file of the request repo's default branch, or '' when it has none yet."""
        problem = self.problem()
        if problem:
            raise WorkspaceError(problem)
        proc = subprocess.run(
            ["git", f"--git-dir={self.request_repo}", "show", f"HEAD:{name}"],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )
        if proc.returncode != 0:
            if "does not exist" in proc.stderr or "exists on disk, but not in" in proc.stderr:
                return ""
            if "invalid object name" in proc.stderr.lower():
                return ""  # empty repository: no commit yet
            raise WorkspaceError(
                f"cannot read {name} from {self.request_repo}: {proc.stderr.strip()}"
            )
        return proc.stdout

    def results(self) -> ledger.ParsedFile:
        return ledger.parse_results(self.read_file(ledger.columns()["files"]["results"]))

    def requests(self) -> ledger.ParsedFile:
        return ledger.parse_requests(self.read_file(ledger.columns()["files"]["requests"]))
