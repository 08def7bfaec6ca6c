"""The results row's ``dependencies`` cell, read as requirements (untrusted input).

The cell's format is the contract's ``dependencyCell`` (``src/common/contract.json``):
items ``name spec`` joined by ``; ``, each optionally followed by `` | `` and its
PEP 508 environment marker. ``src/common/dependencies.ts`` writes and reads the
same format; both run the vectors in ``src/common/fixtures/dependency-cells.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..contract import dependency_cell, pattern

_ITEM = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Dependency:
    name: str
    #: PEP 440 specifier without spaces, or "" for any version.
    spec: str
    #: PEP 508 environment marker, or "".
    marker: str = ""


def parse_cell(cell: str) -> tuple[list[Dependency], list[str]]:
    """Each readable item of the cell, and a reason per unreadable one."""
    fmt = dependency_cell()
    found: list[Dependency] = []
    errors: list[str] = []
    for raw in cell.split(fmt["itemSeparator"].strip()):
        item = raw.strip()
        if not item:
            continue
        head, bar, marker = item.partition(fmt["markerSeparator"].strip())
        match = _ITEM.match(head.strip())
        if not match or not pattern("packageName").match(match.group(1)):
            errors.append(f"unreadable dependency {item!r}")
            continue
        spec = re.sub(r"\s+", "", match.group(2))
        if not pattern("versionSpec").match(spec):
            errors.append(f"dependency {item!r} has no PEP 440 version spec")
            continue
        found.append(Dependency(match.group(1), spec, marker.strip() if bar else ""))
    return found, errors


def parse_dependencies(cell: str) -> list[Requirement]:
    """The ``dependencies`` cell as requirements, markers kept.

    Raises ValueError on the first item that is not a package name with a
    PEP 440 specifier and an optional valid PEP 508 marker (the cell is
    untrusted input)."""
    found, errors = parse_cell(cell)
    if errors:
        raise ValueError(errors[0])
    out = []
    for dep in found:
        try:
            requirement = Requirement(f"{dep.name}{SpecifierSet(dep.spec) if dep.spec else ''}")
            if dep.marker:
                requirement.marker = Marker(dep.marker)
        except (InvalidSpecifier, InvalidRequirement) as error:
            raise ValueError(f"dependency {dep.name!r} has no PEP 440 version spec") from error
        except InvalidMarker as error:
            raise ValueError(f"dependency {dep.name!r} has a bad environment marker") from error
        out.append(requirement)
    return out
