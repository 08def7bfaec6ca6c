"""What a plan and an install are made of: steps, problems, installed rows."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement


class InstallError(Exception):
    """Nothing was installed; ``problems`` says why, name by name."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass
class Problem:
    name: str
    message: str
    #: One line that fixes or follows up the problem (a magic to run), or "".
    hint: str = ""


@dataclass(frozen=True)
class Wanted:
    """A name the plan still has to resolve, and why it is wanted."""

    name: str
    why: str = "requested"
    sha: str | None = None
    #: The requirement a dependent package declared, when this is a dependency.
    needed: Requirement | None = None


@dataclass
class Step:
    """One approved package to install."""

    name: str
    result: dict[str, str]
    why: str
    checkout: Path | None = None
    version: str = ""
    already: bool = False  # installed at this very commit already
    pyproject: dict = field(default_factory=dict)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    workdir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


@dataclass
class Installed:
    name: str
    version: str
    source: str
    commit: str
    approved_at: str
    request_id: str
    why: str
    status: str  # installed | already installed | would install

    def row(self) -> dict[str, str]:
        return {
            "package": self.name,
            "version": self.version,
            "status": self.status,
            "source": self.source,
            "commit": self.commit,
            "approved": self.approved_at,
            "request": self.request_id,
            "why": self.why,
        }

    @classmethod
    def of(cls, step: Step, version: str | None, status: str) -> Installed:
        r = step.result
        return cls(
            name=r["package_name"],
            version=version or step.version,
            source=r["private_repo_url"],
            commit=r["commit_sha"],
            approved_at=r.get("scanned_at", ""),
            request_id=r.get("request_id", ""),
            why=step.why,
            status=status,
        )
