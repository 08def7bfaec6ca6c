"""Where each request is in the pipeline.

Embedded mode: the local runner writes ``DIR/state/<request_id>.json``
(``request_id, stage, status, started_at, updated_at, execution_id, message``)
as each stage starts and ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import contract

STAGES = contract.stages()
#: Where a request can be, in order (``queued`` before the stages, ``done`` after).
RUN_STAGES = tuple(contract.run_state()["stages"])


class EmbeddedPipelineStatus:
    def __init__(self, root: Path):
        self.state_dir = Path(root) / contract.run_state()["dir"]

    def states(self) -> dict[str, dict]:
        """The latest state of every request the runner has touched, by request id."""
        found: dict[str, dict] = {}
        if not self.state_dir.is_dir():
            return found
        for path in self.state_dir.glob("*.json"):
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # being replaced right now, or not ours: the next poll reads it
            if isinstance(state, dict) and isinstance(state.get("request_id"), str):
                found[state["request_id"]] = state
        return found


def embedded_pipeline(states: dict[str, dict]) -> dict[str, Any]:
    """The local runner's executions, grouped from the per-request state files.

    An execution is ``InProgress`` while any of its requests is neither done
    nor failed (its ``stage`` is the earliest such request's), else ``Failed``
    when one failed, else ``Succeeded``: the same answer whatever order the
    state files are listed in.
    """
    executions: dict[str, dict[str, Any]] = {}
    for key in sorted(states):
        state = states[key]
        eid = state.get("execution_id") or "unknown"
        run = executions.setdefault(
            eid,
            {"id": eid, "status": "Succeeded", "stage": None, "started_at": "", "updated_at": ""},
        )
        run.setdefault("requests", []).append(
            {k: state.get(k) for k in ("request_id", "stage", "status", "message")}
        )
        started, updated = state.get("started_at") or "", state.get("updated_at") or ""
        if started and (not run["started_at"] or started < run["started_at"]):
            run["started_at"] = started
        run["updated_at"] = max(run["updated_at"], updated)
        stage = state.get("stage")
        if state.get("status") == "failed":
            run.setdefault("_failed", True)
        elif stage != "done":
            run["_running"] = True
            current = run["stage"]
            if stage in RUN_STAGES and (
                current is None or RUN_STAGES.index(stage) < RUN_STAGES.index(current)
            ):
                run["stage"] = stage
    for run in executions.values():
        running, failed = run.pop("_running", False), run.pop("_failed", False)
        run["status"] = "InProgress" if running else "Failed" if failed else "Succeeded"
    ordered = sorted(executions.values(), key=lambda r: r["started_at"], reverse=True)
    current = next((r for r in ordered if r["status"] == "InProgress"), None)
    return {
        "mode": "embedded",
        "name": "local runner",
        "stages": list(STAGES),
        "current": current,
        "executions": ordered[:10],
    }
