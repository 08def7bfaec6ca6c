"""Install approved packages into a Python environment, and nothing unscanned.

``Installer.plan()`` changes nothing (``planner``): it resolves each name to
its approved result, validates the row (``sources``), fetches exactly the
approved commit (``fetch``), checks the build backend and walks the recorded
runtime dependencies (``dependencies``) against the target environment
(``environment``, probed by the stdlib-only ``envprobe``). Any problem stops
the whole plan: all or nothing.

``Installer.install()`` then runs one offline pip over the fetched checkouts
(``pip``): pip never contacts an index and never fetches a build backend, and
each installed distribution's ``direct_url.json`` names its true source.

Why RepoGuard fetches the commit itself instead of handing pip a
``git+URL@sha`` requirement: one fetch serves the checks and the build, and
pip's blob-less clone (``--filter=blob:none``) of the embedded mode's shallow
private repositories never finishes with git 2.39.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.utils import canonicalize_name

from .dependencies import parse_dependencies
from .model import Installed, InstallError, Plan, Problem, Step
from .pip import pip_install
from .planner import Planner, request_hint
from .sources import SourcePolicy

__all__ = [
    "InstallError",
    "Installed",
    "Installer",
    "Plan",
    "Problem",
    "SourcePolicy",
    "Step",
    "installer_from_settings",
    "parse_dependencies",
    "request_hint",
]


class Installer:
    """Plans, then installs a problem-free plan in one offline pip run."""

    def __init__(
        self,
        service,
        policy: SourcePolicy,
        *,
        python: str = sys.executable,
        token: Callable[[], str | None] | None = None,
        pip_timeout: float = 900,
        verifier=None,
    ):
        self.service = service
        self.policy = policy
        self.python = python
        self.token = token
        self.pip_timeout = pip_timeout
        self.verifier = verifier

    def plan(self, names: Iterable[str], sha: str | None = None) -> Plan:
        return Planner(self.service, self.policy, self.python, self.token, self.verifier).plan(
            names, sha
        )

    def install(self, plan: Plan) -> list[Installed]:
        """Install every step of a problem-free plan in one pip run."""
        if plan.problems:
            raise InstallError(plan.problems)
        todo = [s for s in plan.steps if not s.already]
        versions: dict[str, str] = {}
        if todo:
            versions = pip_install(
                self.python, todo, Path(plan.workdir.name), timeout=self.pip_timeout
            )
        return [
            Installed.of(
                step,
                versions.get(canonicalize_name(step.name)),
                "already installed" if step.already else "installed",
            )
            for step in plan.steps
        ]

    def dry_run(self, plan: Plan) -> list[Installed]:
        if plan.problems:
            raise InstallError(plan.problems)
        return [
            Installed.of(s, None, "already installed" if s.already else "would install")
            for s in plan.steps
        ]

    def run(self, names: Iterable[str], sha: str | None = None, *, dry_run: bool = False):
        plan = self.plan(names, sha)
        try:
            return self.dry_run(plan) if dry_run else self.install(plan)
        finally:
            plan.close()


def installer_from_settings(settings=None, *, python: str = sys.executable) -> Installer:
    """An installer for the configured mode (see ``repoguard.config``)."""
    from ..attestation import ApprovalVerifier
    from ..config import load_settings, service_from_settings, token_provider
    from ..deployment import Deployment

    settings = (settings or load_settings()).check()
    service = service_from_settings(settings)
    if settings.mode == "embedded":
        policy = SourcePolicy(private_dir=settings.workspace / "private")
        verifier = ApprovalVerifier.embedded(settings.workspace)
        return Installer(service, policy, python=python, verifier=verifier)
    policy = SourcePolicy(
        host=settings.private_host, org=settings.private_org, port=settings.private_port
    )
    # Fail closed: without a contract naming the pipeline's signing key, nothing verifies.
    deployment = settings.deployment or Deployment(region="", pipeline_name="")
    return Installer(
        service,
        policy,
        python=python,
        token=token_provider(settings),
        verifier=ApprovalVerifier.aws(deployment),
    )
