"""Where requests are in the production pipeline: CodePipeline's state via boto3.

boto3 is imported lazily (only the aws mode needs it) and picks up the Studio
execution role from the container credentials provider. One
``GetPipelineState`` answer is shared for ``ttl`` seconds by every caller
(the panel's lists, the pipeline view and the ETag fingerprint).

CodePipeline knows executions, not requests. An execution processes every
request that had no result when it started, so a request without a result is
"in" the running execution's current stage when it was requested before that
execution started (request ids carry their UTC time: ``rq-YYYYmmdd-HHMMSS-…``),
and "requested" otherwise (the next execution will take it).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

_REQUEST_TIME = re.compile(r"^rq-(\d{8})-(\d{6})-")


def request_time(request_id: str) -> datetime | None:
    match = _REQUEST_TIME.match(request_id)
    if not match:
        return None
    try:
        return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S").replace(
            tzinfo=timezone.utc
        )
    except ValueError:
        return None


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


class InFlight(Mapping):
    """``states()`` of the aws mode: every request id maps to the running execution.

    ``RequestService.list_requests`` only asks about requests; a request that
    already has a result shows its decision whatever this mapping says.
    """

    def __init__(self, execution: dict[str, Any] | None, started: datetime | None):
        self._execution = execution
        self._started = started

    def get(self, key, default=None):
        if self._execution is None:
            return default
        at = request_time(str(key))
        if at is not None and self._started is not None and at > self._started:
            return default  # requested after this execution started: the next one takes it
        return {"request_id": key, **self._execution}

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator:
        return iter(())

    def __len__(self) -> int:
        return 0


class CodePipelineStatus:
    """State of one CodePipeline pipeline (Source → Ingest → Scan → Finish)."""

    def __init__(
        self,
        pipeline_name: str,
        *,
        region: str | None = None,
        client=None,
        ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pipeline_name = pipeline_name
        self.region = region
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._state: tuple[float, dict] | None = None

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("codepipeline", region_name=self.region or None)
        return self._client

    def _pipeline_state(self) -> dict:
        with self._lock:
            if self._state and self._clock() - self._state[0] < self._ttl:
                return self._state[1]
        state = self.client.get_pipeline_state(name=self.pipeline_name)
        with self._lock:
            self._state = (self._clock(), state)
        return state

    def fingerprint(self) -> str:
        """Changes whenever a stage's latest execution or status changes."""
        state = self._pipeline_state()
        parts = [str(state.get("updated", ""))]
        for stage in state.get("stageStates", []):
            latest = stage.get("latestExecution") or {}
            parts.append(
                f"{stage.get('stageName')}:{latest.get('pipelineExecutionId')}:{latest.get('status')}"
            )
        return "|".join(parts)

    def _current(self, state: dict) -> tuple[str | None, str | None]:
        """(execution id, stage name) of the stage running now, if any."""
        for stage in state.get("stageStates", []):
            latest = stage.get("latestExecution") or {}
            if latest.get("status") == "InProgress":
                return latest.get("pipelineExecutionId"), stage.get("stageName")
        return None, None

    def states(self) -> Mapping:
        state = self._pipeline_state()
        execution_id, stage = self._current(state)
        if execution_id is None:
            return InFlight(None, None)
        started = None
        for item in self._executions(5):
            if item["id"] == execution_id and item["started_at"]:
                started = datetime.strptime(item["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=timezone.utc
                )
        return InFlight(
            {
                "stage": stage,
                "status": "running",
                "execution_id": execution_id,
                "message": "",
                "updated_at": "",
            },
            started,
        )

    def _executions(self, limit: int) -> list[dict[str, Any]]:
        reply = self.client.list_pipeline_executions(
            pipelineName=self.pipeline_name, maxResults=limit
        )
        return [
            {
                "id": item.get("pipelineExecutionId"),
                "status": item.get("status"),
                "started_at": _iso(item.get("startTime")),
                "updated_at": _iso(item.get("lastUpdateTime")),
                "trigger": (item.get("trigger") or {}).get("triggerType"),
            }
            for item in reply.get("pipelineExecutionSummaries", [])
        ]

    def pipeline(self) -> dict[str, Any]:
        state = self._pipeline_state()
        execution_id, stage = self._current(state)
        executions = self._executions(10)
        for run in executions:
            run["stage"] = stage if run["id"] == execution_id else None
        stages = [
            {
                "name": s.get("stageName"),
                "status": (s.get("latestExecution") or {}).get("status"),
                "execution_id": (s.get("latestExecution") or {}).get("pipelineExecutionId"),
            }
            for s in state.get("stageStates", [])
        ]
        return {
            "mode": "aws",
            "name": self.pipeline_name,
            "stages": [s["name"] for s in stages],
            "stage_states": stages,
            "current": next((r for r in executions if r["id"] == execution_id), None),
            "executions": executions,
        }
