"""The ``%repoguard`` line magic. Never import jupyter_server here: kernels may lack it."""

from __future__ import annotations

import argparse
import html
import shlex

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from .workspace import Workspace, WorkspaceError, workspace_from_env


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would call sys.exit
        raise UsageError(f"{message}\n{self.format_usage()}")


def _parser() -> _Parser:
    parser = _Parser(prog="%repoguard", add_help=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", add_help=False, help="decided requests (the results file)")
    return parser


@magics_class
class RepoGuardMagics(Magics):
    @line_magic
    def repoguard(self, line: str):
        """%repoguard list — show the decided requests."""
        try:
            args = _parser().parse_args(shlex.split(line))
            root = workspace_from_env()
            if root is None:
                raise WorkspaceError(
                    "RepoGuard has no workspace: set REPOGUARD_WORKSPACE to the folder made "
                    "by `repoguard-pipeline init --local DIR`."
                )
            if args.command == "list":
                return self._list(Workspace(root))
        except (UsageError, WorkspaceError) as error:
            print(f"repoguard: {error}")
        return None

    def _list(self, workspace: Workspace) -> None:
        rows = [values for _, values in workspace.results().rows]
        if not rows:
            print("No decided requests yet.")
            return
        display(Table(["package_name", "decision", "commit_sha", "scanned_at"], rows))


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
