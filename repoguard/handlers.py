"""REST handlers of the RepoGuard server extension: thin, one class per resource."""

from __future__ import annotations

import json

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from .workspace import Workspace, WorkspaceError


class RepoGuardHandler(ExtensionHandlerMixin, APIHandler):
    """Base class: service properties and the single error mapper."""

    @property
    def mode(self) -> str:
        return self.settings["repoguard_mode"]

    @property
    def workspace(self) -> Workspace | None:
        return self.settings["repoguard_workspace"]

    def write_error(self, status_code: int, **kwargs) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        message = self._reason
        if isinstance(error, tornado.web.HTTPError) and error.log_message:
            message = error.log_message
        elif isinstance(error, WorkspaceError):
            message = str(error)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "status": status_code}))


class HealthHandler(RepoGuardHandler):
    """``GET /repoguard/health``: version, mode and readiness."""

    @tornado.web.authenticated
    def get(self) -> None:
        version = self.settings["repoguard_version"]
        body = {"version": version, "mode": self.mode, "ready": True, "workspace": None}
        if self.mode == "embedded":
            if self.workspace is None:
                body.update(
                    ready=False,
                    detail="No workspace: set REPOGUARD_WORKSPACE (or c.RepoGuardApp.workspace_dir) "
                    "and restart JupyterLab.",
                )
            else:
                body["workspace"] = str(self.workspace.root)
                problem = self.workspace.problem()
                if problem:
                    body.update(ready=False, detail=problem)
        client = self.get_query_argument("version", "")
        if client and client != version:
            self.log.warning("RepoGuard frontend %s talks to server %s", client, version)
        self.finish(json.dumps(body))
