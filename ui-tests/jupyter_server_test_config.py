"""JupyterLab for the Galata tests: galata's test settings plus a fresh RepoGuard workspace.

The workspace is made by the real stage CLI, so the panel talks to a real
embedded-mode backend. Two sample sources (one clean, one that is refused) are
git repos under the workspace's allowed local root, as scripts/demo.sh makes
them. The workspace has its own advisory data: ``advisories/<Ecosystem>/*.json``
(OSV records, the committed fixture to start with) compiled by scripts/osv-db.py
into ``osv-db/``, which the runner, the re-scan and the kernels read
(``OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY``); a test adds a record and recompiles
(helpers/RepoGuardHelper.ts ``addAdvisory``). The local runner (`repoguard-pipeline
watch`) runs for as long as this server does: it is stopped at exit and, on Linux,
dies with its parent.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 - provided by Jupyter when it reads this file
configure_jupyter_server(c)
c.ServerApp.allow_root = True  # development machines and CI run as root

_root = Path(__file__).resolve().parent.parent
_cli = _root / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"
_node = shutil.which("node") or "node"
_workspace = Path(tempfile.mkdtemp(prefix="repoguard-galata-")) / "workspace"
subprocess.run([_node, str(_cli), "init", "--local", str(_workspace)], check=True)

for sample in sorted((_root / "demo" / "samples").iterdir()):
    dest = _workspace / "sources" / sample.name
    shutil.copytree(sample, dest)
    git = ["git", "-C", str(dest), "-c", "user.name=RepoGuard", "-c", "user.email=rg@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", f"{sample.name} sample"], check=True)

# The workspace's own advisory data, so that a test can add an advisory without touching
# the machine's (.tools/osv-db) or another run's.
shutil.copytree(_root / "backend-infra" / "pipeline" / "advisories", _workspace / "advisories")
subprocess.run(
    [sys.executable, str(_root / "scripts" / "osv-db.py"), "fixture",
     str(_workspace / "advisories"), str(_workspace / "osv-db")],
    check=True, stdout=subprocess.DEVNULL,
)  # fmt: skip
os.environ["OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY"] = str(_workspace / "osv-db")

# Kernels inherit the server's environment: %repoguard finds the same workspace.
os.environ["REPOGUARD_WORKSPACE"] = str(_workspace)
c.RepoGuardApp.workspace_dir = str(_workspace)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_log = open(_workspace / "pipeline.log", "w")  # noqa: SIM115 - lives as long as the server
_runner = subprocess.Popen(  # noqa: S603
    [_node, str(_cli), "watch", "--local", str(_workspace), "--interval", "500"],
    stdout=_log,
    stderr=subprocess.STDOUT,
    preexec_fn=_die_with_parent,  # noqa: PLW1509
)


@atexit.register
def _stop_runner() -> None:
    if _runner.poll() is None:
        _runner.terminate()
        try:
            _runner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _runner.kill()
    _log.close()
    if not os.environ.get("REPOGUARD_KEEP_WORKSPACE"):
        shutil.rmtree(_workspace.parent, ignore_errors=True)


print(f"RepoGuard Galata workspace: {_workspace} (runner pid {_runner.pid})", flush=True)
