"""Defects of the deployed Studio side that the offline AWS end-to-end run found
(backend-infra/pipeline/test/aws-e2e.test.ts), pinned here without emulators."""

from __future__ import annotations

import subprocess
from pathlib import Path

from repoguard.backends import ls_remote_tip
from repoguard.config import load_settings
from repoguard.deployment import Deployment, InboxStore
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
