"""The deployment contract that the synthesized Studio lifecycle script writes,
loaded by the Python side (config and magic settings)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from repoguard.config import load_settings
from repoguard.deployment import DeploymentError, load, parse

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "backend-infra" / "dist" / "backend-infra"


def synthesized_contract(tmp_path: Path) -> Path:
    """Run the synthesized lifecycle script (its references resolved) with a failing pip."""
    node = shutil.which("node")
    if node is None or not (DIST / "lib" / "app.js").exists():
        pytest.fail("build backend-infra first (npx tsc -p backend-infra/tsconfig.json)")
    program = f"""
const {{ App }} = require('aws-cdk-lib');
const {{ Template }} = require('aws-cdk-lib/assertions');
const {{ buildRepoGuardApp }} = require({json.dumps(str(DIST / "lib" / "app.js"))});
const {{ loadConfig }} = require({json.dumps(str(DIST / "lib" / "config.js"))});
const {{ resolveIntrinsics }} = require({json.dumps(str(DIST / "test" / "intrinsics.js"))});
const cdkJson = require({json.dumps(str(ROOT / "backend-infra" / "cdk.json"))});
const app = new App({{ context: {{ ...cdkJson.context, enableStudio: true }} }});
const stacks = buildRepoGuardApp(app, loadConfig(app.node), {{ nag: false }});
const t = Template.fromStack(stacks.studio).toJSON();
const lcc = Object.values(t.Resources).find(r => r.Type === 'AWS::SageMaker::StudioLifecycleConfig');
process.stdout.write(resolveIntrinsics(lcc.Properties.StudioLifecycleConfigContent));
"""
    script = subprocess.run(
        [node, "-e", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT / "backend-infra",
    ).stdout
    home = tmp_path / "home"
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "pip").chmod(0o755)
    (home / "on-start.sh").write_text(script)
    subprocess.run(
        ["bash", str(home / "on-start.sh")],
        env={"HOME": str(home), "PATH": f"{bin_dir}:/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    return home / ".config" / "repoguard" / "deployment.json"


@pytest.fixture(autouse=True)
def _restore_environ():
    """The server extension started in aws mode exports its settings; later tests must not see them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> Path:
    """The home folder after the synthesized lifecycle script ran (the contract inside)."""
    tmp = tmp_path_factory.mktemp("lcc")
    synthesized_contract(tmp)
    return tmp


@pytest.fixture
def jp_server_config(jp_server_config, synthesized, monkeypatch):
    # The server config the lifecycle script wrote, merged here; that a real `jupyter server`
    # loads it from ~/.jupyter is checked by backend-infra/pipeline/test/aws-e2e.test.ts.
    monkeypatch.delenv("REPOGUARD_DEPLOYMENT", raising=False)
    monkeypatch.setenv("HOME", str(synthesized / "home"))
    written = synthesized / "home" / ".jupyter" / "jupyter_repoguard_config.json"
    return {**jp_server_config, **json.loads(written.read_text())}


async def test_the_server_extension_starts_from_the_contract_and_health_shows_it(jp_fetch):
    response = await jp_fetch("repoguard", "health")
    body = json.loads(response.body)
    assert body["mode"] == "aws"
    deployment = body["deployment"]
    assert deployment["pipeline_name"] == "repoguard-pipeline"
    assert deployment["request_repo_url"] == "https://github.com/example-org/repoguard-requests.git"
    assert deployment["github_org"] == "example-org"
    assert deployment["report_bucket"]
    assert deployment["read_token_secret_arn"].startswith("ref-")  # an ARN, never a token
    assert "token" not in json.dumps(
        {k: v for k, v in deployment.items() if not k.endswith("_arn")}
    )


def test_the_synthesized_contract_configures_the_aws_mode(synthesized):
    tmp_path = synthesized
    contract = tmp_path / "home" / ".config" / "repoguard" / "deployment.json"
    deployment = load(contract)
    assert deployment.pipeline_name == "repoguard-pipeline"
    # The installer's trusted key: the pipeline's attestation key (kms:GetPublicKey).
    assert deployment.signing_key_arn  # a cross-stack reference, resolved at deploy time
    settings = load_settings({"REPOGUARD_DEPLOYMENT": str(contract)})
    assert settings.mode == "aws"
    assert settings.request_repo_url == "https://github.com/example-org/repoguard-requests.git"
    assert settings.private_org == "example-org"
    assert settings.github_token_secret_arn == deployment.read_token_secret_arn
    assert settings.problem() is None
    server = json.loads(
        (tmp_path / "home" / ".jupyter" / "jupyter_repoguard_config.json").read_text()
    )
    assert os.path.expandvars(server["RepoGuardApp"]["deployment_file"]).endswith("deployment.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 2}, "version"),
        ({"version": 1, "region": "eu-west-1"}, "pipelineName"),
        (
            {"version": 1, "region": "eu-west-1", "pipelineName": 3},
            "pipelineName: must be a string",
        ),
        (
            {"version": 1, "region": "r", "pipelineName": "p", "requestRepoUrl": "http://x"},
            "requestRepoUrl",
        ),
    ],
)
def test_a_bad_contract_names_the_field(data, message):
    with pytest.raises(DeploymentError, match=message):
        parse(data)
