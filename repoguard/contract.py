"""The one contract between the Python and the TypeScript parts (``contract.json``).

Every constant and format both languages rely on (CSV columns, decisions,
severity order, pipeline stages, default allowed hosts, limits, id patterns,
the run-state file, the dependency cell, git's "lost the race" messages and the
append lock, MIME types) lives in ``src/common/contract.json``. The wheel
carries it as ``repoguard/contract.json`` (pyproject ``force-include``); a
source checkout reads it from ``src/common``. Nothing here may be copied by
hand elsewhere: ``tests/test_contract.py`` looks for literal copies.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any


@cache
def contract() -> dict[str, Any]:
    """The shared definition, from the wheel or the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "contract.json", here.parent / "src" / "common" / "contract.json"):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    raise FileNotFoundError("contract.json is missing: reinstall repoguard")


@cache
def pattern(name: str) -> re.Pattern[str]:
    """One of the contract's patterns (``safeId``, ``packageName``, ...), compiled."""
    return re.compile(contract()["patterns"][name])


def decisions() -> tuple[str, ...]:
    return tuple(contract()["decisions"])


def severities() -> tuple[str, ...]:
    """Worst first."""
    return tuple(contract()["severities"])


def stages() -> tuple[str, ...]:
    return tuple(contract()["stages"])


def default_allowed_hosts() -> tuple[str, ...]:
    return tuple(contract()["defaultAllowedHosts"])


def files() -> dict[str, str]:
    return dict(contract()["files"])


def run_state() -> dict[str, Any]:
    return contract()["runState"]


def dependency_cell() -> dict[str, str]:
    return contract()["dependencyCell"]


def mime(kind: str) -> str:
    return contract()["mime"][kind]


def lost_race(message: str) -> bool:
    """True when a git error says the push lost a race (fetch again, retry)."""
    lower = message.lower()
    return any(words.lower() in lower for words in contract()["git"]["lostRace"])


def append_lock() -> dict[str, Any]:
    """The advisory lock writers on one machine take around an append to a local ledger."""
    return contract()["git"]["appendLock"]
