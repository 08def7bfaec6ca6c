"""JupyterLab for the Galata tests: galata's test settings plus a fresh RepoGuard workspace.

The workspace is made by the real stage CLI, so the panel talks to a real
embedded-mode backend.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 - provided by Jupyter when it reads this file
configure_jupyter_server(c)
c.ServerApp.allow_root = True  # development machines and CI run as root

_root = Path(__file__).resolve().parent.parent
_workspace = Path(tempfile.mkdtemp(prefix="repoguard-galata-")) / "workspace"
subprocess.run(
    [
        shutil.which("node") or "node",
        str(_root / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"),
        "init",
        "--local",
        str(_workspace),
    ],
    check=True,
)
c.RepoGuardApp.workspace_dir = str(_workspace)
