"""The findings of a scan, normalised for the panel (from the merged SARIF log)."""

from __future__ import annotations

import re
from typing import Any

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_LEVEL_SEVERITY = {"error": "high", "warning": "medium", "note": "low", "none": "info"}


def _severity(result: dict, rule: dict | None) -> str:
    props = {**((rule or {}).get("properties") or {}), **(result.get("properties") or {})}
    issue = str(props.get("issue_severity", "")).lower()
    if issue in SEVERITY_ORDER:
        return issue
    score = props.get("security-severity")
    if score is not None:
        try:
            value = float(score)
        except (TypeError, ValueError):
            value = None
        if value is not None:
            if value >= 9:
                return "critical"
            if value >= 7:
                return "high"
            if value >= 4:
                return "medium"
            return "low" if value > 0 else "info"
    level = result.get("level") or ((rule or {}).get("defaultConfiguration") or {}).get("level")
    return _LEVEL_SEVERITY.get(level or "warning", "medium")


def findings_from_sarif(log: dict, request_id: str = "") -> list[dict[str, Any]]:
    """Normalized findings of a merged SARIF log, worst first.

    Severity follows the pipeline's reading (backend-infra/pipeline/src/scanners/sarif.ts):
    ``issue_severity``, else ``security-severity``, else the SARIF level.
    Paths are shown relative to the scanned tree.
    """
    findings: list[dict[str, Any]] = []
    for run in log.get("runs") or []:
        driver = ((run.get("tool") or {}).get("driver")) or {}
        rules = {r.get("id"): r for r in driver.get("rules") or [] if isinstance(r, dict)}
        for result in run.get("results") or []:
            if result.get("suppressions"):
                continue
            rule_id = result.get("ruleId") or (result.get("rule") or {}).get("id") or "unknown"
            rule = rules.get(rule_id)
            location = ((result.get("locations") or [{}])[0]).get("physicalLocation") or {}
            uri = (location.get("artifactLocation") or {}).get("uri") or ""
            path = re.sub(r"^file://", "", uri)
            if request_id and f"/{request_id}/" in path:
                path = path.split(f"/{request_id}/", 1)[1]
            message = (result.get("message") or {}).get("text") or rule_id
            findings.append(
                {
                    "scanner": driver.get("name") or "",
                    "rule_id": rule_id,
                    "severity": _severity(result, rule),
                    "message": message[:500],
                    "path": path,
                    "line": (location.get("region") or {}).get("startLine"),
                }
            )
    findings.sort(key=lambda f: SEVERITY_ORDER.index(f["severity"]))
    return findings
