"""The request service on a real embedded workspace (real git, real files)."""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from repoguard import ledger
from repoguard.gitstore import GitFileStore
from repoguard.service import NotApproved, UnknownPackage, ValidationError, embedded_service
from repoguard.workspace import Workspace

from .conftest import commit_file


@pytest.fixture
def service(workspace):
    return embedded_service(Workspace(workspace))


def source_url(workspace, name="pkg"):
    return f"file://{workspace}/sources/{name}"


def result_row(**values):
    row = dict.fromkeys(ledger.result_columns(), "")
    row.update(values)
    return row


def test_submit_appends_a_validated_row_to_the_request_repo(service, workspace):
    row = service.submit(
        package_name="clean-greeter",
        repo_url=source_url(workspace, "clean-greeter"),
        requester_email="ana@example.com",
        justification="greetings",
    )
    assert row["request_id"].startswith("rq-")
    text = subprocess.run(
        [
            "git",
            "--git-dir",
            str(workspace / "requests.git"),
            "show",
            "main:external-package-request.csv",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [v for _, v in ledger.parse_requests(text).rows]
    assert rows == [row]


def test_submit_refuses_bad_fields_naming_each_and_writes_nothing(service, workspace):
    with pytest.raises(ValidationError) as error:
        service.submit(package_name="-rf", repo_url="http://evil.invalid/x", ref="--exec=sh")
    assert [e.field for e in error.value.errors] == ["package_name", "repo_url", "ref"]
    assert service.list_requests() == []


def test_fifty_concurrent_submissions_lose_no_row(service, workspace, tmp_path):
    # Given 50 writers, each with its own cache (as separate servers/kernels would be)
    def submit(i):
        store = GitFileStore(str(workspace / "requests.git"), cache_dir=tmp_path / f"c{i}")
        svc = embedded_service(Workspace(workspace))
        svc.store = store
        return svc.submit(package_name=f"pkg{i}", repo_url=source_url(workspace, f"pkg{i}"))[
            "request_id"
        ]

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(submit, range(50)))
    # Then every row is in the file, once
    listed = [s.request["request_id"] for s in service.list_requests()]
    assert sorted(listed) == sorted(ids)
    assert len(set(listed)) == 50


def test_status_follows_state_files_then_results(service, workspace, tmp_path):
    a = service.submit(package_name="a", repo_url=source_url(workspace, "a"))
    b = service.submit(package_name="b", repo_url=source_url(workspace, "b"))
    c = service.submit(package_name="c", repo_url=source_url(workspace, "c"))
    (workspace / "state").mkdir(exist_ok=True)
    (workspace / "state" / f"{b['request_id']}.json").write_text(
        json.dumps({"request_id": b["request_id"], "stage": "scan", "status": "running"})
    )
    results = ledger.append_rows(
        "",
        ledger.result_columns(),
        [
            result_row(
                request_id=c["request_id"], package_name="c", decision="refused", reason="B602"
            )
        ],
    )
    commit_file(workspace, "external-package-results.csv", results, tmp_path)
    by_name = {s.request["package_name"]: s for s in service.list_requests()}
    assert by_name["a"].status == "requested"
    assert (by_name["b"].status, by_name["b"].stage) == ("scan", "scan")
    assert by_name["c"].status == "refused"
    assert by_name["c"].message == "B602"
    assert [s.request["request_id"] for s in service.list_requests()] == [
        c["request_id"],
        b["request_id"],
        a["request_id"],
    ]


def test_resolve_names_why_a_package_cannot_be_installed(service, workspace, tmp_path):
    service.submit(package_name="pending-pkg", repo_url=source_url(workspace, "p"))
    rows = [
        result_row(request_id="r1", package_name="good", decision="approved", commit_sha="a" * 40),
        result_row(request_id="r2", package_name="good", decision="approved", commit_sha="b" * 40),
        result_row(request_id="r3", package_name="bad", decision="refused", reason="B602 shell"),
    ]
    commit_file(
        workspace,
        "external-package-results.csv",
        ledger.append_rows("", ledger.result_columns(), rows),
        tmp_path,
    )
    assert service.resolve("good")["commit_sha"] == "b" * 40
    assert service.resolve("GOOD", sha="aaaa")["request_id"] == "r1"
    with pytest.raises(NotApproved, match="no approved commit starts with cccc"):
        service.resolve("good", sha="cccc")
    with pytest.raises(NotApproved, match="refused.*B602"):
        service.resolve("bad")
    with pytest.raises(NotApproved, match="pending"):
        service.resolve("pending-pkg")
    with pytest.raises(UnknownPackage, match="never requested"):
        service.resolve("nope")
    assert [r["package_name"] for r in service.approved()] == ["good"]
