"""The %repoguard magic in a real IPython shell."""

import pytest
from IPython.testing.globalipapp import start_ipython

from repoguard import ledger

from .conftest import commit_file


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
    shell.extension_manager.load_extension("repoguard")
    yield shell


def test_list_without_workspace_tells_what_to_set(ip, monkeypatch, capsys):
    monkeypatch.delenv("REPOGUARD_WORKSPACE", raising=False)
    ip.run_line_magic("repoguard", "list")
    assert "set REPOGUARD_WORKSPACE" in capsys.readouterr().out


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


def test_unknown_subcommand_prints_usage(ip, workspace, capsys):
    ip.run_line_magic("repoguard", "frobnicate")
    assert "usage: %repoguard" in capsys.readouterr().out
