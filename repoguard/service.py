"""What the panel and the magic do with the ledger: submit, list, resolve.

The service is built on two seams: a ``GitFileStore`` for the request repo and
a pipeline-status source. Embedded mode wires a local workspace; production
wires the GitHub request repo and CodePipeline.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import contract, ledger
from .gitstore import GitFileStore
from .pipeline_status import EmbeddedPipelineStatus
from .validation import FieldError, Policy, validate_request
from .workspace import Workspace

DECISIONS = contract.decisions()


class ValidationError(ValueError):
    """A submitted request was refused; ``errors`` names each field and why."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class UnknownPackage(LookupError):
    """No request or result names this package."""


class NotApproved(LookupError):
    """The package was requested but has no usable approval."""


def new_request_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"rq-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RequestStatus:
    request: dict[str, str]
    #: requested | queued | <stage> (ingest, scan, …) | approved | refused | error
    status: str
    stage: str | None
    result: dict[str, str] | None
    message: str | None
    updated_at: str | None

    def to_json(self) -> dict:
        return {
            "request": self.request,
            "status": self.status,
            "stage": self.stage,
            "result": self.result,
            "message": self.message,
            "updated_at": self.updated_at,
        }


class RequestService:
    def __init__(self, store: GitFileStore, status, policy: Policy):
        self.store = store
        self.status = status
        self.policy = policy
        files = ledger.columns()["files"]
        self.requests_file = files["requests"]
        self.results_file = files["results"]

    # -- submit ---------------------------------------------------------------
    def submit(
        self,
        *,
        package_name: str,
        repo_url: str,
        ref: str = "",
        requester_email: str = "",
        justification: str = "",
    ) -> dict[str, str]:
        """Validate and append a request row; return it (with its request id)."""
        row = {
            "request_id": new_request_id(),
            "package_name": package_name.strip(),
            "repo_url": repo_url.strip(),
            "ref": ref.strip(),
            "requester_email": requester_email.strip(),
            "justification": justification.strip(),
            "requested_at": utc_now(),
        }
        errors = validate_request(row, self.policy)
        if errors:
            raise ValidationError(errors)
        self.store.append(
            self.requests_file,
            ledger.request_columns(),
            [row],
            f"Request {row['package_name']} ({row['request_id']})",
        )
        return row

    # -- read -----------------------------------------------------------------
    def _ledgers(self) -> tuple[ledger.ParsedFile, ledger.ParsedFile]:
        files = self.store.read_many([self.requests_file, self.results_file])
        return (
            ledger.parse_requests(files[self.requests_file]),
            ledger.parse_results(files[self.results_file]),
        )

    def results(self) -> list[dict[str, str]]:
        return [values for _, values in self._ledgers()[1].rows]

    def list_requests(self, requester_email: str | None = None) -> list[RequestStatus]:
        """Every request (newest first) with its live status."""
        requests, results = self._ledgers()
        latest: dict[str, dict[str, str]] = {}
        revocations: dict[tuple[str, str], dict[str, str]] = {}
        for _, result in results.rows:
            latest[result["request_id"]] = result  # the last row of a request wins
            if result["decision"] == "revoked":
                revocations[(result["package_name"].lower(), result["commit_sha"])] = result
        states = self.status.states()
        out = []
        for _, request in requests.rows:
            if requester_email and request["requester_email"].lower() != requester_email.lower():
                continue
            rid = request["request_id"]
            result = latest.get(rid)
            if result and result["decision"] == "approved":
                # A re-scan revoked this approval: the request shows the revocation.
                key = (result["package_name"].lower(), result["commit_sha"])
                result = revocations.get(key, result)
            state = states.get(rid) or {}
            if result and result["decision"] in DECISIONS:
                status, stage = result["decision"], None
            elif state:
                stage = state.get("stage")
                status = "queued" if state.get("status") == "queued" else (stage or "queued")
            else:
                status, stage = "requested", None
            out.append(
                RequestStatus(
                    request=request,
                    status=status,
                    stage=stage,
                    result=result,
                    message=(result or {}).get("reason") or state.get("message"),
                    updated_at=(result or {}).get("scanned_at") or state.get("updated_at"),
                )
            )
        out.reverse()
        return out

    def approved(self) -> list[dict[str, str]]:
        """The latest approved result of each package, by package name."""
        results = self.results()
        revoked = revoked_commits(results)
        latest: dict[str, dict[str, str]] = {}
        for result in results:
            key = result["package_name"].lower()
            if result["decision"] == "approved" and (key, result["commit_sha"]) not in revoked:
                latest[key] = result
        return sorted(latest.values(), key=lambda r: r["package_name"].lower())

    def resolve(self, name: str, sha: str | None = None) -> dict[str, str]:
        """The approved result to install for a package name (optionally an exact commit).

        Raises UnknownPackage when nothing names it, NotApproved (with the
        reason) when it is pending, refused or errored.
        """
        return self.snapshot().resolve(name, sha)

    def snapshot(self) -> LedgerSnapshot:
        """Both ledgers from one read, to resolve many names (an install plan) cheaply."""
        requests, results = self._ledgers()
        return LedgerSnapshot([v for _, v in requests.rows], [v for _, v in results.rows])


def revoked_commits(results: list[dict[str, str]]) -> set[tuple[str, str]]:
    """(package name, commit) pairs whose approval a re-scan revoked: never installed again."""
    return {
        (r["package_name"].lower(), r["commit_sha"]) for r in results if r["decision"] == "revoked"
    }


@dataclass
class LedgerSnapshot:
    """The request and result rows of one commit of the request repo."""

    requests: list[dict[str, str]]
    results: list[dict[str, str]]

    def resolve(self, name: str, sha: str | None = None) -> dict[str, str]:
        """See ``RequestService.resolve``."""
        key = name.strip().lower()
        mine = [v for v in self.results if v["package_name"].lower() == key]
        revoked = revoked_commits(mine)
        approved = [
            r for r in mine if r["decision"] == "approved" and (key, r["commit_sha"]) not in revoked
        ]
        if sha:
            approved = [r for r in approved if r["commit_sha"].startswith(sha.lower())]
        if approved:
            return approved[-1]
        if sha and any(r["decision"] == "approved" for r in mine):
            raise NotApproved(f"{name}: no approved commit starts with {sha}")
        if mine:
            last = mine[-1]
            reason = f" ({last['reason']})" if last.get("reason") else ""
            raise NotApproved(f"{name} was {last['decision']}{reason}")
        if any(v["package_name"].lower() == key for v in self.requests):
            raise NotApproved(f"{name} is still pending: the pipeline has not decided yet")
        raise UnknownPackage(f"{name} was never requested")

    def latest_request(self, name: str) -> dict[str, str] | None:
        """The newest request row naming this package, if any."""
        key = name.strip().lower()
        rows = [v for v in self.requests if v["package_name"].lower() == key]
        return rows[-1] if rows else None


def embedded_service(workspace: Workspace) -> RequestService:
    """The service over a local workspace made by ``repoguard-pipeline init``."""
    config = workspace.config()
    policy = Policy(
        allowed_hosts=tuple(config.get("allowedHosts", [])),
        allowed_local_roots=tuple(config.get("allowedLocalRoots", [])),
    )
    store = GitFileStore(
        str(workspace.request_repo), cache_dir=Path(workspace.root) / ".cache" / "git"
    )
    return RequestService(store, EmbeddedPipelineStatus(workspace.root), policy)
