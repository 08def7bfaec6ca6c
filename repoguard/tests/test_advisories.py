"""``/repoguard/health`` names the SCA scan's advisory data (source, date, offline or not)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repoguard.advisories import advisory_data

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "backend-infra" / "pipeline" / "advisories"


@pytest.fixture(autouse=True)
def _no_inherited_lookup(monkeypatch):
    for name in (
        "OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY",
        "REPOGUARD_SCANNER_BIN_DIR",
        "REPOGUARD_SCANNER_BIN",
        "REPOGUARD_OSV_ONLINE",
    ):
        monkeypatch.delenv(name, raising=False)


def tools(tmp_path: Path) -> Path:
    """A tools folder as install-scanners.sh lays it out: bin/osv-scanner, osv-db from the fixture."""
    root = tmp_path / "tools"
    (root / "bin").mkdir(parents=True)
    scanner = root / "bin" / "osv-scanner"
    scanner.write_text("#!/bin/sh\nexit 0\n")
    scanner.chmod(0o755)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "osv-db.py"), "fixture", str(FIXTURE), str(root / "osv-db")],
        check=True, capture_output=True,
    )  # fmt: skip
    return root


def test_the_committed_fixture_beside_the_scanner_is_named_with_its_date(tmp_path):
    data = advisory_data(str(tools(tmp_path) / "bin"))
    assert data["kind"] == "fixture" and data["offline"] is True
    assert "PyPA advisory database" in data["source"] and "CC-BY 4.0" in data["source"]
    assert data["date"] == "2024-10-10"
    assert data["records"] == len(list((FIXTURE / "PyPI").glob("*.json")))
    assert data["ecosystems"] == ["PyPI"]


def test_the_environment_variable_wins_and_an_unnamed_database_says_so(tmp_path, monkeypatch):
    bare = tmp_path / "hand-made-db"
    bare.mkdir()
    monkeypatch.setenv("OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY", str(bare))
    data = advisory_data(str(tools(tmp_path) / "bin"))
    assert data["kind"] == "unknown" and data["date"] is None
    assert str(bare) in data["source"]


def test_no_database_is_online_only_when_allowed(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    assert advisory_data(str(empty))["kind"] == "none"
    monkeypatch.setenv("REPOGUARD_OSV_ONLINE", "1")
    data = advisory_data(str(empty))
    assert data["kind"] == "online" and data["offline"] is False


@pytest.fixture
def jp_server_config(jp_server_config, workspace, tmp_path):
    """A real workspace whose runner scans with tools/bin (config scannerBinDir)."""
    config_file = workspace / "repoguard.config.json"
    config = json.loads(config_file.read_text())
    config["scannerBinDir"] = str(tools(tmp_path) / "bin")
    config_file.write_text(json.dumps(config))
    return jp_server_config


async def test_health_shows_the_offline_fixture_and_its_date(jp_fetch):
    response = await jp_fetch("repoguard", "health")
    data = json.loads(response.body)["advisoryData"]
    assert data["kind"] == "fixture" and data["offline"] is True
    assert data["date"] == "2024-10-10"
    assert "PyPA advisory database" in data["source"]
    assert os.environ.get("OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY") is None
