"""The Python reader/writer agrees with the TypeScript formats module on the golden files."""

import json
from pathlib import Path

import pytest

from repoguard import ledger

FIXTURES = Path(__file__).resolve().parents[2] / "src" / "common" / "fixtures"
GOLDEN = sorted(p.name[: -len(".expected.json")] for p in FIXTURES.glob("*.expected.json"))


def as_golden(parsed: ledger.ParsedFile) -> dict:
    return {
        "format": parsed.format,
        "rows": [{"row": n, "values": v} for n, v in parsed.rows],
        "errors": [
            {"row": e.row, **({"field": e.field} if e.field else {})} for e in parsed.errors
        ],
    }


def test_columns_come_from_the_shared_definition():
    shared = json.loads((FIXTURES.parent / "contract.json").read_text())
    assert ledger.request_columns() == shared["request"]
    assert ledger.result_columns()[:15] == [
        "request_id", "package_name", "repo_url", "ref", "commit_sha", "decision",
        "max_severity", "critical", "high", "medium", "low", "private_repo_url",
        "report_url", "scanned_at", "execution_id",
    ]  # fmt: skip


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_file_parses_as_expected(name):
    # Given a golden CSV file and the expectation jest checks too
    text = (FIXTURES / f"{name}.csv").read_bytes().decode("utf-8")
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    # When Python reads it
    parse = ledger.parse_results if name.startswith("results") else ledger.parse_requests
    # Then it reads exactly what TypeScript reads
    assert as_golden(parse(text)) == expected


def test_golden_set_covers_the_hard_cases():
    assert {"requests-bom", "requests-crlf", "legacy", "requests-bad-rows"} <= set(GOLDEN)
    assert (FIXTURES / "requests-bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in (FIXTURES / "requests-crlf.csv").read_bytes()


@pytest.mark.parametrize("name", ["requests", "requests-crlf", "requests-bom"])
def test_append_keeps_line_endings_and_bom_and_round_trips(name):
    raw = (FIXTURES / f"{name}.csv").read_bytes().decode("utf-8")
    row = {
        "request_id": "rq-100",
        "package_name": "pkg",
        "repo_url": "https://github.com/o/pkg",
        "ref": "",
        "requester_email": "d@example.com",
        "justification": 'quote " comma , and\nnewline',
        "requested_at": "2026-11-24T00:00:00Z",
    }
    out = ledger.append_rows(raw, ledger.request_columns(), [row])
    assert out.startswith(raw)
    assert out.startswith("\ufeff") == raw.startswith("\ufeff")
    if "\r\n" in raw:
        assert out[len(raw) :].count("\r\n") >= 1
    parsed = ledger.parse_requests(out)
    assert parsed.errors == []
    assert parsed.rows[-1][1] == row


def test_append_to_empty_file_writes_header():
    out = ledger.append_rows("", ledger.result_columns(), [])
    assert out == ",".join(ledger.result_columns()) + "\n"


def test_append_extends_an_older_header_with_new_columns():
    raw = (FIXTURES / "results-15-columns.csv").read_text()
    out = ledger.append_rows(
        raw, ledger.result_columns(), [{"request_id": "rq-200", "reason": "x"}]
    )
    parsed = ledger.parse_results(out)
    assert parsed.errors == []
    assert [v["request_id"] for _, v in parsed.rows] == ["rq-009", "rq-200"]
    assert parsed.rows[1][1]["reason"] == "x"


def test_append_refuses_a_foreign_header():
    with pytest.raises(ValueError, match="header"):
        ledger.append_rows("a,b\n1,2\n", ledger.request_columns(), [{}])


def test_legacy_archive_urls_map_to_repository_and_ref():
    assert ledger.from_legacy_url(
        "https://github.com/dmlc/xgboost/archive/refs/heads/master.zip"
    ) == ("https://github.com/dmlc/xgboost", "master")
    assert ledger.from_legacy_url("https://codeload.github.com/o/r/zip/refs/tags/v1") == (
        "https://github.com/o/r",
        "v1",
    )
    assert ledger.from_legacy_url("https://gitlab.com/o/r") == ("https://gitlab.com/o/r", "")
