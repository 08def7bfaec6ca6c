"""Every RepoGuard route is authenticated (the template's check_auth.py, as a test).

The check runs a real ServerApp in a child process: ServerApp keeps global
state that would leak into the jp_fetch tests of the same session.
"""

import json
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import json, sys, warnings
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.utils import JupyterServerAuthWarning

    def handler_names(router):
        names = set()
        for rule in getattr(router, "rules", []):
            target = rule.target
            names |= {target.__name__} if isinstance(target, type) else handler_names(target)
        return names

    import socket

    with socket.socket() as probe:  # a free port: Galata may hold 8888
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = ServerApp(
        port=port,
        allow_unauthenticated_access=False,
        jpserver_extensions={"repoguard": True},
        root_dir=sys.argv[1],
        runtime_dir=sys.argv[1] + "/runtime",
        open_browser=False,
        port_retries=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.initialize(argv=[])
    warned = [str(w.message) for w in caught if issubclass(w.category, JupyterServerAuthWarning)]
    print(json.dumps({"warned": warned, "handlers": sorted(handler_names(app.web_app.default_router))}))
    """
)


def test_no_repoguard_route_allows_unauthenticated_access(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)], capture_output=True, text=True, check=True
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "HealthHandler" in report["handlers"], "the repoguard routes were not registered"
    # Other installed extensions may warn; no warning may name one of our routes.
    assert [m for m in report["warned"] if "repoguard" in m] == []
