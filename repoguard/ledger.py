"""The request and result CSV formats, read and appended from Python.

The column lists are not written here: they are read from ``contract.json``,
the file the TypeScript formats module (``src/common/columns.ts``) is built on,
so both sides always agree. The rules mirror ``src/common/csv.ts`` and both are
tested on the same golden files in ``src/common/fixtures/``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from .contract import contract

_BOM = "\ufeff"
#: Number of columns each row must have: the contract's columns.
_REQUIRED: dict[str, int] = contract()["requiredColumns"]


def columns() -> dict:
    """The shared format definition (``repoguard.contract``)."""
    return contract()


def request_columns() -> list[str]:
    return list(columns()["request"])


def result_columns() -> list[str]:
    return list(columns()["result"])


@dataclass
class RowError:
    """A problem with one row (row 0: the header)."""

    row: int
    message: str
    field: str | None = None


@dataclass
class ParsedFile:
    format: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# Formula injection (as src/common/csv.ts): a cell a spreadsheet would evaluate
# (leading = + - @ tab CR, after any quotes ') is written with one ' in front;
# a reader removes exactly one, so every value round-trips.
_FORMULA_WRITTEN = re.compile(r"^'*[=+\-@\t\r]")
_FORMULA_READ = re.compile(r"^'+[=+\-@\t\r]")


def escape_cell(value: str) -> str:
    """A cell as written to a CSV file: one ' before a formula-like value."""
    return "'" + value if _FORMULA_WRITTEN.match(value) else value


def unescape_cell(value: str) -> str:
    """A cell as read from a CSV file (the inverse of escape_cell)."""
    return value[1:] if _FORMULA_READ.match(value) else value


def _table(text: str) -> list[list[str]]:
    if text.startswith(_BOM):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    table = []
    for cells in reader:
        if all(c.strip() == "" for c in cells):
            continue  # blank lines, as papaparse's skipEmptyLines "greedy"
        table.append([unescape_cell(c.replace("\r\n", "\n")) for c in cells])
    return table


def _parse(text: str, cols: list[str], required: int) -> ParsedFile:
    parsed = ParsedFile(format="current")
    table = _table(text)
    if not table:
        return parsed
    header = [h.strip() for h in table[0]]
    missing = [c for c in cols[:required] if c not in header]
    if missing:
        parsed.errors.append(
            RowError(0, f"header lacks column(s) {', '.join(missing)}; expected {','.join(cols)}")
        )
        return parsed
    index = {h: i for i, h in enumerate(header)}
    for number, cells in enumerate(table[1:], start=1):
        if len(cells) > len(header):
            parsed.errors.append(
                RowError(number, f"has {len(cells)} fields, the header has {len(header)}")
            )
            continue
        values: dict[str, str] = {}
        short = None
        for position, column in enumerate(cols):
            i = index.get(column)
            value = cells[i] if i is not None and i < len(cells) else None
            if value is None and position < required and short is None:
                short = column
            values[column] = value if value is not None else ""
        if short is not None:
            parsed.errors.append(
                RowError(number, f"has {len(cells)} fields, the header has {len(header)}", short)
            )
            continue
        parsed.rows.append((number, values))
    return parsed


_ARCHIVE = re.compile(contract()["legacyUrls"]["archive"], re.IGNORECASE)
_CODELOAD = re.compile(contract()["legacyUrls"]["codeload"], re.IGNORECASE)


def from_legacy_url(url: str) -> tuple[str, str]:
    """Map a GitHub archive URL of the original sample to (repository URL, ref)."""
    match = _ARCHIVE.match(url) or _CODELOAD.match(url)
    if not match:
        return url, ""
    owner, repo, ref = match.groups()
    return f"https://github.com/{owner}/{repo}", ref


def parse_requests(text: str) -> ParsedFile:
    table = _table(text)
    header = [h.strip() for h in table[0]] if table else []
    legacy = columns()["legacyRequest"]
    if all(c in header for c in legacy) and "request_id" not in header:
        old = _parse(text, legacy, 2)
        parsed = ParsedFile(format="legacy", errors=old.errors)
        for number, values in old.rows:
            repo_url, ref = from_legacy_url(values["PublicPackageRepoUrl"].strip())
            row = dict.fromkeys(request_columns(), "")
            row.update(
                request_id=f"legacy-{number}",
                package_name=values["PublicPackageRepoName"].strip(),
                repo_url=repo_url,
                ref=ref,
            )
            parsed.rows.append((number, row))
        return parsed
    return _parse(text, request_columns(), _REQUIRED["request"])


def parse_results(text: str) -> ParsedFile:
    return _parse(text, result_columns(), _REQUIRED["result"])


def _serialize(rows: list[list[str]], newline: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()


def append_rows(existing: str, cols: list[str], rows: list[dict[str, str]]) -> str:
    """Append rows to a CSV file's text, keeping its line ending and BOM (as csv.ts)."""
    bom = existing.startswith(_BOM)
    body = existing[1:] if bom else existing
    newline = "\r\n" if "\r\n" in body else "\n"
    data = [[escape_cell(str(r.get(c, ""))) for c in cols] for r in rows]
    prefix = _BOM if bom else ""
    if body.strip() == "":
        return prefix + _serialize([cols, *data], newline)
    first_break = body.find("\n")
    header_line = (body if first_break < 0 else body[:first_break]).rstrip("\r")
    header = [h.strip() for h in next(csv.reader([header_line]), [])]
    if header != cols[: len(header)]:
        raise ValueError(
            f"cannot append: the file's header ({','.join(header)}) is not {','.join(cols)}"
        )
    if len(header) < len(cols):
        body = ",".join(cols) + ("" if first_break < 0 else body[first_break:])
    if not body.endswith("\n"):
        body += newline
    return prefix + body + _serialize(data, newline)
