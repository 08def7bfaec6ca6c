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
import threading
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
    #: The pipeline's KMS attestation key (ECC_NIST_P256); installers read its public key.
    signing_key_arn: str = ""
    #: Its public key as a PEM, when the operator pins it in the contract (no KMS call).
    signing_public_key: str = ""

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
    "signingKeyArn": "signing_key_arn",
    "signingPublicKey": "signing_public_key",
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
    """The contract in ``path``, completed from SSM when it is a cross-account copy."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError as error:
        raise DeploymentError(
            f"{file}: no such file (the lifecycle configuration writes it)"
        ) from error
    except ValueError as error:
        raise DeploymentError(f"{file}: not JSON ({error})") from error
    deployment = parse(data, str(file))
    if not _incomplete(deployment):
        return deployment
    with _completed_lock:
        if text not in _completed:
            _completed[text] = complete(deployment)
        return _completed[text]


#: Completed cross-account contracts of this process, by the local copy's text (one SSM read).
_completed: dict[str, Deployment] = {}
_completed_lock = threading.Lock()


def _incomplete(deployment: Deployment) -> bool:
    return bool(deployment.deployment_parameter) and not (
        deployment.request_repo_url and deployment.github_org and deployment.report_bucket
    )


def complete(deployment: Deployment, *, ssm=None) -> Deployment:
    """A cross-account copy completed with the pipeline account's part of the contract.

    A Studio stack in another account cannot name the pipeline account's
    bucket (``backend-infra/lib/app.ts``): its copy names the SSM parameter
    ``deploymentParameter`` instead, which the pipeline stack writes and its
    panel-reader role may read. It is read through ``readerRoleArn``; the
    local copy's fields win (its reader role, read-token secret, key alias).
    """
    if not _incomplete(deployment):
        return deployment
    name = deployment.deployment_parameter
    try:
        client = ssm if ssm is not None else aws_client(deployment, "ssm")
        value = client.get_parameter(Name=name)["Parameter"]["Value"]
    except Exception as error:  # botocore's errors: no access, no such parameter, no network
        raise DeploymentError(
            f"deploymentParameter: {name} cannot be read through "
            f"{deployment.reader_role_arn or 'this role'} ({error})"
        ) from None
    try:
        data = json.loads(value)
    except ValueError as error:
        raise DeploymentError(f"ssm:{name}: not JSON ({error})") from None
    remote = parse(data, f"ssm:{name}")
    # The local copy's own fields win; its defaults (branch, prefixes) do not.
    defaults = Deployment(region="", pipeline_name="").__dict__
    local = {k: v for k, v in deployment.__dict__.items() if v and v != defaults[k]}
    merged = Deployment(**{**remote.__dict__, **local})
    if _incomplete(merged):
        raise DeploymentError(
            f"ssm:{name}: requestRepoUrl, githubOrg and reportBucket are required"
        )
    return merged


def aws_client(deployment: Deployment, service: str):
    """A boto3 client in the contract's region, through the reader role when one is named."""
    import boto3  # only the aws mode needs it

    if not deployment.reader_role_arn:
        return boto3.client(service, region_name=deployment.region)
    creds = boto3.client("sts", region_name=deployment.region).assume_role(
        RoleArn=deployment.reader_role_arn, RoleSessionName="repoguard-studio"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=deployment.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


class InboxStore:
    """The request store of a Studio user: reads through git, requests through the S3 inbox.

    Studio users hold no GitHub write credential (``backend-infra/lib/deployment.ts``):
    ``append`` of the request file puts one object per row under the inbox
    prefix of the report bucket and starts the pipeline, whose first stage
    appends the rows with its own token. Any other file cannot be appended
    from here. Reads come from the request repo (read-only token); requests
    still in the inbox are shown as requested.
    """

    def __init__(self, read_store, deployment: Deployment, *, s3=None, codepipeline=None):
        from . import ledger

        self.read_store = read_store
        self.deployment = deployment
        self._s3 = s3
        self._codepipeline = codepipeline
        self.url = getattr(read_store, "url", "")
        self.requests_file = ledger.columns()["files"]["requests"]

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = aws_client(self.deployment, "s3")
        return self._s3

    @property
    def codepipeline(self):
        if self._codepipeline is None:
            self._codepipeline = aws_client(self.deployment, "codepipeline")
        return self._codepipeline

    def _inbox_rows(self) -> list[dict[str, str]]:
        rows = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.deployment.report_bucket, Prefix=self.deployment.inbox_prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                body = self.s3.get_object(Bucket=self.deployment.report_bucket, Key=item["Key"])
                try:
                    request = json.loads(body["Body"].read().decode("utf-8")).get("request")
                except (ValueError, AttributeError):
                    continue  # the pipeline drops it with a reason
                if isinstance(request, dict):
                    rows.append({k: str(v) for k, v in request.items()})
        return rows

    def _with_inbox(self, name: str, text: str) -> str:
        if name != self.requests_file:
            return text
        from . import ledger

        known = {values.get("request_id") for _, values in ledger.parse_requests(text).rows}
        waiting = [r for r in self._inbox_rows() if r.get("request_id") not in known]
        if not waiting:
            return text
        return ledger.append_rows(text, ledger.request_columns(), waiting)

    def read(self, name: str) -> str:
        return self._with_inbox(name, self.read_store.read(name))

    def read_many(self, names) -> dict[str, str]:
        files = self.read_store.read_many(names)
        return {name: self._with_inbox(name, text) for name, text in files.items()}

    def append(self, name: str, columns, rows: list[dict[str, str]], message: str) -> str:
        if name != self.requests_file:
            raise PermissionError(
                f"{name}: only the pipeline writes it; the Studio side may only request"
            )
        for row in rows:
            self.s3.put_object(
                Bucket=self.deployment.report_bucket,
                Key=f"{self.deployment.inbox_prefix}{row['request_id']}.json",
                Body=json.dumps({"version": 1, "request": row}).encode("utf-8"),
                ContentType="application/json",
                ServerSideEncryption="aws:kms",
            )
        reply = self.codepipeline.start_pipeline_execution(name=self.deployment.pipeline_name)
        return str(reply.get("pipelineExecutionId", ""))
