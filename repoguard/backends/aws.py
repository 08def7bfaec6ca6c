"""The production backend: the request repo over git, CodePipeline state, reports in S3."""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from ..service import RequestService
from ..workspace import WorkspaceError
from .base import (
    FILES,
    ReportNotFound,
    check_report_name,
    findings_of,
    latest_result,
    result_body,
)
from .s3 import S3Reports


class AwsBackend:
    """Production: request repo over git, CodePipeline state, reports in S3.

    ``service`` is the RequestService over the GitHub request repo (see
    ``repoguard.config``); ``status`` a ``CodePipelineStatus``; ``reports`` reads
    ``s3://BUCKET/PREFIX<request_id>/<file>``; ``remote_tip`` answers the request
    repo's branch tip through git's smart protocol (``git ls-remote``), which is
    not a REST API call and so spends none of GitHub's API rate limit.
    """

    mode = "aws"

    def __init__(
        self,
        service: RequestService,
        status,
        *,
        reports: S3Reports | None = None,
        remote_tip: Callable[[], str] | None = None,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._service = service
        self.status = status
        self.reports = reports
        self._remote_tip = remote_tip or (lambda: ls_remote_tip(service.store))
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None

    def service(self) -> RequestService:
        return self._service

    def policy(self) -> dict[str, list[str]]:
        policy = self._service.policy
        return {
            "allowedHosts": list(policy.allowed_hosts),
            "allowedLocalRoots": list(policy.allowed_local_roots),
        }

    def fingerprint(self) -> str:
        """Shared by every client of this server for ``ttl`` seconds."""
        with self._lock:
            now = self._clock()
            if self._cached and now - self._cached[0] < self._ttl:
                return self._cached[1]
        value = hashlib.sha1(
            f"{self._remote_tip()}\n{self.status.fingerprint()}".encode(), usedforsecurity=False
        ).hexdigest()
        with self._lock:
            self._cached = (self._clock(), value)
        return value

    def pipeline(self) -> dict[str, Any]:
        return self.status.pipeline()

    def result(self, request_id: str) -> dict[str, Any]:
        row = latest_result(self._service, request_id)
        data = None
        if self.reports is not None:
            try:
                data, _ = self.reports.get(request_id, FILES["findings"])
            except ReportNotFound:
                data = None
        return result_body(row, findings_of(data))

    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]:
        check_report_name(request_id, name)
        if self.reports is None:
            raise ReportNotFound("no report bucket configured (c.RepoGuardApp.report_bucket)")
        return self.reports.get(request_id, name)


def ls_remote_tip(store) -> str:
    """The branch tip of a GitFileStore's remote, via ``git ls-remote`` (no REST API).

    A deployed Studio's store is an ``InboxStore`` (``repoguard.deployment``): its
    rows are read from the request repo of the GitFileStore it wraps, whose tip this is.
    """
    store = getattr(store, "read_store", store)
    env = store._env()  # the store's git environment: no system config, token in a header
    proc = subprocess.run(
        ["git", "ls-remote", store.url, f"refs/heads/{store.branch}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        raise WorkspaceError(f"cannot reach the request repo: {proc.stderr.strip()}")
    return proc.stdout.split("\t", 1)[0].strip() or "no-tip"
