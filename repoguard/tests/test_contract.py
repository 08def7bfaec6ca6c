"""The contract (src/common/contract.json) on the Python side.

The shared vectors run here and under jest (src/common/__tests__/); the last
test looks for hand-made copies of the contract's values in the sources of
both languages and fails on any it finds.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from repoguard import contract
from repoguard.gitstore import GitFileStore
from repoguard.installer.dependencies import parse_cell, parse_dependencies
from repoguard.pipeline_status import EmbeddedPipelineStatus, embedded_pipeline

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "src" / "common" / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_the_wheel_carries_the_contract():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"src/common/contract.json" = "repoguard/contract.json"' in pyproject


# -- shared vectors -------------------------------------------------------------
CELLS = fixture("dependency-cells.json")["cases"]


@pytest.mark.parametrize("case", CELLS, ids=lambda c: c["cell"][:40] or "empty")
def test_dependency_cell_vector(case):
    found, errors = parse_cell(case["cell"])
    expected = [(d["name"], d["spec"], d.get("marker", "")) for d in case["dependencies"]]
    assert [(d.name, d.spec, d.marker) for d in found] == expected
    assert len(errors) == case["errors"]


def test_dependency_markers_are_kept_for_the_installer():
    tomli, colorama = parse_dependencies(
        'tomli >=1.1 | python_version < "3.11"; colorama | sys_platform == "win32"'
    )
    assert str(tomli) == 'tomli>=1.1; python_version < "3.11"'
    assert not colorama.marker.evaluate({"sys_platform": "linux"})
    with pytest.raises(ValueError, match="marker"):
        parse_dependencies("tomli | python_version <<< 3")


RETRIES = fixture("git-retry-messages.json")["cases"]


@pytest.mark.parametrize("case", RETRIES, ids=lambda c: c["stderr"].splitlines()[0][:50])
def test_git_retry_message_vector(case):
    assert contract.lost_race(case["stderr"]) is case["lostRace"]


def test_run_state_vector(tmp_path):
    vector = fixture("run-state.json")
    state_dir = tmp_path / contract.run_state()["dir"]
    state_dir.mkdir()
    for file in vector["files"]:
        (state_dir / file["name"]).write_text(file["text"], encoding="utf-8")
    states = EmbeddedPipelineStatus(tmp_path).states()
    assert {k: v for k, v in states.items()} == {
        f["state"]["request_id"]: f["state"] for f in vector["files"]
    }
    pipeline = embedded_pipeline(states)
    assert pipeline["stages"] == contract.contract()["stages"]
    assert (pipeline["current"] or {}).get("id") == vector["pipeline"]["current"]
    got = [
        {**{k: run[k] for k in ("id", "status", "stage", "started_at", "updated_at")},
         "requests": [r["request_id"] for r in run["requests"]]}
        for run in pipeline["executions"]
    ]  # fmt: skip
    assert got == vector["pipeline"]["executions"]
    # the answer does not depend on the order the files are listed in
    assert embedded_pipeline(dict(reversed(list(states.items())))) == pipeline


# -- the append lock both languages take ---------------------------------------------
def test_python_appends_wait_for_the_pipelines_append_lock(tmp_path):
    """A fresh lock file (as the pipeline's ledger writes it) holds a Python append back."""
    repo = tmp_path / "requests.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    store = GitFileStore(str(repo), cache_dir=tmp_path / "cache")
    lock = repo / contract.append_lock()["file"]
    lock.write_text("12345\n")
    done = threading.Event()

    def append():
        store.append("x.csv", ["a"], [{"a": "1"}], "append")
        done.set()

    worker = threading.Thread(target=append)
    worker.start()
    try:
        assert not done.wait(1.0), "the append did not wait for the lock"
        lock.unlink()
        assert done.wait(30), "the append never went ahead after the lock was released"
    finally:
        lock.unlink(missing_ok=True)
        worker.join(60)
    assert not lock.exists(), "the Python writer left its own lock behind"
    assert "1" in store.read("x.csv")


def test_a_stale_append_lock_is_broken(tmp_path):
    repo = tmp_path / "requests.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    lock = repo / contract.append_lock()["file"]
    lock.write_text("999999\n")
    old = time.time() - contract.append_lock()["staleMs"] / 1000 - 5
    import os

    os.utime(lock, (old, old))
    store = GitFileStore(str(repo), cache_dir=tmp_path / "cache")
    store.append("x.csv", ["a"], [{"a": "2"}], "append")
    assert "2" in store.read("x.csv")


# -- no hand-made copies ----------------------------------------------------------------
#: Where the contract's values may be spelled out: the contract itself, and the
#: TypeScript type unions over it (types cannot be computed from JSON).
ALLOWED = {"src/common/contract.json", "src/common/contract.ts", "src/common/columns.ts"}
SOURCES = [
    *ROOT.joinpath("src").rglob("*.ts"),
    *ROOT.joinpath("src").rglob("*.tsx"),
    *ROOT.joinpath("backend-infra", "pipeline", "src").rglob("*.ts"),
    *ROOT.joinpath("backend-infra", "lib").rglob("*.ts"),
    *ROOT.joinpath("repoguard").rglob("*.py"),
]


COMMENT = re.compile(r"^\s*(//|/\*|\*|#)")


def _source_files() -> dict[str, str]:
    out = {}
    for path in SOURCES:
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED or "/__tests__/" in rel or "/tests/" in rel or "/labextension/" in rel:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # Comments may name a value (`@default 'external-package-request.csv'`): code may not.
        out[rel] = "\n".join("" if COMMENT.match(line) else line for line in text.split("\n"))
    return out


def _list_copy(values: list[str], at_least: int = 3) -> re.Pattern[str]:
    """``at_least`` of the values in a row as quoted literals (a list, a tuple or a union)."""
    quoted = "|".join(re.escape(v) for v in values)
    item = rf"""['"](?:{quoted})['"]"""
    return re.compile(rf"{item}(?:\s*[,|]\s*{item}){{{at_least - 1},}}")


def _shared_constants() -> list[tuple[str, re.Pattern[str]]]:
    c = contract.contract()
    checks: list[tuple[str, re.Pattern[str]]] = []
    # severities: 4 in a row (confidence is high/medium/low, another scale)
    for name, at_least in (("decisions", 3), ("severities", 4), ("stages", 4)):
        checks.append((name, _list_copy(c[name], at_least)))
    checks.append(("defaultAllowedHosts", _list_copy(c["defaultAllowedHosts"], 2)))
    checks.append(("runState.stages", _list_copy(c["runState"]["stages"], 4)))
    # a projection of a few fields is not a copy of the format
    checks.append(("runState.fields", _list_copy(c["runState"]["fields"], 5)))
    checks.append(("git.lostRace", _list_copy(c["git"]["lostRace"], 2)))
    for message in c["git"]["lostRace"]:
        checks.append((f"git.lostRace {message!r}", re.compile(re.escape(message))))
    for key, value in c["patterns"].items():
        checks.append((f"patterns.{key}", re.compile(re.escape(value))))
    for key in ("archive", "codeload"):
        body = c["legacyUrls"][key].strip("^$")
        checks.append((f"legacyUrls.{key}", re.compile(re.escape(body[-30:]))))
    checks.append(("git.appendLock.file", re.compile(re.escape(c["git"]["appendLock"]["file"]))))
    for kind, value in c["formats"].items():
        checks.append((f"formats.{kind}", re.compile(re.escape(value))))
    for kind, value in c["mime"].items():
        checks.append((f"mime.{kind}", re.compile(re.escape(value))))
    for kind, value in c["files"].items():
        if kind in ("requests", "results"):
            checks.append((f"files.{kind}", re.compile(rf"""['"]{re.escape(value)}['"]""")))
    return checks


def test_the_scan_finds_a_planted_copy():
    """The checks themselves: each kind of copy is caught."""
    planted = {
        "decisions": "const D = ['approved', 'refused', 'error'];",
        "stages": 'STAGES = ("ingest", "scan", "decide", "publish", "record", "notify")',
        "runState.stages": "type S = 'queued' | 'ingest' | 'scan' | 'done';",
        "defaultAllowedHosts": "['github.com', 'gitlab.com', 'bitbucket.org']",
        "patterns.safeId": 'SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")',
        "git.lostRace 'fetch first'": 'lost = ("non-fast-forward", "fetch first")',
        "mime.install": "'application/vnd.repoguard.install+json'",
    }
    checks = dict(_shared_constants())
    for name, text in planted.items():
        assert checks[name].search(text), name


def test_no_source_copies_a_shared_constant():
    found = []
    files = _source_files()
    for name, check in _shared_constants():
        for rel, text in files.items():
            match = check.search(text)
            if match:
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{rel}:{line}: copies contract {name}: {match.group(0)[:60]}")
    assert not found, "\n".join(found)
