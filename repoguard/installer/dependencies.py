"""The results row's ``dependencies`` cell, read as requirements (untrusted input)."""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .sources import NAME


def parse_dependencies(cell: str) -> list[Requirement]:
    """The ``dependencies`` column (``name spec; name spec``) as requirements.

    Raises ValueError on anything that is not a plain name with a PEP 440
    specifier (the cell is untrusted input)."""
    out = []
    for item in (part.strip() for part in cell.split(";")):
        if not item:
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", item)
        if not match or not NAME.match(match.group(1)):
            raise ValueError(f"unreadable dependency {item!r}")
        name, spec = match.groups()
        try:
            out.append(Requirement(f"{name}{SpecifierSet(spec.replace(' ', ''))}"))
        except (InvalidSpecifier, InvalidRequirement) as error:
            raise ValueError(f"dependency {item!r} has no PEP 440 version spec") from error
    return out
