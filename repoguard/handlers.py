"""REST handlers of the RepoGuard server extension: thin, one class per resource.

Every route is authenticated (and XSRF-checked on POST by jupyter_server).
Exceptions are mapped to HTTP statuses in one place, ``RepoGuardHandler.write_error``.
Reads carry an ETag derived from the backend's cheap fingerprint (request repo
tip + pipeline state), so a poll that finds nothing changed is answered ``304``
before any ledger, pipeline or GitHub read.

Every verb is ``async``: each backend call (a ``git fetch`` of up to 120 s, a
``git ls-remote``, a boto3 call, file reads) runs in a worker thread
(``asyncio.to_thread``), so one slow remote never stalls the Jupyter server's
event loop, and with it every other user's JupyterLab.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from .advisories import health_advisory_data
from .backends import PanelBackend, ReportNotFound
from .service import NotApproved, UnknownPackage, ValidationError
from .workspace import Workspace, WorkspaceError

#: Exceptions the API expects, with their status; anything else is a 500 with a log line.
EXPECTED: tuple[tuple[type[BaseException], int], ...] = (
    (ValidationError, 400),
    (UnknownPackage, 404),
    (ReportNotFound, 404),
    (NotApproved, 409),
    (WorkspaceError, 503),
)
SUBMIT_FIELDS = ("package_name", "repo_url", "ref", "requester_email", "justification")


class RepoGuardHandler(ExtensionHandlerMixin, APIHandler):
    """Base class: the backend property, cached reads and the single error mapper."""

    @property
    def mode(self) -> str:
        return self.settings["repoguard_mode"]

    @property
    def workspace(self) -> Workspace | None:
        return self.settings["repoguard_workspace"]

    @property
    def backend(self) -> PanelBackend:
        """The backend (built on first use); call it from a worker thread (``run``)."""
        backend = self.settings["repoguard_backend"]()
        if backend is None:
            raise WorkspaceError(
                "RepoGuard has no backend: set REPOGUARD_WORKSPACE (or c.RepoGuardApp.workspace_dir) "
                "and restart JupyterLab."
            )
        return backend

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run blocking backend work off the event loop."""
        return await asyncio.to_thread(work, *args)

    async def finish_cached(self, compute: Callable[[], Any]) -> None:
        """Answer 304 when the client's ETag still holds; else compute, tag and send."""
        fingerprint = await self.run(lambda: self.backend.fingerprint())
        # Cache-busting parameters (a bare timestamp, as JupyterLab's `no-store` adds) are ignored.
        query = sorted(
            (k, v) for k, vs in self.request.query_arguments.items() if not k.isdigit() for v in vs
        )
        key = f"{fingerprint}\n{self.request.path}\n{query}"
        etag = '"' + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest() + '"'
        self.set_header("ETag", etag)
        self.set_header("Cache-Control", "private, no-cache")
        if etag in self.request.headers.get("If-None-Match", ""):
            self.set_status(304)
            self.finish()
            return
        self.finish(json.dumps(await self.run(compute)))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, tuple(exc for exc, _ in EXPECTED)):
            self.log.info("RepoGuard %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        body: dict[str, Any] = {"message": self._reason, "status": status_code}
        if isinstance(error, tornado.web.HTTPError):
            body["message"] = error.log_message or self._reason
        else:
            for kind, status in EXPECTED:
                if isinstance(error, kind):
                    status_code = status
                    self.set_status(status)
                    body.update(message=str(error), status=status)
                    break
            else:
                if error is not None:
                    self.log.error(
                        "RepoGuard %s %s failed: %r", self.request.method, self.request.path, error
                    )
                    body["message"] = f"RepoGuard server error: {error}"
            if isinstance(error, ValidationError):
                body["message"] = "The request has invalid fields."
                body["errors"] = [{"field": e.field, "reason": e.reason} for e in error.errors]
        self.clear_header("ETag")
        self.finish(json.dumps(body))


class HealthHandler(RepoGuardHandler):
    """``GET /repoguard/health``: version, mode, readiness and the validation policy."""

    @tornado.web.authenticated
    async def get(self) -> None:
        version = self.settings["repoguard_version"]
        body: dict[str, Any] = {
            "version": version,
            "mode": self.mode,
            "ready": True,
            "workspace": None,
        }
        if self.settings.get("repoguard_deployment") is not None:
            body["deployment"] = self.settings["repoguard_deployment"]
        try:
            body["policy"] = await self.run(lambda: self.backend.policy())
        except WorkspaceError as error:
            body.update(ready=False, detail=str(error))
        if self.mode == "embedded" and self.workspace is not None:
            body["workspace"] = str(self.workspace.root)
            problem = self.workspace.problem()
            if problem:
                body.update(ready=False, detail=problem)
        # The advisory data the SCA scan uses: offline fixture, downloaded database, or online.
        body["advisoryData"] = await self.run(health_advisory_data, self.mode, self.workspace)
        client = self.get_query_argument("version", "")
        if client and client != version:
            self.log.warning("RepoGuard frontend %s talks to server %s", client, version)
        self.finish(json.dumps(body))


class RequestsHandler(RepoGuardHandler):
    """``GET /repoguard/requests[?mine=1&email=…]`` lists; ``POST`` submits one."""

    @tornado.web.authenticated
    async def get(self) -> None:
        email = self.get_query_argument("email", "").strip()
        mine = self.get_query_argument("mine", "") in ("1", "true")
        if mine and not email:
            raise tornado.web.HTTPError(400, "mine=1 needs email=<requester email>")
        await self.finish_cached(
            lambda: {
                "requests": [
                    s.to_json()
                    for s in self.backend.service().list_requests(email if mine else None)
                ]
            }
        )

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as error:
            raise tornado.web.HTTPError(400, "the body is not JSON") from error
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        fields = {name: str(data.get(name) or "") for name in SUBMIT_FIELDS}
        row = await self.run(lambda: self.backend.service().submit(**fields))
        self.set_status(201)
        self.finish(json.dumps({"request": row, "status": "requested"}))


class PipelineHandler(RepoGuardHandler):
    """``GET /repoguard/pipeline``: stages, the current and the recent executions."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.finish_cached(lambda: self.backend.pipeline())


class ApprovedHandler(RepoGuardHandler):
    """``GET /repoguard/approved``: the latest approved result of each package."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.finish_cached(lambda: {"approved": self.backend.service().approved()})


class ResultHandler(RepoGuardHandler):
    """``GET /repoguard/results/<request_id>``: decision, reason and findings."""

    @tornado.web.authenticated
    async def get(self, request_id: str) -> None:
        await self.finish_cached(lambda: self.backend.result(request_id))


class ReportHandler(RepoGuardHandler):
    """``GET /repoguard/reports/<request_id>/<file>``: a report file, sandboxed.

    Only files directly in the request's report folder are served, with a
    content type from a fixed list and a CSP ``sandbox`` (no scripts, no
    same-origin access) even though the pipeline escapes what it writes.
    """

    @property
    def content_security_policy(self) -> str:
        return "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"

    @tornado.web.authenticated
    async def get(self, request_id: str, name: str) -> None:
        data, content_type = await self.run(lambda: self.backend.report_file(request_id, name))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, no-cache")
        self.finish(data, set_content_type=content_type)


_ID = r"(?P<request_id>[^/]+)"
HANDLERS = [
    (r"repoguard/health", HealthHandler),
    (r"repoguard/requests", RequestsHandler),
    (r"repoguard/pipeline", PipelineHandler),
    (r"repoguard/approved", ApprovedHandler),
    (rf"repoguard/results/{_ID}", ResultHandler),
    (rf"repoguard/reports/{_ID}/(?P<name>[^/]+)", ReportHandler),
]
