"""Where each request is in the pipeline.

Embedded mode: the local runner writes ``DIR/state/<request_id>.json``
(``request_id, stage, status, started_at, updated_at, execution_id, message``)
as each stage starts and ends.
"""

from __future__ import annotations

import json
from pathlib import Path

STAGES = ("ingest", "scan", "decide", "publish", "record", "notify")


class EmbeddedPipelineStatus:
    def __init__(self, root: Path):
        self.state_dir = Path(root) / "state"

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
