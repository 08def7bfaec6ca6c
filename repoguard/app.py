"""The RepoGuard Jupyter server extension."""

from __future__ import annotations

import threading
from collections.abc import Callable

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Type, Unicode, default

from . import __version__
from .handlers import HANDLERS
from .workspace import Workspace, WorkspaceError, workspace_from_env


class RepoGuardApp(ExtensionApp):
    """Serves the REST API of the RepoGuard panel under ``/repoguard/``.

    The panel talks to one ``PanelBackend`` (``repoguard.backends``): the
    embedded workspace, or production (the GitHub request repo, CodePipeline
    and the S3 reports). ``backend_class`` swaps in another implementation
    (tests plug fakes in here). The backend is built on first use, so a
    misconfigured server still starts and says what is wrong in ``/health``.
    """

    name = "repoguard"
    handlers = HANDLERS

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

    region = Unicode("", config=True, help="aws mode: the region of the pipeline and reports.")
    pipeline_name = Unicode("", config=True, help="aws mode: the CodePipeline pipeline name.")
    report_bucket = Unicode("", config=True, help="aws mode: the S3 bucket holding the reports.")
    report_prefix = Unicode("reports/", config=True, help="aws mode: key prefix of the reports.")
    deployment_file = Unicode(
        "",
        config=True,
        help="aws mode: the deployment contract written by the Studio lifecycle configuration "
        "(repoguard.deployment); fills region, pipeline_name and the report bucket, and is "
        "passed to kernels as REPOGUARD_DEPLOYMENT.",
    )
    fingerprint_ttl = Float(
        5.0,
        config=True,
        help="aws mode: seconds one look at the request repo tip and the pipeline state is "
        "shared by every poll (an unchanged poll is then answered 304 without any GitHub call).",
    )

    backend_class = Type(
        default_value=None,
        allow_none=True,
        klass=object,
        config=True,
        help="A PanelBackend class built as backend_class(app); default: by mode.",
    )

    @default("workspace_dir")
    def _default_workspace_dir(self) -> str:
        found = workspace_from_env()
        return str(found) if found else ""

    def _apply_deployment(self) -> dict | None:
        """Load the deployment contract (trait or REPOGUARD_DEPLOYMENT); its non-secret fields."""
        import os

        from .deployment import DeploymentError, contract_path, load

        path = contract_path(explicit=self.deployment_file)
        if path is None:
            return None
        try:
            deployment = load(path)
        except DeploymentError as error:
            self.log.error("RepoGuard deployment contract: %s", error)
            return {"error": str(error)}
        os.environ.setdefault("REPOGUARD_DEPLOYMENT", str(path))
        self.region = self.region or deployment.region
        self.pipeline_name = self.pipeline_name or deployment.pipeline_name
        self.report_bucket = self.report_bucket or deployment.report_bucket
        self.report_prefix = deployment.report_prefix or self.report_prefix
        return deployment.public()

    def initialize_settings(self) -> None:
        deployment = self._apply_deployment()
        workspace = (
            Workspace(workspace_from_env(self.workspace_dir)) if self.workspace_dir else None
        )
        self.settings.update(
            repoguard_deployment=deployment,
            repoguard_mode=self.mode,
            repoguard_workspace=workspace,
            repoguard_version=__version__,
            repoguard_backend=self._lazy_backend(workspace),
        )
        where = workspace.root if workspace else "no workspace (set REPOGUARD_WORKSPACE)"
        if self.mode == "aws":
            where = (
                f"pipeline {self.pipeline_name or '(unset)'} in {self.region or 'default region'}"
            )
        self.log.info("RepoGuard %s in %s mode: %s", __version__, self.mode, where)

    def _lazy_backend(self, workspace: Workspace | None) -> Callable[[], object | None]:
        lock = threading.Lock()
        built: list[object] = []

        def get() -> object | None:
            with lock:
                if not built:
                    backend = self._build_backend(workspace)
                    if backend is None:
                        return None
                    built.append(backend)
                return built[0]

        return get

    def _build_backend(self, workspace: Workspace | None):
        if self.backend_class is not None:
            return self.backend_class(self)
        if self.mode == "embedded":
            from .backends import EmbeddedBackend

            return EmbeddedBackend(workspace) if workspace else None
        return self._aws_backend()

    def _aws_backend(self):
        from .aws_status import CodePipelineStatus
        from .backends import AwsBackend, S3Reports

        try:
            from .config import service_from_settings
        except ImportError as error:
            raise WorkspaceError(
                "aws mode needs repoguard.config (service_from_settings), which this "
                "installation lacks"
            ) from error
        if not self.pipeline_name:
            raise WorkspaceError("aws mode: set c.RepoGuardApp.pipeline_name")
        service = service_from_settings()
        status = CodePipelineStatus(self.pipeline_name, region=self.region or None)
        reports = (
            S3Reports(self.report_bucket, self.report_prefix, region=self.region or None)
            if self.report_bucket
            else None
        )
        return AwsBackend(service, status, reports=reports, ttl=self.fingerprint_ttl)
