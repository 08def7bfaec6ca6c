"""Request validation on the Python side (server extension, magic).

The rules are those of ``src/common/validate.ts``; both implementations run the
shared vectors in ``src/common/fixtures/validation-cases.json`` (jest and
pytest), so they cannot drift apart unnoticed. The pipeline validates again
with the TypeScript rules: this side exists to tell the user early, per field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_to_bytes

from .contract import contract, pattern

LIMITS: dict[str, int] = dict(contract()["limits"])

_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]")
_ANY_CONTROL = re.compile("[\u0000-\u001f\u007f\u2028\u2029]")
_REQUEST_ID = pattern("requestId")
_PACKAGE_NAME = pattern("packageName")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#%&+^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$")
_REF_CHARS = re.compile(r"^[A-Za-z0-9._/+-]+$")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field} {self.reason}"


@dataclass(frozen=True)
class Policy:
    allowed_hosts: tuple[str, ...]
    allowed_local_roots: tuple[str, ...] = ()


def ref_problem(ref: str) -> str | None:
    if ref == "":
        return None
    if len(ref) > LIMITS["ref"]:
        return f"is longer than {LIMITS['ref']} characters"
    if ref.startswith("-"):
        return 'must not start with "-" (it would be read as an option)'
    if not _REF_CHARS.match(ref):
        return "may only hold letters, digits and . _ / + -"
    if (
        ".." in ref
        or "//" in ref
        or ref.startswith("/")
        or ref.endswith(("/", ".", ".lock"))
        or any(part.startswith(".") for part in ref.split("/"))
    ):
        return "is not a valid git ref name"
    return None


def _under(segments: list[str], roots: tuple[str, ...]) -> bool:
    if any(segment in ("..", ".") for segment in segments):
        return False
    path = "/" + "/".join(segments)
    for root in roots:
        base = root.rstrip("/")
        if base.startswith("/") and (path == base or path.startswith(base + "/")):
            return True
    return False


#: ``scheme://authority/path`` read literally, as in ``src/common/validate.ts``.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HIERARCHICAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/]*)(.*)$", re.DOTALL)


def _segments(path: str) -> list[str] | None:
    """The %-decoded, non-empty segments of a path; None on an invalid escape."""
    out = []
    for part in path.split("/"):
        if part == "":
            continue
        if re.search(r"%(?![0-9A-Fa-f]{2})", part):
            return None
        try:
            out.append(unquote_to_bytes(part).decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return out


def repo_url_problem(url: str, policy: Policy) -> str | None:
    """Why a repository URL is refused, or None (the grammar of ``repoUrlProblem``).

    The URL is read literally: a URL a WHATWG parser would first normalise
    (``\\`` for ``/``, a default ``:443``, ``..`` segments, a %-escaped host,
    an empty ``@`` user) is refused on both sides, not rewritten.
    """
    if url == "":
        return "is required"
    if len(url) > LIMITS["repo_url"]:
        return f"is longer than {LIMITS['repo_url']} characters"
    if _ANY_CONTROL.search(url) or " " in url:
        return "must not contain spaces or control characters"
    if url.startswith("-"):
        return 'must not start with "-" (it would be read as an option)'
    if "\\" in url:
        return "must not contain a backslash"
    if not url.isascii():
        return "must be ASCII (%-escape anything else)"
    scheme_match = _SCHEME.match(url)
    parts = _HIERARCHICAL.match(url)
    if not scheme_match or not parts:
        return "is not a URL"
    scheme = scheme_match.group(1).lower()
    if scheme not in ("https", "file"):
        return f"must use https:// (not {scheme})"
    authority, path = parts.groups()
    if "@" in authority:
        return "must not contain credentials (user:password@)"
    if "?" in url or "#" in url:
        return "must not have a query (?) or fragment (#)"
    segments = _segments(path)
    if segments is None:
        return "has an invalid %-escape"
    if scheme == "file":
        roots = policy.allowed_local_roots
        if not roots:
            return "file:// sources are accepted only in the embedded mode"
        if authority != "":
            return "a file:// URL must not name a host"
        if not _under(segments, roots):
            return f"a file:// source must lie under {' or '.join(roots)}"
        return None
    host, colon, _port = authority.partition(":")
    host = host.lower()
    if host not in {h.lower() for h in policy.allowed_hosts}:
        return f"host {host} is not on the allow list ({', '.join(policy.allowed_hosts)})"
    if colon:
        return "must not name a port"
    if len(segments) < 2:
        return "must name a repository (https://HOST/OWNER/REPO)"
    if any(s in ("..", ".") or s.startswith("-") or "/" in s for s in segments):
        return "has a path segment that is not allowed"
    return None


def _iso_time_ok(value: str) -> bool:
    if not _ISO_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def validate_request(row: dict[str, str], policy: Policy) -> list[FieldError]:
    """Every problem of a request row, each naming its field, in column order."""
    errors: list[FieldError] = []

    def add(field: str, reason: str | None) -> None:
        if reason:
            errors.append(FieldError(field, reason))

    rid = row.get("request_id", "")
    add(
        "request_id",
        "is required"
        if rid == ""
        else f"is longer than {LIMITS['request_id']} characters"
        if len(rid) > LIMITS["request_id"]
        else None
        if _REQUEST_ID.match(rid)
        else 'may only hold letters, digits, "_" and "-", starting with a letter or digit',
    )
    name = row.get("package_name", "")
    add(
        "package_name",
        "is required"
        if name == ""
        else f"is longer than {LIMITS['package_name']} characters"
        if len(name) > LIMITS["package_name"]
        else None
        if _PACKAGE_NAME.match(name)
        else 'may only hold letters, digits, ".", "_" and "-", '
        "starting and ending with a letter or digit",
    )
    add("repo_url", repo_url_problem(row.get("repo_url", ""), policy))
    add("ref", ref_problem(row.get("ref", "")))
    email = row.get("requester_email", "")
    add(
        "requester_email",
        None
        if email == ""
        else "is not an email address"
        if len(email) > LIMITS["requester_email"] or not _EMAIL.match(email)
        else None,
    )
    why = row.get("justification", "")
    add(
        "justification",
        f"is longer than {LIMITS['justification']} characters"
        if len(why) > LIMITS["justification"]
        else "must not contain control characters"
        if _CONTROL.search(why)
        else None,
    )
    at = row.get("requested_at", "")
    add(
        "requested_at",
        None
        if at == "" or _iso_time_ok(at)
        else "is not an ISO 8601 time (e.g. 2026-11-24T10:00:00Z)",
    )
    return errors
