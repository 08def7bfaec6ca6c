"""Which advisory data the SCA scanner (osv-scanner) scans against, for ``/repoguard/health``.

The same lookup as the pipeline's osv adapter (backend-infra/pipeline/src/scanners/osv.ts):
``OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY``, else ``osv-db`` beside the folder that holds
``osv-scanner`` (the workspace's ``scannerBinDir``, ``REPOGUARD_SCANNER_BIN_DIR`` or
``REPOGUARD_SCANNER_BIN``, else ``PATH``). The database's ``SOURCE.json``, written by
scripts/osv-db.py, names its source and date: the live OSV database when install-scanners.sh
was online, else the committed fixture (offline). Each report names the data its scan used.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

SOURCE_FILE = "SOURCE.json"


def osv_database(scanner_bin_dir: str | None = None) -> Path | None:
    """The OSV database folder the pipeline's osv adapter would use, or None."""
    from_env = os.environ.get("OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY")
    if from_env:
        return Path(from_env).resolve()
    bin_dir = (
        os.environ.get("REPOGUARD_SCANNER_BIN_DIR")
        or os.environ.get("REPOGUARD_SCANNER_BIN")
        or scanner_bin_dir
    )
    scanner = shutil.which("osv-scanner", path=bin_dir) if bin_dir else shutil.which("osv-scanner")
    if not scanner:
        return None
    beside = Path(scanner).parent.parent / "osv-db"
    return beside.resolve() if beside.exists() else None


def advisory_data(scanner_bin_dir: str | None = None) -> dict[str, Any]:
    """``{source, date, records, ecosystems, kind, offline}`` of the SCA scan's advisory data.

    ``kind`` is ``fixture`` (the committed test fixture), ``download`` (OSV's live
    database, of ``date``), ``data`` (REPOGUARD_OSV_DATA), ``online`` (osv.dev's API),
    ``unknown`` (a database without SOURCE.json) or ``none`` (the SCA scan fails closed).
    """
    db = osv_database(scanner_bin_dir)
    if db is None:
        if os.environ.get("REPOGUARD_OSV_ONLINE") == "1":
            return {
                "source": "osv.dev API (online)",
                "date": None,
                "kind": "online",
                "offline": False,
            }
        return {
            "source": None,
            "date": None,
            "kind": "none",
            "offline": True,
            "detail": "no OSV database: run scripts/install-scanners.sh (the SCA scan fails closed)",
        }
    try:
        info = json.loads((db / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("source"), str):
        return {"source": f"local OSV database {db} (no {SOURCE_FILE})", "date": None,
                "kind": "unknown", "offline": True}  # fmt: skip
    records = info.get("records")
    ecosystems = info.get("ecosystems")
    return {
        "source": info["source"],
        "date": str(info.get("date") or "") or None,
        "records": records if isinstance(records, int) else None,
        "ecosystems": [str(e) for e in ecosystems] if isinstance(ecosystems, list) else [],
        "kind": str(info.get("kind") or "unknown"),
        "offline": True,
    }


def health_advisory_data(mode: str, workspace: Any = None) -> dict[str, Any]:
    """The ``advisoryData`` of ``/repoguard/health``.

    Embedded: the local runner's data (the workspace's ``scannerBinDir`` when set).
    AWS: the scans run in the pipeline's scanner image, whose data each report names.
    """
    if mode != "embedded":
        return {
            "source": "the pipeline's scanner image (each report names its advisory data)",
            "date": None,
            "kind": "remote",
            "offline": None,
        }
    bin_dir = None
    if workspace is not None:
        try:
            configured = workspace.config().get("scannerBinDir")
        except Exception:  # a broken workspace is reported by its own check
            configured = None
        if isinstance(configured, str) and configured:
            bin_dir = configured
    return advisory_data(bin_dir)
