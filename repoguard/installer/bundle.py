"""The machine-readable result of an install (the contract's ``mime.install`` type).

The magic displays this bundle beside its text and HTML; the panel reads it
(``src/common/install.ts``) to offer one "Request X" button per missing
package, instead of reading the human messages. Both sides run the shared
vector ``src/common/fixtures/install-bundle.json``.
"""

from __future__ import annotations

from typing import Any

from ..contract import contract, mime
from .model import Installed, Problem

MIME = mime("install")
FORMAT = contract()["formats"]["install"]
#: The hint the planner gives for a package that has to be requested first.
_REQUEST_HINT = "%repoguard request "


def install_bundle(
    installed: list[Installed],
    problems: list[Problem],
    *,
    dry_run: bool = False,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The bundle of one ``%repoguard install`` (problems: nothing was installed)."""
    missing = [p.name for p in problems if p.hint.startswith(_REQUEST_HINT)]
    return {
        "format": FORMAT,
        "ok": not problems,
        "dry_run": dry_run,
        "installed": [i.row() for i in installed],
        "problems": [{"name": p.name, "message": p.message, "hint": p.hint} for p in problems],
        "missing": list(dict.fromkeys(missing)),
        "notes": list(notes or []),
    }
