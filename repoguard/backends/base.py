"""The interface the handlers use, and what both backends share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from ..contract import files, pattern
from ..service import RequestService, UnknownPackage

SAFE_ID = pattern("safeId")
SAFE_FILE = pattern("reportFile")
FILES = files()
#: The only report files served, with their content types.
REPORT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".sarif": "application/sarif+json",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


class ReportNotFound(LookupError):
    """No such report file (or a name that could escape the report folder)."""


class PanelBackend(Protocol):
    """The interface the handlers use; both backends implement it."""

    mode: str

    def fingerprint(self) -> str: ...
    def policy(self) -> dict[str, list[str]]: ...
    def service(self) -> RequestService: ...
    def pipeline(self) -> dict[str, Any]: ...
    def result(self, request_id: str) -> dict[str, Any]: ...
    def report_file(self, request_id: str, name: str) -> tuple[bytes, str]: ...


def check_report_name(request_id: str, name: str) -> str:
    """The content type of a servable report file; ReportNotFound otherwise."""
    if not SAFE_ID.match(request_id) or not SAFE_FILE.match(name) or ".." in name:
        raise ReportNotFound(f"no report file {request_id}/{name}")
    content_type = REPORT_TYPES.get(Path(name).suffix.lower())
    if content_type is None:
        raise ReportNotFound(f"{name} is not a report file")
    return content_type


def latest_result(service: RequestService, request_id: str) -> dict[str, str]:
    found = [r for r in service.results() if r["request_id"] == request_id]
    if not found:
        raise UnknownPackage(f"request {request_id} has no result yet")
    return found[-1]


def findings_of(data: bytes | None) -> dict[str, Any] | None:
    """The report's ``findings.json`` as the pipeline wrote it (served as is), or None.

    The pipeline normalises the findings once (adjusted severity, gate,
    waived, reason: ``src/common/findings.ts``); this side only checks that
    the file is a JSON object, so nothing here can disagree with the decision.
    """
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def result_body(row: dict[str, str], findings: dict[str, Any] | None) -> dict[str, Any]:
    rid = row["request_id"]
    return {
        "request_id": rid,
        "package_name": row["package_name"],
        "decision": row["decision"],
        "reason": row.get("reason", ""),
        "result": row,
        "findings": findings,
        "report": f"reports/{rid}/{FILES['reportPage']}",
    }
