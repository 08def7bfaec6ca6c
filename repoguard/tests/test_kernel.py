"""End to end: the real pipeline approves a package, a real kernel installs it.

The kernel runs in its own virtual environment (no system site-packages) with
ipykernel and repoguard, made offline once per test session; pip never
reaches an index (PIP_NO_INDEX=1, and the installer passes --no-index).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from repoguard.bench.venvs import make_venv, pip_list
from repoguard.service import embedded_service
from repoguard.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
CLEAN = 'def hello():\n    return "hello from cleanpkg"\n'
# A command-injection sink (shell=True on a caller's string) in library code: a
# vulnerability counts wherever it is, including in a function only a call runs.
RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _source(ws: Path, name: str, code: str) -> str:
    src = ws / "sources" / name
    (src / name).mkdir(parents=True)
    (src / name / "__init__.py").write_text(code)
    # An empty src/ folder must not make the package's own code "not installed".
    (src / "src").mkdir()
    (src / "src" / ".gitkeep").write_text("")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.3.0"\ndependencies = ["packaging>=20"]\n'
    )
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*GIT, "-C", str(src), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(src), "commit", "-qm", "init"], check=True)
    return f"file://{src}"


@pytest.fixture(scope="module")
def pipeline_ws(tmp_path_factory) -> Path:
    """A workspace where the real pipeline approved cleanpkg and refused riskypkg;
    pendingpkg is requested but not processed yet."""
    node = shutil.which("node")
    assert node, "node is required for the pipeline"
    ws = tmp_path_factory.mktemp("e2e") / "ws"
    subprocess.run([node, str(PIPELINE), "init", "--local", str(ws)], check=True)
    service = embedded_service(Workspace(ws))
    for name, code in (("cleanpkg", CLEAN), ("riskypkg", RISKY)):
        service.submit(package_name=name, repo_url=_source(ws, name, code), justification="e2e")
    # The scanners (semgrep, bandit) are installed beside this interpreter.
    tools = Path(__file__).resolve().parents[2] / ".tools" / "bin"  # scripts/install-scanners.sh
    path = os.pathsep.join([str(tools), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": path}
    run = subprocess.run(
        [node, str(PIPELINE), "run", "--local", str(ws)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    decisions = {r["package_name"]: r["decision"] for r in service.results()}
    assert decisions == {"cleanpkg": "approved", "riskypkg": "refused"}, run.stdout
    service.submit(
        package_name="pendingpkg", repo_url=_source(ws, "pendingpkg", CLEAN), justification="e2e"
    )
    return ws


@pytest.fixture(scope="module")
def kernel_python(tmp_path_factory) -> Path:
    return make_venv(
        tmp_path_factory.mktemp("kernel") / "env", ["ipykernel", "repoguard", "hatchling"]
    )


@pytest.fixture(scope="module")
def kernelspecs(tmp_path_factory, kernel_python) -> Path:
    """A Jupyter path with the kernelspec 'rg-test' (ipykernel in the test venv)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "rg-test"
    spec.mkdir(parents=True)
    argv = [str(kernel_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "RepoGuard test", "language": "python"})
    )
    return root


@pytest.fixture
def kernel_env(pipeline_ws, kernelspecs, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspecs))
    monkeypatch.setenv("REPOGUARD_WORKSPACE", str(pipeline_ws))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


@pytest.fixture
def kernel(kernel_env):
    km = KernelManager(kernel_name="rg-test")
    km.start_kernel()
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield client
    client.stop_channels()
    km.shutdown_kernel(now=True)


def execute(client, code: str) -> tuple[dict, list[dict]]:
    """Run code in the kernel: (execute reply content, iopub outputs)."""
    outputs: list[dict] = []
    reply = client.execute_interactive(
        code, timeout=300, output_hook=lambda msg: outputs.append(msg), allow_stdin=False
    )
    return reply["content"], outputs


def text_of(outputs: list[dict]) -> str:
    parts = []
    for msg in outputs:
        content = msg["content"]
        parts.append(content.get("text", ""))
        parts.extend(content.get("data", {}).values())
        parts.extend(content.get("traceback", []))
    return "\n".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


def uninstall(python: Path, name: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "-y", "-q", name], check=False, capture_output=True
    )


def test_install_in_a_real_kernel_then_import(kernel, kernel_python, pipeline_ws):
    uninstall(kernel_python, "cleanpkg")
    reply, outputs = execute(kernel, "%load_ext repoguard\n%repoguard install cleanpkg")
    assert reply["status"] == "ok", text_of(outputs)
    html = [m["content"]["data"]["text/html"] for m in outputs if m["msg_type"] == "display_data"]
    [approved] = embedded_service(Workspace(pipeline_ws)).approved()
    assert html and "<table>" in html[0] and approved["commit_sha"] in html[0]
    assert approved["scanned_at"] in html[0] and approved["private_repo_url"] in html[0]
    reply, outputs = execute(kernel, "import cleanpkg, sys\nprint(cleanpkg.hello(), sys.prefix)")
    assert reply["status"] == "ok", text_of(outputs)
    assert f"hello from cleanpkg {kernel_python.parent.parent}" in text_of(outputs)
    assert pip_list(kernel_python)["cleanpkg"] == "0.3.0"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("riskypkg", "riskypkg was refused"),
        ("pendingpkg", "pendingpkg is still pending"),
        ("nosuchpkg", "nosuchpkg was never requested"),
    ],
)
def test_refused_pending_unknown_install_nothing(kernel, kernel_python, name, message):
    uninstall(kernel_python, "cleanpkg")
    before = pip_list(kernel_python)
    reply, outputs = execute(kernel, f"%load_ext repoguard\n%repoguard install cleanpkg {name}")
    assert reply["status"] == "error"
    assert reply["ename"] == "RepoGuardError"
    assert message in reply["evalue"]
    assert reply["traceback"][0].startswith(f"repoguard: error: nothing installed: {message}")
    shown = text_of(outputs)
    assert "RepoGuard installed nothing" in shown
    assert "%repoguard " in shown  # how to follow up or request it
    assert pip_list(kernel_python) == before


def test_headless_notebook_with_nbclient(kernel_env, kernel_python):
    uninstall(kernel_python, "cleanpkg")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext repoguard"),
        nbformat.v4.new_code_cell("%repoguard install cleanpkg"),
        nbformat.v4.new_code_cell("import cleanpkg\nprint(cleanpkg.hello())"),
        nbformat.v4.new_code_cell("%repoguard status"),
    ]
    NotebookClient(nb, kernel_name="rg-test", timeout=300).execute()
    install_out = nb.cells[1].outputs[0]["data"]
    assert "cleanpkg" in install_out["text/plain"] and "<table>" in install_out["text/html"]
    assert nb.cells[2].outputs[0]["text"] == "hello from cleanpkg\n"
    status = nb.cells[3].outputs[0]["data"]["text/plain"]
    assert "approved" in status and "refused" in status and "requested" in status

    failing = nbformat.v4.new_notebook()
    failing.cells = [nbformat.v4.new_code_cell("%load_ext repoguard\n%repoguard install riskypkg")]
    with pytest.raises(CellExecutionError) as caught:
        NotebookClient(failing, kernel_name="rg-test", timeout=300).execute()
    assert caught.value.ename == "RepoGuardError"
    assert "repoguard: error: nothing installed: riskypkg was refused" in str(caught.value)
    assert "cleanpkg" in pip_list(kernel_python)
