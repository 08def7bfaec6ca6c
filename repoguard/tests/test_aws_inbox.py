"""A Studio user's request through the S3 inbox (emulator: moto server on
127.0.0.1), drained into the request repo by the pipeline's own code (node),
then listed by the Studio side. The Studio side holds no GitHub write token."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from repoguard.config import NoPipelineStatus
from repoguard.deployment import Deployment, InboxStore
from repoguard.gitstore import GitFileStore
from repoguard.service import RequestService
from repoguard.validation import Policy

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "backend-infra" / "dist" / "backend-infra"
CLI = ROOT / "backend-infra" / "pipeline" / "bin" / "repoguard-pipeline.js"
MOTO = Path(sys.executable).with_name("moto_server")


@pytest.fixture
def moto_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_request_goes_through_the_inbox_into_the_request_repo(
    tmp_path, moto_endpoint, monkeypatch
):
    # Test secrets are made at run time, never committed.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + secrets.token_hex(8).upper())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    subprocess.run(
        ["node", str(CLI), "init", "--local", str(tmp_path / "ws")], check=True, capture_output=True
    )
    bare = tmp_path / "ws" / "requests.git"
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    codepipeline = boto3.client("codepipeline", region_name="eu-west-1")
    stub = Stubber(codepipeline)
    stub.add_response(
        "start_pipeline_execution", {"pipelineExecutionId": "e-1"}, {"name": "repoguard-pipeline"}
    )
    stub.activate()
    deployment = Deployment(
        region="eu-west-1", pipeline_name="repoguard-pipeline", report_bucket="reports"
    )
    store = InboxStore(
        GitFileStore(f"file://{bare}", cache_dir=tmp_path / "cache"),
        deployment,
        s3=s3,
        codepipeline=codepipeline,
    )
    service = RequestService(store, NoPipelineStatus(), Policy(allowed_hosts=("github.com",)))

    row = service.submit(
        package_name="tidy", repo_url="https://github.com/o/tidy", requester_email="ds@example.com"
    )
    stub.assert_no_pending_responses()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports", Prefix="inbox/")["Contents"]]
    assert keys == [f"inbox/{row['request_id']}.json"]
    assert [(r.request["request_id"], r.status) for r in service.list_requests()] == [
        (row["request_id"], "requested")
    ]
    with pytest.raises(PermissionError, match="only the pipeline"):
        store.append("external-package-results.csv", [], [{}], "forged approval")

    drain = f"""
const {{ S3Client }} = require('@aws-sdk/client-s3');
const {{ drainInbox }} = require({json.dumps(str(DIST / "pipeline" / "src" / "adapters" / "aws" / "inbox.js"))});
const {{ GitLedger }} = require({json.dumps(str(DIST / "pipeline" / "src" / "ledger.js"))});
const client = new S3Client({{ endpoint: {json.dumps(moto_endpoint)}, region: 'eu-west-1', forcePathStyle: true }});
drainInbox({{ client, bucket: 'reports', prefix: 'inbox/' }}, GitLedger.local({json.dumps(str(bare))}))
  .then(r => {{ console.log(JSON.stringify(r)); process.exit(0); }}, e => {{ console.error(e); process.exit(1); }});
"""
    out = subprocess.run(
        ["node", "-e", drain],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT / "backend-infra",
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"appended": 1, "dropped": 0}
    assert s3.list_objects_v2(Bucket="reports", Prefix="inbox/").get("KeyCount") == 0
    text = GitFileStore(f"file://{bare}", cache_dir=tmp_path / "cache2").read(
        "external-package-request.csv"
    )
    assert row["request_id"] in text
    assert [(r.request["request_id"], r.status) for r in service.list_requests()] == [
        (row["request_id"], "requested")
    ]
