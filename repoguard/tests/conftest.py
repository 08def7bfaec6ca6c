import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A real embedded workspace made by the stage CLI, exported as REPOGUARD_WORKSPACE."""
    node = shutil.which("node")
    assert node, "node is required: the workspace is made by repoguard-pipeline"
    root = tmp_path / "ws"
    subprocess.run(
        [node, str(PIPELINE), "init", "--local", str(root)], check=True, capture_output=True
    )
    monkeypatch.setenv("REPOGUARD_WORKSPACE", str(root))
    return root


def commit_file(workspace: Path, name: str, text: str, tmp_path: Path) -> None:
    """Commit a file to the workspace's request repo the way a plain git user would."""
    clone = tmp_path / "clone"
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "clone", "-q", str(workspace / "requests.git"), str(clone)], check=True)
    (clone / name).write_text(text, encoding="utf-8", newline="")
    subprocess.run(["git", *env_args, "-C", str(clone), "commit", "-qam", "edit"], check=True)
    subprocess.run(["git", "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
    shutil.rmtree(clone)
