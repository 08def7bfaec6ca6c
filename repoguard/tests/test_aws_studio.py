"""Defects of the deployed Studio side found while building its offline end-to-end
run (backend-infra/pipeline/test/aws-e2e.test.ts), pinned here: without emulators,
or against moto server on 127.0.0.1 for the cross-account contract."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repoguard.backends import ls_remote_tip
from repoguard.config import load_settings
from repoguard.deployment import Deployment, DeploymentError, InboxStore, load
from repoguard.gitstore import GitFileStore
from repoguard.installer import SourcePolicy

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]


def test_the_request_repo_tip_is_read_through_the_inbox_store(tmp_path: Path):
    """A deployed Studio's store is an InboxStore: every panel poll's ETag needs its tip."""
    work, bare = tmp_path / "work", tmp_path / "requests.git"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "external-package-request.csv").write_text("request_id\n")
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    tip = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    store = GitFileStore(str(bare), cache_dir=tmp_path / "cache")
    inbox = InboxStore(store, Deployment(region="eu-west-1", pipeline_name="p", report_bucket="b"))
    assert ls_remote_tip(inbox) == tip
    assert ls_remote_tip(store) == tip


def test_mirrors_may_share_the_request_repos_port_and_no_other():
    settings = load_settings(
        {"REPOGUARD_MODE": "aws", "REPOGUARD_REQUEST_REPO_URL": "https://ghe.example:8443/acme/r"}
    )
    assert (settings.private_host, settings.private_port) == ("ghe.example", 8443)
    policy = SourcePolicy(host="ghe.example", org="acme", port=settings.private_port)
    assert policy.problem("https://ghe.example:8443/acme/pandas.git") is None
    assert "ghe.example:8443" in policy.problem("https://ghe.example/acme/pandas.git")
    assert "host" in policy.problem("https://ghe.example:9443/acme/pandas.git")
    assert "host" in policy.problem("https://evil.example:8443/acme/pandas.git")
    # Without a port in the request repo's URL, a mirror URL with one stays refused.
    github = load_settings(
        {"REPOGUARD_MODE": "aws", "REPOGUARD_REQUEST_REPO_URL": "https://github.com/acme/r"}
    )
    assert github.private_port is None
    plain = SourcePolicy(host="github.com", org="acme", port=github.private_port)
    assert "host" in plain.problem("https://github.com:8443/acme/pandas.git")
    assert plain.problem("https://github.com/acme/pandas.git") is None


@pytest.fixture
def moto_endpoint(monkeypatch):
    """moto server on 127.0.0.1; boto3 reaches it through AWS_ENDPOINT_URL (fake keys)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + secrets.token_hex(8).upper())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_cross_account_copy_is_completed_from_ssm_through_the_reader_role(
    tmp_path, moto_endpoint
):
    """The Studio stack in another account names the SSM parameter, not the bucket (app.ts)."""
    import boto3

    pipeline_part = {
        "version": 1,
        "mode": "aws",
        "region": "eu-west-1",
        "pipelineName": "repoguard-pipeline",
        "requestRepoUrl": "https://github.com/example-org/repoguard-requests.git",
        "requestBranch": "requests",
        "githubOrg": "example-org",
        "reportBucket": "repoguard-reports-222222222222",
        "reportPrefix": "reports/",
        "inboxPrefix": "inbox/",
        "signingKeyArn": "arn:aws:kms:eu-west-1:222222222222:key/0000",
        "readerRoleArn": "arn:aws:iam::222222222222:role/repoguard-panel-reader",
    }
    # The pipeline stack writes it in the pipeline account (moto keeps accounts apart: an
    # assumed role's calls are in the role's account, so the Studio side finds it only there).
    creds = boto3.client("sts", region_name="eu-west-1").assume_role(
        RoleArn="arn:aws:iam::222222222222:role/pipeline-deployer", RoleSessionName="cdk"
    )["Credentials"]
    pipeline_account = boto3.client(
        "ssm",
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    pipeline_account.put_parameter(
        Name="/repoguard/deployment.json", Value=json.dumps(pipeline_part), Type="String"
    )
    # Not in the Studio account itself.
    with pytest.raises(boto3.client("ssm", region_name="eu-west-1").exceptions.ParameterNotFound):
        boto3.client("ssm", region_name="eu-west-1").get_parameter(
            Name="/repoguard/deployment.json"
        )
    studio_copy = {
        "version": 1,
        "mode": "aws",
        "region": "eu-west-1",
        "pipelineName": "repoguard-pipeline",
        "deploymentParameter": "/repoguard/deployment.json",
        "signingKeyArn": "arn:aws:kms:eu-west-1:222222222222:alias/repoguard-attestation",
        "readerRoleArn": "arn:aws:iam::222222222222:role/repoguard-panel-reader",
        "readTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:444444444444:secret:read-AbCd",
    }
    file = tmp_path / "deployment.json"
    file.write_text(json.dumps(studio_copy))
    deployment = load(file)
    assert deployment.request_repo_url == pipeline_part["requestRepoUrl"]
    assert deployment.request_branch == "requests"  # the local copy's default does not win
    assert deployment.report_bucket == pipeline_part["reportBucket"]
    assert deployment.signing_key_arn == studio_copy["signingKeyArn"]  # the local field wins
    assert deployment.read_token_secret_arn == studio_copy["readTokenSecretArn"]
    settings = load_settings({"REPOGUARD_DEPLOYMENT": str(file)})
    assert settings.problem() is None
    assert settings.private_org == "example-org"

    # A parameter the role cannot read (here: none) names the parameter and the role.
    missing = tmp_path / "other.json"
    missing.write_text(json.dumps({**studio_copy, "deploymentParameter": "/nope/deployment.json"}))
    with pytest.raises(DeploymentError, match="/nope/deployment.json cannot be read through"):
        load(missing)
