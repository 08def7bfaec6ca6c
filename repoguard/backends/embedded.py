"""The embedded backend: a local workspace, everything a file read.

The request repo is a bare git repo on disk, the pipeline is the local runner
writing ``DIR/state/<id>.json``, reports live in ``DIR/reports/<id>/``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..pipeline_status import EmbeddedPipelineStatus, embedded_pipeline
from ..service import RequestService, embedded_service
from ..workspace import Workspace, WorkspaceError
from .base import (
    FILES,
    SAFE_ID,
    ReportNotFound,
    check_report_name,
    findings_of,
    latest_result,
    result_body,
)


class EmbeddedBackend:
    """A local workspace: everything is a file read, nothing leaves the machine."""

    mode = "embedded"

    def __init__(self, workspace: Workspace, service: RequestService | None = None):
        self.workspace = workspace
        self._service = service
        self._status = EmbeddedPipelineStatus(workspace.root)

    def _check(self) -> None:
        problem = self.workspace.problem()
        if problem:
            raise WorkspaceError(problem)

    def service(self) -> RequestService:
        self._check()
        if self._service is None:
            self._service = embedded_service(self.workspace)
        return self._service

    def policy(self) -> dict[str, list[str]]:
        config = self.workspace.config() if self.workspace.config_file.is_file() else {}
        return {
            "allowedHosts": list(config.get("allowedHosts", [])),
            "allowedLocalRoots": list(config.get("allowedLocalRoots", [])),
        }

    def _tip(self) -> str:
        repo = self.workspace.request_repo
        ref = repo / "refs" / "heads" / "main"
        try:
            return ref.read_text(encoding="ascii").strip()
        except OSError:
            pass
        try:
            for line in (repo / "packed-refs").read_text(encoding="ascii").splitlines():
                if line.endswith(" refs/heads/main"):
                    return line.split(" ", 1)[0]
        except OSError:
            pass
        return "no-tip"

    def fingerprint(self) -> str:
        """The request repo's tip plus the state files' names, sizes and times."""
        parts = [self._tip()]
        state_dir = self._status.state_dir
        try:
            with os.scandir(state_dir) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    stat = entry.stat()
                    parts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append("no-state")
        return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()

    def pipeline(self) -> dict[str, Any]:
        return embedded_pipeline(self._status.states())

    def _report_dir(self, request_id: str) -> Path:
        if not SAFE_ID.match(request_id):
            raise ReportNotFound(f"no report for {request_id}")
        return self.workspace.root / "reports" / request_id

    def result(self, request_id: str) -> dict[str, Any]:
        row = latest_result(self.service(), request_id)
        try:
            data, _ = self.report_file(request_id, FILES["findings"])
        except ReportNotFound:
            data = None
        return result_body(row, findings_of(data))

    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]:
        content_type = check_report_name(request_id, name)
        folder = self._report_dir(request_id).resolve()
        path = (folder / name).resolve()
        if path.parent != folder or not path.is_file():
            raise ReportNotFound(f"no report file {request_id}/{name}")
        return path.read_bytes(), content_type
