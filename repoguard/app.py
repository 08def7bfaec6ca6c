"""The RepoGuard Jupyter server extension."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Unicode, default

from . import __version__
from .handlers import HealthHandler
from .workspace import Workspace, workspace_from_env


class RepoGuardApp(ExtensionApp):
    """Serves the REST API of the RepoGuard panel under ``/repoguard/``."""

    name = "repoguard"
    handlers = [("repoguard/health", HealthHandler)]

    mode = Enum(
        ["embedded", "aws"],
        default_value="embedded",
        config=True,
        help="embedded: a local workspace (REPOGUARD_WORKSPACE); aws: CodePipeline and GitHub.",
    )

    workspace_dir = Unicode(
        "",
        config=True,
        help="Embedded mode: the workspace folder made by `repoguard-pipeline init --local DIR`. "
        "Defaults to the REPOGUARD_WORKSPACE environment variable.",
    )

    @default("workspace_dir")
    def _default_workspace_dir(self) -> str:
        found = workspace_from_env()
        return str(found) if found else ""

    def initialize_settings(self) -> None:
        workspace = (
            Workspace(workspace_from_env(self.workspace_dir)) if self.workspace_dir else None
        )
        self.settings.update(
            repoguard_mode=self.mode,
            repoguard_workspace=workspace,
            repoguard_version=__version__,
        )
        where = workspace.root if workspace else "no workspace (set REPOGUARD_WORKSPACE)"
        self.log.info("RepoGuard %s in %s mode: %s", __version__, self.mode, where)
