"""The %repoguard magic in a real IPython shell (in-process)."""

import pytest
from IPython.testing.globalipapp import start_ipython

from repoguard import ledger
from repoguard.magics import RepoGuardError, RepoGuardMagics, UsageError, name_from_url
from repoguard.service import embedded_service
from repoguard.workspace import Workspace

from .conftest import commit_file


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
    shell.extension_manager.load_extension("repoguard")
    yield shell


def test_list_without_workspace_tells_what_to_set(ip, monkeypatch):
    monkeypatch.delenv("REPOGUARD_WORKSPACE", raising=False)
    monkeypatch.delenv("REPOGUARD_MODE", raising=False)
    with pytest.raises(RepoGuardError, match="set REPOGUARD_WORKSPACE"):
        ip.run_line_magic("repoguard", "list")


def test_list_on_empty_ledger(ip, workspace, capsys):
    ip.run_line_magic("repoguard", "list")
    assert "No decided requests yet." in capsys.readouterr().out


def test_list_shows_decided_requests(ip, workspace, tmp_path, capsys):
    row = dict.fromkeys(ledger.result_columns(), "")
    row.update(package_name="tabulate", decision="approved", commit_sha="a" * 40)
    text = ledger.append_rows("", ledger.result_columns(), [row])
    commit_file(workspace, "external-package-results.csv", text, tmp_path)
    ip.run_line_magic("repoguard", "list")
    out = capsys.readouterr().out
    assert "tabulate" in out and "approved" in out and "a" * 40 in out


def test_unknown_subcommand_shows_usage(ip, workspace):
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("repoguard", "frobnicate")
    lines = caught.value._render_traceback_()
    assert lines[0].startswith("repoguard: error: argument command: invalid choice")
    assert lines[1].startswith("usage: %repoguard")


def test_request_submits_like_the_panel(ip, workspace, capsys):
    (workspace / "sources" / "tinylib").mkdir(parents=True)
    url = f"file://{workspace}/sources/tinylib"
    ip.run_line_magic(
        "repoguard", f'request {url} --ref v1.0 --why "for the forecast" --email a@b.co'
    )
    assert "Requested tinylib (rq-" in capsys.readouterr().out
    [status] = embedded_service(Workspace(workspace)).list_requests()
    assert status.status == "requested"
    assert status.request["ref"] == "v1.0"
    assert status.request["justification"] == "for the forecast"
    assert status.request["requester_email"] == "a@b.co"
    ip.run_line_magic("repoguard", "status tinylib")
    out = capsys.readouterr().out
    assert "tinylib" in out and "requested" in out


def test_request_refused_names_the_field(ip, workspace):
    with pytest.raises(RepoGuardError, match="request refused: repo_url must use https://"):
        ip.run_line_magic("repoguard", "request http://github.com/a/b")


def test_status_without_requests(ip, workspace, capsys):
    ip.run_line_magic("repoguard", "status")
    assert "No requests yet." in capsys.readouterr().out


def test_install_unknown_shows_problems_and_raises_one_line(ip, workspace, capsys):
    with pytest.raises(RepoGuardError) as caught:
        ip.run_line_magic("repoguard", "install nosuchthing")
    assert caught.value._render_traceback_() == [
        "repoguard: error: nothing installed: nosuchthing was never requested"
    ]
    out = capsys.readouterr().out
    assert "RepoGuard installed nothing" in out
    assert "%repoguard request https://github.com/OWNER/REPO --name nosuchthing" in out


def test_sha_needs_exactly_one_name(ip, workspace):
    with pytest.raises(UsageError, match="--sha pins one package"):
        ip.run_line_magic("repoguard", "install a b --sha abcdef0")


def test_raise_errors_off_prints_the_error(ip, workspace, capsys):
    magics = ip.magics_manager.registry["RepoGuardMagics"]
    magics.raise_errors = False
    try:
        ip.run_line_magic("repoguard", "install nosuchthing")
    finally:
        magics.raise_errors = True
    assert "repoguard: error: nothing installed: nosuchthing" in capsys.readouterr().out


def test_html_output_escapes_untrusted_cells():
    from repoguard.magics import Table

    html = Table(["a"], [{"a": "<script>x</script>"}])._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_configurable_traits():
    traits = RepoGuardMagics.class_traits(config=True)
    assert {"python", "requester_email", "raise_errors"} <= set(traits)


def test_name_from_url():
    assert name_from_url("https://github.com/psf/requests.git") == "requests"
    assert name_from_url("https://github.com/psf/requests") == "requests"


# -- the machine-readable install bundle (application/vnd.repoguard.install+json) --------
def _bundle_vector() -> dict:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "src/common/fixtures/install-bundle.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_install_bundle_matches_the_shared_vector():
    """The panel's jest tests read the same file (src/__tests__/install.spec.ts)."""
    from repoguard.installer import Installed, Problem
    from repoguard.installer.bundle import install_bundle

    vector = _bundle_vector()
    problems = [Problem(**p) for p in vector["bundle"]["problems"]]
    assert install_bundle([], problems) == vector["bundle"]
    row = vector["installedBundle"]["installed"][0]
    done = Installed(
        name=row["package"], version=row["version"], source=row["source"],
        commit=row["commit"], approved_at=row["approved"], request_id=row["request"],
        why=row["why"], status=row["status"],
    )  # fmt: skip
    notes = vector["installedBundle"]["notes"]
    assert install_bundle([done], [], notes=notes) == vector["installedBundle"]


def test_install_displays_the_bundle_with_the_missing_names(ip, workspace, monkeypatch):
    from repoguard.contract import mime

    shown: list[dict] = []
    publish = ip.display_pub.publish
    monkeypatch.setattr(
        ip.display_pub,
        "publish",
        lambda data, *a, **k: (shown.append(data), publish(data, *a, **k)),
    )
    with pytest.raises(RepoGuardError):
        ip.run_line_magic("repoguard", "install nosuchthing")
    bundles = [d[mime("install")] for d in shown if mime("install") in d]
    assert len(bundles) == 1
    assert bundles[0]["ok"] is False
    assert bundles[0]["missing"] == ["nosuchthing"]
    assert bundles[0]["problems"][0]["hint"].startswith("%repoguard request ")
    # the people reading the notebook still get the text
    assert "RepoGuard installed nothing" in shown[0]["text/plain"]
