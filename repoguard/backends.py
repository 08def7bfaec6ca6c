"""What the panel's REST API reads and writes, behind one interface, two backends.

``EmbeddedBackend`` serves a local workspace (``repoguard-pipeline init``):
the request repo is a bare git repo on disk, the pipeline is the local runner
writing ``DIR/state/<id>.json``, reports live in ``DIR/reports/<id>/``.

``AwsBackend`` serves production: the request repo over git (GitHub), the
pipeline state from CodePipeline (``aws_status``), reports in S3.

Both answer ``fingerprint()`` cheaply and without any rate-limited GitHub API
call (embedded: a ref file and a folder listing; aws: ``git ls-remote`` plus
CodePipeline's state, cached for a few seconds). The handlers derive each
response's ETag from it and answer ``304`` before reading anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .pipeline_status import STAGES, EmbeddedPipelineStatus
from .service import RequestService, UnknownPackage, embedded_service
from .workspace import Workspace, WorkspaceError

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)*$")
#: The only report files served, with their content types.
REPORT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".sarif": "application/sarif+json",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_LEVEL_SEVERITY = {"error": "high", "warning": "medium", "note": "low", "none": "info"}


class ReportNotFound(LookupError):
    """No such report file (or a name that could escape the report folder)."""


class PanelBackend(Protocol):
    """The interface the handlers use; both backends implement it."""

    mode: str

    def fingerprint(self) -> str: ...
    def policy(self) -> dict[str, list[str]]: ...
    def service(self) -> RequestService: ...
    def pipeline(self) -> dict[str, Any]: ...
    def result(self, request_id: str) -> dict[str, Any]: ...
    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]: ...


# -- shared helpers -----------------------------------------------------------
def check_report_name(request_id: str, name: str) -> str:
    """The content type of a servable report file; ReportNotFound otherwise."""
    if not SAFE_ID.match(request_id) or not SAFE_FILE.match(name) or ".." in name:
        raise ReportNotFound(f"no report file {request_id}/{name}")
    content_type = REPORT_TYPES.get(Path(name).suffix.lower())
    if content_type is None:
        raise ReportNotFound(f"{name} is not a report file")
    return content_type


def _severity(result: dict, rule: dict | None) -> str:
    props = {**((rule or {}).get("properties") or {}), **(result.get("properties") or {})}
    issue = str(props.get("issue_severity", "")).lower()
    if issue in SEVERITY_ORDER:
        return issue
    score = props.get("security-severity")
    if score is not None:
        try:
            value = float(score)
        except (TypeError, ValueError):
            value = None
        if value is not None:
            if value >= 9:
                return "critical"
            if value >= 7:
                return "high"
            if value >= 4:
                return "medium"
            return "low" if value > 0 else "info"
    level = result.get("level") or ((rule or {}).get("defaultConfiguration") or {}).get("level")
    return _LEVEL_SEVERITY.get(level or "warning", "medium")


def findings_from_sarif(log: dict, request_id: str = "") -> list[dict[str, Any]]:
    """Normalized findings of a merged SARIF log, worst first.

    Severity follows the pipeline's reading (backend-infra/pipeline/src/scanners/sarif.ts):
    ``issue_severity``, else ``security-severity``, else the SARIF level.
    Paths are shown relative to the scanned tree.
    """
    findings: list[dict[str, Any]] = []
    for run in log.get("runs") or []:
        driver = ((run.get("tool") or {}).get("driver")) or {}
        rules = {r.get("id"): r for r in driver.get("rules") or [] if isinstance(r, dict)}
        for result in run.get("results") or []:
            if result.get("suppressions"):
                continue
            rule_id = result.get("ruleId") or (result.get("rule") or {}).get("id") or "unknown"
            rule = rules.get(rule_id)
            location = ((result.get("locations") or [{}])[0]).get("physicalLocation") or {}
            uri = (location.get("artifactLocation") or {}).get("uri") or ""
            path = re.sub(r"^file://", "", uri)
            if request_id and f"/{request_id}/" in path:
                path = path.split(f"/{request_id}/", 1)[1]
            message = (result.get("message") or {}).get("text") or rule_id
            findings.append(
                {
                    "scanner": driver.get("name") or "",
                    "rule_id": rule_id,
                    "severity": _severity(result, rule),
                    "message": message[:500],
                    "path": path,
                    "line": (location.get("region") or {}).get("startLine"),
                }
            )
    findings.sort(key=lambda f: SEVERITY_ORDER.index(f["severity"]))
    return findings


def latest_result(service: RequestService, request_id: str) -> dict[str, str]:
    found = [r for r in service.results() if r["request_id"] == request_id]
    if not found:
        raise UnknownPackage(f"request {request_id} has no result yet")
    return found[-1]


def result_body(row: dict[str, str], findings: list[dict[str, Any]] | None) -> dict[str, Any]:
    rid = row["request_id"]
    return {
        "request_id": rid,
        "package_name": row["package_name"],
        "decision": row["decision"],
        "reason": row.get("reason", ""),
        "result": row,
        "findings": findings,
        "report": f"reports/{rid}/report.html",
    }


# -- embedded -------------------------------------------------------------------
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
        folder = self._report_dir(request_id)
        sarif = folder / "report.sarif"
        if not sarif.is_file():
            candidates = sorted(folder.glob("*.sarif")) if folder.is_dir() else []
            sarif = candidates[0] if candidates else sarif
        findings = None
        if sarif.is_file():
            try:
                findings = findings_from_sarif(
                    json.loads(sarif.read_text(encoding="utf-8")), request_id
                )
            except ValueError:
                findings = None
        return result_body(row, findings)

    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]:
        content_type = check_report_name(request_id, name)
        folder = self._report_dir(request_id).resolve()
        path = (folder / name).resolve()
        if path.parent != folder or not path.is_file():
            raise ReportNotFound(f"no report file {request_id}/{name}")
        return path.read_bytes(), content_type


def embedded_pipeline(states: dict[str, dict]) -> dict[str, Any]:
    """The local runner's executions, grouped from the per-request state files."""
    executions: dict[str, dict[str, Any]] = {}
    for state in states.values():
        eid = state.get("execution_id") or "unknown"
        run = executions.setdefault(
            eid,
            {"id": eid, "status": "Succeeded", "stage": None, "started_at": "", "updated_at": ""},
        )
        run.setdefault("requests", []).append(
            {k: state.get(k) for k in ("request_id", "stage", "status", "message")}
        )
        started, updated = state.get("started_at") or "", state.get("updated_at") or ""
        if started and (not run["started_at"] or started < run["started_at"]):
            run["started_at"] = started
        run["updated_at"] = max(run["updated_at"], updated)
        stage = state.get("stage")
        if state.get("status") == "failed":
            run["status"] = "Failed"
        elif stage != "done":
            run["status"] = "InProgress"
            order = ("queued", *STAGES)
            current = run["stage"]
            if stage in order and (current is None or order.index(stage) < order.index(current)):
                run["stage"] = stage
    ordered = sorted(executions.values(), key=lambda r: r["started_at"], reverse=True)
    current = next((r for r in ordered if r["status"] == "InProgress"), None)
    return {
        "mode": "embedded",
        "name": "local runner",
        "stages": list(STAGES),
        "current": current,
        "executions": ordered[:10],
    }


# -- production -----------------------------------------------------------------
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
        findings = None
        if self.reports is not None:
            try:
                data, _ = self.reports.get(request_id, "report.sarif")
                findings = findings_from_sarif(json.loads(data), request_id)
            except (ReportNotFound, ValueError):
                findings = None
        return result_body(row, findings)

    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]:
        check_report_name(request_id, name)
        if self.reports is None:
            raise ReportNotFound("no report bucket configured (c.RepoGuardApp.report_bucket)")
        return self.reports.get(request_id, name)


class S3Reports:
    """Report files in ``s3://bucket/prefix<request_id>/<name>`` (boto3 imported lazily)."""

    def __init__(self, bucket: str, prefix: str = "reports/", *, client=None, region=None):
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._region = region

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", region_name=self._region or None)
        return self._client

    def get(self, request_id: str, name: str) -> tuple[bytes, str]:
        content_type = check_report_name(request_id, name)
        from botocore.exceptions import ClientError

        try:
            reply = self.client.get_object(
                Bucket=self.bucket, Key=f"{self.prefix}{request_id}/{name}"
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "AccessDenied"):
                raise ReportNotFound(f"no report file {request_id}/{name}") from error
            raise
        return reply["Body"].read(), content_type


def ls_remote_tip(store) -> str:
    """The branch tip of a GitFileStore's remote, via ``git ls-remote`` (no REST API)."""
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
