"""Settings shared by the magic and the server extension, read from the environment.

Two modes, chosen by ``REPOGUARD_MODE`` (default ``embedded``):

- **embedded**: ``REPOGUARD_WORKSPACE`` names the folder made by
  ``repoguard-pipeline init --local DIR``; approved packages are bare repos in
  ``DIR/private``.
- **aws**: ``REPOGUARD_REQUEST_REPO_URL`` is the https URL of the request repo
  (no credentials in it); the GitHub token comes from ``REPOGUARD_GITHUB_TOKEN``
  or from the Secrets Manager secret ``REPOGUARD_GITHUB_TOKEN_SECRET_ARN``
  (a plain string or JSON ``{"token": "..."}``, read with boto3 in
  ``AWS_REGION``; boto3 is imported only then, and is optional otherwise).
  Approved packages live in the org ``REPOGUARD_GITHUB_ORG`` (default: the
  owner of the request repo) on the request repo's host.
  ``REPOGUARD_ALLOWED_HOSTS`` (comma-separated) is the allow list of request
  sources, as in the pipeline.

``REPOGUARD_DEPLOYMENT`` names the deployment contract (``repoguard.deployment``,
written by the Studio lifecycle configuration); its fields fill the variables
above that the environment leaves unset.

Nothing here imports jupyter_server: kernels use it too.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .contract import default_allowed_hosts
from .deployment import Deployment, InboxStore, contract_path
from .deployment import load as load_deployment
from .workspace import ENV_VAR as WORKSPACE_ENV
from .workspace import Workspace, WorkspaceError

MODES = ("embedded", "aws")
DEFAULT_ALLOWED_HOSTS = default_allowed_hosts()  # src/common/contract.json


class ConfigError(WorkspaceError):
    """RepoGuard is not configured; the message says which variable to set."""


@dataclass
class Settings:
    mode: str = "embedded"
    workspace: Path | None = None
    request_repo_url: str = ""
    github_token: str = field(default="", repr=False)
    github_token_secret_arn: str = ""
    aws_region: str = ""
    private_org: str = ""
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    #: The deployment contract (``REPOGUARD_DEPLOYMENT``), when one is configured.
    deployment: Deployment | None = None

    @property
    def private_host(self) -> str:
        """The host of the private package repos (production): the request repo's host."""
        return (urlsplit(self.request_repo_url).hostname or "").lower()

    @property
    def private_port(self) -> int | None:
        """The request repo's port when its URL names one (GitHub Enterprise on a port)."""
        try:
            return urlsplit(self.request_repo_url).port
        except ValueError:
            return None

    def problem(self) -> str | None:
        """Why these settings cannot be used, or None."""
        if self.mode not in MODES:
            return f"REPOGUARD_MODE must be one of {', '.join(MODES)} (not {self.mode!r})"
        if self.mode == "embedded":
            if self.workspace is None:
                return (
                    f"RepoGuard has no workspace: set {WORKSPACE_ENV} to the folder made by "
                    "`repoguard-pipeline init --local DIR` (or REPOGUARD_MODE=aws)."
                )
            return Workspace(self.workspace).problem()
        url = urlsplit(self.request_repo_url)
        if url.scheme != "https" or not url.hostname:
            return "REPOGUARD_MODE=aws needs REPOGUARD_REQUEST_REPO_URL (an https URL)"
        if url.username or url.password:
            return "REPOGUARD_REQUEST_REPO_URL must not contain credentials; use a token variable"
        if not self.private_org:
            return "REPOGUARD_MODE=aws needs REPOGUARD_GITHUB_ORG (the org of approved packages)"
        return None

    def check(self) -> Settings:
        problem = self.problem()
        if problem:
            raise ConfigError(problem)
        return self


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    contract = contract_path(env)
    deployment = load_deployment(contract) if contract is not None else None
    if deployment is not None:
        # The deployment contract fills what the environment leaves unset.
        env = {**deployment.environment(), **env}
    mode = (env.get("REPOGUARD_MODE") or "embedded").strip().lower()
    workspace = env.get(WORKSPACE_ENV, "").strip()
    repo_url = env.get("REPOGUARD_REQUEST_REPO_URL", "").strip()
    owner = [s for s in urlsplit(repo_url).path.split("/") if s][:1]
    hosts = [h.strip() for h in env.get("REPOGUARD_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return Settings(
        mode=mode,
        workspace=Path(workspace).expanduser().resolve() if workspace else None,
        request_repo_url=repo_url,
        github_token=env.get("REPOGUARD_GITHUB_TOKEN", "").strip(),
        github_token_secret_arn=env.get("REPOGUARD_GITHUB_TOKEN_SECRET_ARN", "").strip(),
        aws_region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip(),
        private_org=(env.get("REPOGUARD_GITHUB_ORG") or (owner[0] if owner else "")).strip(),
        allowed_hosts=tuple(hosts) or DEFAULT_ALLOWED_HOSTS,
        deployment=deployment,
    )


def _secret_token(arn: str, region: str) -> str:
    try:
        import boto3  # optional: only production kernels and servers need it
    except ImportError as error:
        raise ConfigError(
            "REPOGUARD_GITHUB_TOKEN_SECRET_ARN is set but boto3 is not installed "
            "(pip install boto3), or set REPOGUARD_GITHUB_TOKEN"
        ) from error
    client = boto3.client("secretsmanager", region_name=region or None)
    value = client.get_secret_value(SecretId=arn).get("SecretString") or ""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.strip()
    if isinstance(parsed, dict) and isinstance(parsed.get("token"), str):
        return parsed["token"].strip()
    if isinstance(parsed, str):
        return parsed.strip()
    raise ConfigError(f"secret {arn} holds neither a token string nor {{'token': ...}}")


def token_provider(settings: Settings) -> Callable[[], str | None]:
    """A callable returning the GitHub token (read once, lazily), or None."""
    lock = threading.Lock()
    cached: list[str | None] = []

    def get() -> str | None:
        with lock:
            if not cached:
                if settings.github_token:
                    cached.append(settings.github_token)
                elif settings.github_token_secret_arn:
                    cached.append(
                        _secret_token(settings.github_token_secret_arn, settings.aws_region)
                    )
                else:
                    cached.append(None)
            return cached[0]

    return get


class NoPipelineStatus:
    """No live stage information (production magic): decided rows still show."""

    def states(self) -> dict[str, dict]:
        return {}


def service_from_settings(settings: Settings | None = None):
    """A ``RequestService`` for the configured mode (embedded workspace or GitHub repo)."""
    from .gitstore import GitFileStore
    from .service import RequestService, embedded_service
    from .validation import Policy

    settings = (settings or load_settings()).check()
    if settings.mode == "embedded":
        return embedded_service(Workspace(settings.workspace))
    deployment = settings.deployment
    store = GitFileStore(
        settings.request_repo_url,
        branch=deployment.request_branch if deployment else "main",
        token=token_provider(settings),
    )
    if deployment is not None and deployment.report_bucket:
        # Deployed: requests go through the S3 inbox; the token here is read-only.
        store = InboxStore(store, deployment)
    return RequestService(store, NoPipelineStatus(), Policy(allowed_hosts=settings.allowed_hosts))
