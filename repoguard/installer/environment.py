"""What is installed in the target environment, and stamping what RepoGuard installed there."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import envprobe

_PROBE = Path(envprobe.__file__)


def in_target(python: str, command: str, arg: object = None):
    """Run ``envprobe.probe()`` or ``envprobe.stamp(arg)`` in the target environment."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        importlib.invalidate_caches()  # see what pip just installed
        function = getattr(envprobe, command)
        return function(arg) if arg is not None else function()
    args = [python, "-I", str(_PROBE), command]
    if arg is not None:
        args.append(json.dumps(arg))
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot inspect {python}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout) if command == "probe" else None


@dataclass
class Environment:
    """What is installed in the target interpreter's environment (canonical names)."""

    dists: dict[str, dict[str, str]]
    markers: dict[str, str]

    @classmethod
    def probe(cls, python: str) -> Environment:
        data = in_target(python, "probe")
        return cls(
            {canonicalize_name(k): v for k, v in data["dists"].items()},
            data["markers"],
        )

    def version(self, name: str) -> Version | None:
        found = self.dists.get(canonicalize_name(name))
        if not found:
            return None
        try:
            return Version(found["version"])
        except InvalidVersion:
            return None

    def satisfies(self, requirement: Requirement) -> bool:
        version = self.version(requirement.name)
        return version is not None and requirement.specifier.contains(version, prereleases=True)
