import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"repoguard": True},
            "allow_unauthenticated_access": False,
            # jupyter_server_terminals registers a route that fails the auth check.
            "terminals_enabled": False,
        }
    }
