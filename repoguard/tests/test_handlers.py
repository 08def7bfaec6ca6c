"""REST API of the server extension, through a real Jupyter server (jp_fetch)."""

import json

import pytest
from tornado.httpclient import HTTPClientError

from repoguard import __version__


@pytest.fixture
def jp_server_config(jp_server_config, workspace):
    # The workspace fixture sets REPOGUARD_WORKSPACE before the server starts.
    return jp_server_config


async def test_health_reports_version_mode_and_ready_workspace(jp_fetch, workspace):
    # Given a server with an embedded workspace
    # When the panel asks for health
    response = await jp_fetch("repoguard", "health", params={"version": __version__})
    # Then it gets the version, the mode and a ready workspace
    assert response.code == 200
    body = json.loads(response.body)
    assert body == {
        "version": __version__,
        "mode": "embedded",
        "ready": True,
        "workspace": str(workspace),
    }


async def test_health_says_what_to_do_when_the_workspace_is_missing(jp_fetch, workspace, tmp_path):
    # Given a workspace folder that was removed after the server started
    import shutil

    shutil.rmtree(workspace)
    response = await jp_fetch("repoguard", "health")
    body = json.loads(response.body)
    assert body["ready"] is False
    assert "repoguard-pipeline init --local" in body["detail"]


async def test_health_requires_authentication(jp_fetch):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("repoguard", "health", headers={"Authorization": ""})
    assert error.value.code == 403
