"""The ``%repoguard`` line magic. Never import jupyter_server here: kernels may lack it.

    %repoguard install NAME [NAME ...] [--sha SHA] [--dry-run]
    %repoguard request URL [--name N] [--ref R] [--why TEXT] [--email E]
    %repoguard status [NAME]
    %repoguard list

Results are displayed (an HTML table in a notebook, plain text elsewhere) and
the magic returns nothing. A failure raises ``RepoGuardError``, which IPython
shows as the single line ``repoguard: error: ...`` (no traceback); a kernel's
execute reply then carries ``ename == "RepoGuardError"``, so the panel and a
headless run (papermill, nbclient) both see that the cell failed.
"""

from __future__ import annotations

import argparse
import html
import importlib
import os
import shlex
import sys
from urllib.parse import urlsplit

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display
from packaging.utils import canonicalize_name
from traitlets import Bool, Unicode

from .config import load_settings, service_from_settings
from .gitstore import GitError
from .installer import Installed, InstallError, Problem, installer_from_settings
from .installer.bundle import MIME as INSTALL_MIME
from .installer.bundle import install_bundle
from .service import ValidationError
from .workspace import WorkspaceError


class RepoGuardError(Exception):
    """A failed ``%repoguard`` command; IPython shows only ``repoguard: error: ...``."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []

    def _render_traceback_(self) -> list[str]:
        return [f"repoguard: error: {self}", *self.details]


class UsageError(RepoGuardError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would call sys.exit
        raise UsageError(message, [self.format_usage().strip()])


def _parser() -> _Parser:
    parser = _Parser(prog="%repoguard", add_help=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    install = sub.add_parser("install", add_help=False, help="install approved packages")
    install.add_argument("names", nargs="+", metavar="NAME")
    install.add_argument("--sha", help="an older approved commit (one NAME only)")
    install.add_argument("--dry-run", action="store_true", help="show the plan only")
    request = sub.add_parser("request", add_help=False, help="request a public repository")
    request.add_argument("url", metavar="URL")
    request.add_argument("--name", default="")
    request.add_argument("--ref", default="")
    request.add_argument("--why", default="")
    request.add_argument("--email", default=None)
    status = sub.add_parser("status", add_help=False, help="requests and where they are")
    status.add_argument("name", nargs="?", default=None, metavar="NAME")
    sub.add_parser("list", add_help=False, help="decided requests (the results file)")
    return parser


def name_from_url(url: str) -> str:
    """The package name a repository URL suggests: its last path segment."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[-1].removesuffix(".git") if segments else ""


@magics_class
class RepoGuardMagics(Magics):
    python = Unicode(
        sys.executable,
        help="Interpreter whose environment `%repoguard install` changes (this kernel's).",
    ).tag(config=True)
    requester_email = Unicode(
        os.environ.get("REPOGUARD_REQUESTER_EMAIL", ""),
        help="Email recorded on `%repoguard request` (default: $REPOGUARD_REQUESTER_EMAIL).",
    ).tag(config=True)
    raise_errors = Bool(
        True,
        help="Raise RepoGuardError on failure (a failed cell); False only prints the error.",
    ).tag(config=True)

    @line_magic
    def repoguard(self, line: str):
        """%repoguard install|request|status|list — see `repoguard.magics`."""
        try:
            args = _parser().parse_args(shlex.split(line))
            getattr(self, f"_{args.command}")(args)
        except RepoGuardError as error:
            if self.raise_errors:
                raise
            print("\n".join(error._render_traceback_()))
        return None

    # -- the commands ------------------------------------------------------------
    def _install(self, args) -> None:
        if args.sha and len(args.names) != 1:
            raise UsageError("--sha pins one package: give exactly one NAME")
        try:
            installer = installer_from_settings(load_settings(), python=self.python)
            done = installer.run(args.names, args.sha, dry_run=args.dry_run)
        except InstallError as error:
            display(ProblemReport(error.problems, dry_run=args.dry_run))
            names = ", ".join(dict.fromkeys(p.name for p in error.problems))
            raise RepoGuardError(f"nothing installed: {error.problems[0].message}", [
                f"({len(error.problems)} problem(s): {names}; see above)"
            ] if len(error.problems) > 1 else []) from None  # fmt: skip
        except (WorkspaceError, GitError, RuntimeError, OSError) as error:
            raise RepoGuardError(f"nothing installed: {error}") from None
        notes = []
        if self.python == sys.executable and not args.dry_run:
            importlib.invalidate_caches()
            stale = [
                d.name for d in done
                if d.status == "installed" and d.name.replace("-", "_").lower() in sys.modules
            ]  # fmt: skip
            if stale:
                notes.append(f"Restart the kernel to use the new {', '.join(stale)}.")
        display(InstallReport(done, notes, dry_run=args.dry_run))

    def _request(self, args) -> None:
        name = args.name or name_from_url(args.url)
        email = self.requester_email if args.email is None else args.email
        try:
            row = service_from_settings(load_settings()).submit(
                package_name=name,
                repo_url=args.url,
                ref=args.ref,
                requester_email=email,
                justification=args.why,
            )
        except ValidationError as error:
            raise RepoGuardError(f"request refused: {error}") from None
        except (WorkspaceError, GitError) as error:
            raise RepoGuardError(str(error)) from None
        display(
            Message(
                f"Requested {row['package_name']} ({row['request_id']}). "
                f"Follow it with: %repoguard status {row['package_name']}"
            )
        )

    def _status(self, args) -> None:
        try:
            statuses = service_from_settings(load_settings()).list_requests()
        except (WorkspaceError, GitError) as error:
            raise RepoGuardError(str(error)) from None
        if args.name:
            key = args.name.lower()
            statuses = [s for s in statuses if s.request["package_name"].lower() == key]
        if not statuses:
            display(Message(f"No request names {args.name}." if args.name else "No requests yet."))
            return
        rows = [
            {
                "request_id": s.request["request_id"],
                "package_name": s.request["package_name"],
                "status": s.status,
                "commit_sha": (s.result or {}).get("commit_sha", ""),
                "message": s.message or "",
                "updated_at": s.updated_at or s.request.get("requested_at", ""),
            }
            for s in statuses
        ]
        display(Table(list(rows[0]), rows))
        for warning in revoked_installed(statuses, sys.executable):
            display(Message(warning))

    def _list(self, args) -> None:
        try:
            rows = service_from_settings(load_settings()).results()
        except (WorkspaceError, GitError) as error:
            raise RepoGuardError(str(error)) from None
        if not rows:
            display(Message("No decided requests yet."))
            return
        columns = ["package_name", "decision", "max_severity", "commit_sha", "scanned_at"]
        display(Table([*columns, "reason"], rows))


def revoked_installed(statuses, python: str) -> list[str]:
    """A warning for each revoked commit that is installed in this kernel's environment."""
    revoked = [s for s in statuses if s.status == "revoked" and s.result]
    if not revoked:
        return []
    from .installer.environment import Environment

    dists = Environment.probe(python).dists
    out = []
    for s in revoked:
        name = s.result["package_name"]
        have = dists.get(canonicalize_name(name)) or {}
        if have.get("commit") and have["commit"] == s.result["commit_sha"]:
            out.append(
                f"warning: {name} {have.get('version', '')} installed in this kernel is the revoked"
                f" commit {s.result['commit_sha'][:12]} ({s.result.get('reason', '')}); remove it"
                f" with %pip uninstall -y {name}, or request a newer ref"
            )
    return out


# -- rich output ------------------------------------------------------------------
class Message:
    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.text)}</p>"

    def __repr__(self) -> str:
        return self.text


class Table:
    """Rows shown as an HTML table in a notebook and as plain text elsewhere."""

    def __init__(self, columns: list[str], rows: list[dict[str, str]]):
        self.columns = columns
        self.rows = rows

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(r.get(c, ''))}</td>" for c in self.columns)
            + "</tr>"
            for r in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        widths = [max(len(c), *(len(r.get(c, "")) for r in self.rows)) for c in self.columns]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        for r in self.rows:
            lines.append(
                "  ".join(r.get(c, "").ljust(w) for c, w in zip(self.columns, widths, strict=True))
            )
        return "\n".join(line.rstrip() for line in lines)


class InstallReport:
    """What was installed: name, version, source, commit, approval date."""

    COLUMNS = ["package", "version", "status", "source", "commit", "approved", "why"]

    def __init__(self, installed: list[Installed], notes: list[str], *, dry_run: bool = False):
        self.installed = installed
        self.notes = notes
        self.dry_run = dry_run
        self.table = Table(self.COLUMNS, [i.row() for i in installed])

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Text and HTML for people, the install bundle for the panel."""
        return {
            "text/plain": repr(self),
            "text/html": self._repr_html_(),
            INSTALL_MIME: install_bundle(
                self.installed, [], dry_run=self.dry_run, notes=self.notes
            ),
        }

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return f"<p>RepoGuard: approved packages</p>{self.table._repr_html_()}{notes}"

    def __repr__(self) -> str:
        return "\n".join([repr(self.table), *self.notes])


class ProblemReport:
    """Why nothing was installed, with one line to run for each problem."""

    def __init__(self, problems: list[Problem], *, dry_run: bool = False):
        self.problems = problems
        self.dry_run = dry_run

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Text and HTML for people, the install bundle (problems, missing names) for the panel."""
        return {
            "text/plain": repr(self),
            "text/html": self._repr_html_(),
            INSTALL_MIME: install_bundle([], self.problems, dry_run=self.dry_run),
        }

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li><b>{html.escape(p.name)}</b>: {html.escape(p.message)}"
            + (f"<br><code>{html.escape(p.hint)}</code>" if p.hint else "")
            + "</li>"
            for p in self.problems
        )
        return f"<p>RepoGuard installed nothing:</p><ul>{items}</ul>"

    def __repr__(self) -> str:
        lines = ["RepoGuard installed nothing:"]
        for p in self.problems:
            lines.append(f"  - {p.name}: {p.message}")
            if p.hint:
                lines.append(f"      {p.hint}")
        return "\n".join(lines)
