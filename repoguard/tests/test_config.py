"""Settings from the environment, shared by the magic and the server."""

import json
import sys
import types

import pytest

from repoguard.config import (
    ConfigError,
    load_settings,
    service_from_settings,
    token_provider,
)
from repoguard.gitstore import GitFileStore
from repoguard.service import RequestService

AWS = {
    "REPOGUARD_MODE": "aws",
    "REPOGUARD_REQUEST_REPO_URL": "https://github.com/acme/package-requests",
}


def test_embedded_is_the_default_and_names_the_variable():
    settings = load_settings({})
    assert settings.mode == "embedded"
    with pytest.raises(ConfigError, match="set REPOGUARD_WORKSPACE"):
        settings.check()


def test_embedded_service_reads_the_workspace(workspace):
    service = service_from_settings(load_settings({"REPOGUARD_WORKSPACE": str(workspace)}))
    assert isinstance(service, RequestService)
    assert service.results() == []


def test_embedded_folder_that_is_not_a_workspace(tmp_path):
    with pytest.raises(ConfigError, match="is not a RepoGuard workspace"):
        load_settings({"REPOGUARD_WORKSPACE": str(tmp_path)}).check()


def test_aws_settings_default_the_org_to_the_request_repo_owner():
    settings = load_settings({**AWS, "AWS_REGION": "eu-west-1"}).check()
    assert (settings.private_host, settings.private_org) == ("github.com", "acme")
    assert settings.aws_region == "eu-west-1"
    assert settings.allowed_hosts == ("github.com", "gitlab.com", "bitbucket.org")
    org = load_settings({**AWS, "REPOGUARD_GITHUB_ORG": "acme-private"})
    assert org.private_org == "acme-private"
    hosts = load_settings({**AWS, "REPOGUARD_ALLOWED_HOSTS": "github.com, git.acme.com"})
    assert hosts.allowed_hosts == ("github.com", "git.acme.com")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "needs REPOGUARD_REQUEST_REPO_URL"),
        ("http://github.com/acme/requests", "needs REPOGUARD_REQUEST_REPO_URL"),
        ("https://x:tok@github.com/acme/requests", "must not contain credentials"),
    ],
)
def test_aws_request_repo_url_problems(url, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings({**AWS, "REPOGUARD_REQUEST_REPO_URL": url}).check()


def test_unknown_mode():
    with pytest.raises(ConfigError, match="REPOGUARD_MODE must be one of"):
        load_settings({"REPOGUARD_MODE": "cloud"}).check()


def test_aws_service_uses_the_request_repo_with_a_token_callback():
    service = service_from_settings(load_settings({**AWS, "REPOGUARD_GITHUB_TOKEN": "t0k"}))
    assert isinstance(service.store, GitFileStore)
    assert service.store.url == AWS["REPOGUARD_REQUEST_REPO_URL"]
    assert service.store._token() == "t0k"
    assert "t0k" not in repr(load_settings({**AWS, "REPOGUARD_GITHUB_TOKEN": "t0k"}))


@pytest.mark.parametrize("secret", ["plain-token", json.dumps({"token": "plain-token"})])
def test_token_from_secrets_manager_is_read_once(monkeypatch, secret):
    calls = []

    class Client:
        def get_secret_value(self, SecretId):  # noqa: N803 - boto3's spelling
            calls.append(SecretId)
            return {"SecretString": secret}

    def client(name, region_name=None):
        assert (name, region_name) == ("secretsmanager", "eu-west-1")
        return Client()

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    env = {**AWS, "REPOGUARD_GITHUB_TOKEN_SECRET_ARN": "arn:aws:sm:x", "AWS_REGION": "eu-west-1"}
    get = token_provider(load_settings(env))
    assert get() == "plain-token" and get() == "plain-token"
    assert calls == ["arn:aws:sm:x"]


def test_secret_without_boto3_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError
    get = token_provider(load_settings({**AWS, "REPOGUARD_GITHUB_TOKEN_SECRET_ARN": "arn:x"}))
    with pytest.raises(ConfigError, match="pip install boto3"):
        get()


def test_no_token_at_all():
    assert token_provider(load_settings(AWS))() is None
