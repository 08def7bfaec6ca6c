"""REST API of the server extension, through a real Jupyter server (jp_fetch)."""

import json
import os
import shutil
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from repoguard import __version__
from repoguard.backends import AwsBackend, EmbeddedBackend
from repoguard.service import NotApproved, embedded_service
from repoguard.workspace import Workspace

from .conftest import commit_file

HEADER = "request_id,package_name,repo_url,ref,commit_sha,decision,max_severity,critical,high,medium,low,private_repo_url,report_url,scanned_at,execution_id,reason,dependencies\n"
#: The shared findings file (the panel's jest tests render the same one).
FINDINGS = Path(__file__).resolve().parents[2] / "src" / "common" / "fixtures" / "findings.json"
#: The raw scan: served as a report file, never re-read for findings.
SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "Bandit",
                    "rules": [{"id": "B602", "defaultConfiguration": {"level": "error"}}],
                }
            },
            "results": [
                {
                    "ruleId": "B101",
                    "level": "note",
                    "message": {"text": "assert used"},
                    "properties": {"issue_severity": "LOW"},
                },
                {
                    "ruleId": "B602",
                    "message": {"text": "shell=True"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {
                                    "uri": "file:///tmp/w/sources/rq-bad/src/x/__init__.py"
                                },
                                "region": {"startLine": 8},
                            }
                        }
                    ],
                },
                {"ruleId": "B999", "message": {"text": "waived"}, "suppressions": [{}]},
            ],
        }
    ],
}


def fake_backend(test):
    """Run this test against a server whose backend_class is FakeBackend."""
    test.fake_backend = True
    return test


@pytest.fixture
def jp_server_config(jp_server_config, workspace, request):
    # The workspace fixture sets REPOGUARD_WORKSPACE before the server starts.
    if getattr(request.function, "fake_backend", False):
        return {
            **jp_server_config,
            "RepoGuardApp": {"backend_class": "repoguard.tests.test_handlers.FakeBackend"},
        }
    return jp_server_config


class Counting:
    """Wraps a callable and counts its calls."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


class FakeStatus:
    """A CodePipelineStatus stand-in: one fixed state, counted."""

    def __init__(self):
        self.fingerprints = 0

    def fingerprint(self):
        self.fingerprints += 1
        return "Source:e1:Succeeded"

    def states(self):
        return {}

    def pipeline(self):
        return {"mode": "aws", "name": "p", "stages": ["Source"], "current": None, "executions": []}


class FakeBackend(AwsBackend):
    """The production backend over the local workspace's repo, with counters and a trap."""

    latest: "FakeBackend | None" = None

    def __init__(self, app):
        service = embedded_service(Workspace(Path(os.environ["REPOGUARD_WORKSPACE"])))
        service.store.read_many = Counting(service.store.read_many)
        self.tips = Counting(lambda: "tip-1")
        super().__init__(service, FakeStatus(), remote_tip=self.tips, ttl=60)
        FakeBackend.latest = self

    def result(self, request_id):
        if request_id == "rq-pending":
            raise NotApproved("rq-pending is still pending")
        if request_id == "rq-boom":
            raise RuntimeError("boom")
        return super().result(request_id)


def _body(response):
    return json.loads(response.body)


async def _post(jp_fetch, **fields):
    return await jp_fetch(
        "repoguard", "requests", method="POST", body=json.dumps(fields), raise_error=False
    )


def _add_result(workspace: Path, tmp_path: Path, rows: list[str]) -> None:
    commit_file(workspace, "external-package-results.csv", HEADER + "".join(rows), tmp_path)


def _clean_source(workspace: Path) -> str:
    source = workspace / "sources" / "clean-greeter"
    source.mkdir(parents=True)
    return f"file://{source}"


# -- health -----------------------------------------------------------------------
async def test_health_reports_version_mode_ready_workspace_and_policy(jp_fetch, workspace):
    # Given a server with an embedded workspace
    # When the panel asks for health
    response = await jp_fetch("repoguard", "health", params={"version": __version__})
    # Then it gets the version, the mode, a ready workspace and the validation policy
    assert response.code == 200
    body = _body(response)
    assert body["version"] == __version__
    assert body["mode"] == "embedded"
    assert body["ready"] is True
    assert body["workspace"] == str(workspace)
    assert "github.com" in body["policy"]["allowedHosts"]
    assert body["policy"]["allowedLocalRoots"] == [str(workspace / "sources")]


async def test_health_says_what_to_do_when_the_workspace_is_missing(jp_fetch, workspace):
    shutil.rmtree(workspace)
    body = _body(await jp_fetch("repoguard", "health"))
    assert body["ready"] is False
    assert "repoguard-pipeline init --local" in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        ("health",),
        ("requests",),
        ("pipeline",),
        ("approved",),
        ("results", "rq-1"),
        ("reports", "rq-1", "report.html"),
    ],
)
async def test_every_route_requires_authentication(jp_fetch, path):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("repoguard", *path, headers={"Authorization": ""})
    assert error.value.code == 403


# -- requests -----------------------------------------------------------------------
async def test_submit_appends_the_row_and_it_is_listed_as_mine(jp_fetch, workspace):
    # Given a valid request
    url = _clean_source(workspace)
    # When it is submitted
    response = await _post(
        jp_fetch,
        package_name="clean-greeter",
        repo_url=url,
        requester_email="Ada@Example.com",
        justification="greetings",
    )
    # Then it is created with a request id and listed as the requester's, status requested
    assert response.code == 201
    row = _body(response)["request"]
    assert row["request_id"].startswith("rq-")
    mine = _body(
        await jp_fetch("repoguard", "requests", params={"mine": "1", "email": "ada@example.com"})
    )["requests"]
    assert [(r["request"]["request_id"], r["status"]) for r in mine] == [
        (row["request_id"], "requested")
    ]
    others = _body(
        await jp_fetch("repoguard", "requests", params={"mine": "1", "email": "bob@example.com"})
    )
    assert others["requests"] == []


async def test_submit_names_each_invalid_field(jp_fetch):
    response = await _post(
        jp_fetch, package_name="-bad-", repo_url="http://evil.example/x", ref="--upload-pack=x"
    )
    assert response.code == 400
    body = _body(response)
    assert body["message"]
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"package_name", "repo_url", "ref"}
    assert all(e["reason"] for e in body["errors"])


async def test_submit_refuses_a_body_that_is_not_an_object(jp_fetch):
    response = await jp_fetch("repoguard", "requests", method="POST", body="[1]", raise_error=False)
    assert response.code == 400
    assert "JSON object" in _body(response)["message"]


async def test_mine_without_email_is_a_bad_request(jp_fetch):
    response = await jp_fetch("repoguard", "requests", params={"mine": "1"}, raise_error=False)
    assert response.code == 400


async def test_live_status_follows_the_runner_state_file(jp_fetch, workspace):
    url = _clean_source(workspace)
    rid = _body(await _post(jp_fetch, package_name="clean-greeter", repo_url=url))["request"][
        "request_id"
    ]
    (workspace / "state").mkdir(exist_ok=True)
    (workspace / "state" / f"{rid}.json").write_text(
        json.dumps(
            {
                "request_id": rid,
                "stage": "scan",
                "status": "running",
                "started_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:05Z",
                "execution_id": "local-1",
                "message": "",
            }
        )
    )
    listed = _body(await jp_fetch("repoguard", "requests"))["requests"][0]
    assert (listed["status"], listed["stage"]) == ("scan", "scan")
    pipeline = _body(await jp_fetch("repoguard", "pipeline"))
    assert pipeline["stages"] == ["ingest", "scan", "decide", "publish", "record", "notify"]
    assert pipeline["current"]["id"] == "local-1"
    assert pipeline["current"]["stage"] == "scan"


# -- caching ------------------------------------------------------------------------
async def test_unchanged_poll_is_answered_304_and_a_change_changes_the_etag(jp_fetch, workspace):
    first = await jp_fetch("repoguard", "requests")
    etag = first.headers["ETag"]
    again = await jp_fetch(
        "repoguard", "requests", headers={"If-None-Match": etag}, raise_error=False
    )
    assert again.code == 304
    # a cache-busting timestamp in the query does not defeat the ETag
    busted = await jp_fetch(
        "repoguard",
        "requests",
        params={"1795495230066": ""},
        headers={"If-None-Match": etag},
        raise_error=False,
    )
    assert busted.code == 304
    # a new request moves the request repo's tip: the old ETag no longer holds
    await _post(jp_fetch, package_name="clean-greeter", repo_url=_clean_source(workspace))
    changed = await jp_fetch(
        "repoguard", "requests", headers={"If-None-Match": etag}, raise_error=False
    )
    assert changed.code == 200
    assert changed.headers["ETag"] != etag


@fake_backend
async def test_fake_aws_unchanged_poll_costs_no_github_call(jp_fetch, workspace):
    # Given the production backend (request repo over git, CodePipeline state)
    first = await jp_fetch("repoguard", "requests")
    backend = FakeBackend.latest
    reads, tips = backend._service.store.read_many.calls, backend.tips.calls
    assert (reads, tips) == (1, 1)
    # When many polls find nothing changed
    for _ in range(20):
        response = await jp_fetch(
            "repoguard",
            "requests",
            headers={"If-None-Match": first.headers["ETag"]},
            raise_error=False,
        )
        assert response.code == 304
    # Then no further read of the request repo and one shared tip look-up at most
    assert backend._service.store.read_many.calls == reads
    assert backend.tips.calls == tips
    assert backend.status.fingerprints == 1


# -- approved, results, reports ---------------------------------------------------------
@pytest.fixture
def decided(workspace, tmp_path):
    """One approved and one refused result, with the refused one's report files."""
    _add_result(
        workspace,
        tmp_path,
        [
            "rq-good,clean-greeter,file:///s/clean-greeter,,84a697a4cce5372b211d54b92c83d0b170da72c2,approved,,0,0,0,0,file:///w/private/clean-greeter.git,reports/rq-good/report.html,2026-01-01T00:00:00Z,local-1,,\n",
            'rq-bad,shell-runner,file:///s/shell-runner,,e5cd09378bf2dd639650f9f1a26e4bd5b2bf25d5,refused,high,0,1,0,1,,reports/rq-bad/report.html,2026-01-01T00:00:01Z,local-1,"1 finding(s) at or above medium",\n',
        ],
    )
    folder = workspace / "reports" / "rq-bad"
    folder.mkdir(parents=True)
    (folder / "report.sarif").write_text(json.dumps(SARIF))
    (folder / "findings.json").write_bytes(FINDINGS.read_bytes())
    (folder / "report.html").write_text("<!doctype html><h1>shell-runner</h1>")
    (folder / "report.exe").write_text("MZ")
    (workspace / "secret.txt").write_text("do not serve")
    return workspace


async def test_approved_lists_the_latest_approval_of_each_package(jp_fetch, decided):
    body = _body(await jp_fetch("repoguard", "approved"))
    assert [(r["package_name"], r["commit_sha"][:7]) for r in body["approved"]] == [
        ("clean-greeter", "84a697a")
    ]


async def test_result_serves_the_pipelines_findings_file_as_is(jp_fetch, decided):
    # Given a report folder with the raw SARIF log and the pipeline's findings.json
    body = _body(await jp_fetch("repoguard", "results", "rq-bad"))
    assert body["decision"] == "refused"
    assert body["reason"] == "1 finding(s) at or above medium"
    assert body["report"] == "reports/rq-bad/report.html"
    # Then the findings are the pipeline's judgement, unchanged: the adjusted
    # severity, the gate, the waived flag and the reason (no SARIF re-reading here)
    assert body["findings"] == json.loads(FINDINGS.read_text())
    waived = body["findings"]["findings"][2]
    assert (waived["severity"], waived["scanner_severity"], waived["waived"]) == (
        "info",
        "high",
        True,
    )


async def test_result_without_a_findings_file_has_none(jp_fetch, decided):
    (decided / "reports" / "rq-bad" / "findings.json").unlink()
    body = _body(await jp_fetch("repoguard", "results", "rq-bad"))
    assert body["findings"] is None


async def test_result_of_an_unknown_request_is_404(jp_fetch, decided):
    response = await jp_fetch("repoguard", "results", "rq-nope", raise_error=False)
    assert response.code == 404
    assert "rq-nope" in _body(response)["message"]


async def test_report_page_is_served_sandboxed(jp_fetch, decided):
    response = await jp_fetch("repoguard", "reports", "rq-bad", "report.html")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"shell-runner" in response.body


@pytest.mark.parametrize(
    "parts",
    [
        ("rq-bad", "report.exe"),  # not a report type
        ("rq-bad", "..%2F..%2Fsecret.txt"),  # encoded traversal
        ("..", "secret.txt"),
        ("rq-bad", ".report.html"),
        ("rq-good", "report.html"),  # no such file
    ],
)
async def test_report_refuses_anything_outside_the_request_folder(jp_fetch, decided, parts):
    response = await jp_fetch("repoguard", "reports", *parts, raise_error=False)
    assert response.code == 404
    assert b"do not serve" not in response.body


async def test_report_does_not_follow_a_symlink_out_of_the_folder(jp_fetch, decided):
    os.symlink(decided / "secret.txt", decided / "reports" / "rq-bad" / "leak.txt")
    response = await jp_fetch("repoguard", "reports", "rq-bad", "leak.txt", raise_error=False)
    assert response.code == 404


@fake_backend
async def test_fake_not_approved_maps_to_409_and_a_crash_to_500(jp_fetch, workspace):
    pending = await jp_fetch("repoguard", "results", "rq-pending", raise_error=False)
    assert pending.code == 409
    assert _body(pending)["message"] == "rq-pending is still pending"
    boom = await jp_fetch("repoguard", "results", "rq-boom", raise_error=False)
    assert boom.code == 500
    assert "boom" in _body(boom)["message"]


def test_embedded_fingerprint_changes_with_the_state_files(workspace):
    backend = EmbeddedBackend(Workspace(workspace))
    before = backend.fingerprint()
    assert backend.fingerprint() == before
    (workspace / "state").mkdir(exist_ok=True)
    (workspace / "state" / "rq-1.json").write_text("{}")
    assert backend.fingerprint() != before
