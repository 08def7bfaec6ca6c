"""The deployment contract written by the CDK app (``backend-infra/lib/deployment.ts``).

The Studio lifecycle configuration writes ``~/.config/repoguard/deployment.json``
and points ``c.RepoGuardApp.deployment_file`` at it; kernels find it through
``REPOGUARD_DEPLOYMENT`` (set by the server extension) or that default path.
Every field is non-secret: secrets are named by ARN only.

Nothing here imports jupyter_server or boto3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "REPOGUARD_DEPLOYMENT"
DEFAULT_FILE = Path("~/.config/repoguard/deployment.json")


class DeploymentError(ValueError):
    """The contract file is missing or malformed; the message names the field."""


@dataclass(frozen=True)
class Deployment:
    region: str
    pipeline_name: str
    request_repo_url: str = ""
    request_branch: str = "main"
    github_org: str = ""
    report_bucket: str = ""
    report_prefix: str = "reports/"
    inbox_prefix: str = "inbox/"
    reader_role_arn: str = ""
    read_token_secret_arn: str = ""
    deployment_parameter: str = ""

    def public(self) -> dict[str, str]:
        """The fields ``/repoguard/health`` shows (all of them: none is secret)."""
        return {k: v for k, v in self.__dict__.items() if v}

    def environment(self) -> dict[str, str]:
        """The ``REPOGUARD_*`` variables ``repoguard.config.load_settings`` reads."""
        env = {"REPOGUARD_MODE": "aws", "AWS_REGION": self.region}
        if self.request_repo_url:
            env["REPOGUARD_REQUEST_REPO_URL"] = self.request_repo_url
        if self.github_org:
            env["REPOGUARD_GITHUB_ORG"] = self.github_org
        if self.read_token_secret_arn:
            env["REPOGUARD_GITHUB_TOKEN_SECRET_ARN"] = self.read_token_secret_arn
        return env


_FIELDS = {
    "region": "region",
    "pipelineName": "pipeline_name",
    "requestRepoUrl": "request_repo_url",
    "requestBranch": "request_branch",
    "githubOrg": "github_org",
    "reportBucket": "report_bucket",
    "reportPrefix": "report_prefix",
    "inboxPrefix": "inbox_prefix",
    "readerRoleArn": "reader_role_arn",
    "readTokenSecretArn": "read_token_secret_arn",
    "deploymentParameter": "deployment_parameter",
}


def parse(data: object, where: str = "deployment.json") -> Deployment:
    if not isinstance(data, dict):
        raise DeploymentError(f"{where}: must be a JSON object")
    if data.get("version") != 1:
        raise DeploymentError(f"{where}: version: must be 1 (not {data.get('version')!r})")
    values: dict[str, str] = {}
    for key, attr in _FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DeploymentError(f"{where}: {key}: must be a string")
        values[attr] = value.strip()
    for key in ("region", "pipelineName"):
        if not values.get(_FIELDS[key]):
            raise DeploymentError(f"{where}: {key}: is required")
    url = values.get("request_repo_url", "")
    if url and not url.startswith("https://"):
        raise DeploymentError(f"{where}: requestRepoUrl: must be an https URL")
    return Deployment(**values)


def contract_path(env: Mapping[str, str] | None = None, explicit: str = "") -> Path | None:
    """The contract file named by ``explicit`` or ``REPOGUARD_DEPLOYMENT``, else None."""
    env = os.environ if env is None else env
    name = explicit or env.get(ENV_VAR, "")
    return Path(os.path.expandvars(name)).expanduser() if name else None


def load(path: str | os.PathLike) -> Deployment:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DeploymentError(
            f"{file}: no such file (the lifecycle configuration writes it)"
        ) from error
    except ValueError as error:
        raise DeploymentError(f"{file}: not JSON ({error})") from error
    return parse(data, str(file))
