"""Planning an install, changing nothing: resolve, validate, fetch, walk the dependencies.

Each name resolves to its approved result; the row (untrusted input) is
checked before git or pip sees it; exactly the approved commit is fetched;
the commit's build backend must already be in the target environment; each
recorded runtime dependency must already be satisfied there or be approved
itself (then it joins the plan, recursively). Any problem stops the whole
plan: all or nothing.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..attestation import AttestationError
from ..service import LedgerSnapshot, NotApproved, UnknownPackage
from .dependencies import parse_dependencies
from .environment import Environment
from .fetch import fetch_commit
from .model import Plan, Problem, Step, Wanted
from .sources import NAME, SHA, SourcePolicy

#: pip's own fallback when a project declares no [build-system].
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")


def request_hint(snapshot: LedgerSnapshot, name: str) -> str:
    """The one line that asks for this package (again)."""
    last = snapshot.latest_request(name)
    url = last["repo_url"] if last else "https://github.com/OWNER/REPO"
    return f"%repoguard request {url} --name {name}"


def _load_toml(text: str) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            from pip._vendor import tomli as tomllib
    return tomllib.loads(text)


class Planner:
    def __init__(
        self,
        service,
        policy: SourcePolicy,
        python: str,
        token: Callable[[], str | None] | None = None,
        verifier=None,
    ):
        self.service = service
        self.policy = policy
        self.python = python
        self.token = token
        #: Checks each row's signed approval (repoguard.attestation); None only where none is configured.
        self.verifier = verifier

    def plan(self, names: Iterable[str], sha: str | None = None) -> Plan:
        plan = Plan(workdir=tempfile.TemporaryDirectory(prefix="repoguard-install-"))
        snapshot = self.service.snapshot()
        env = Environment.probe(self.python)
        planned: dict[str, Step] = {}
        queue = [Wanted(name, sha=sha) for name in names]
        while queue:
            wanted = queue.pop(0)
            key = canonicalize_name(wanted.name) if NAME.match(wanted.name) else wanted.name
            if key in planned:
                continue
            step = self._step(snapshot, env, wanted, plan)
            if step is None:
                continue
            planned[key] = step
            plan.steps.append(step)
            for requirement in self._dependencies(step, plan):
                if requirement.marker and not requirement.marker.evaluate(env.markers):
                    continue  # not for this environment (python_version, sys_platform, ...)
                if not env.satisfies(requirement):
                    why = f"dependency of {step.name}"
                    queue.append(Wanted(requirement.name, why=why, needed=requirement))
        for step in plan.steps:
            if step.checkout is not None:
                self._check_build(snapshot, env, step, plan)
        return plan

    def _step(self, snapshot, env: Environment, wanted: Wanted, plan: Plan) -> Step | None:
        name, sha, needed, why = wanted.name, wanted.sha, wanted.needed, wanted.why
        if not NAME.match(name):
            plan.problems.append(Problem(name, f"{name!r} is not a package name"))
            return None
        if sha is not None and not re.match(r"^[0-9a-fA-F]{7,40}$", sha):
            plan.problems.append(Problem(name, f"--sha {sha!r} is not a commit (7-40 hex digits)"))
            return None
        prefix = ""
        if needed is not None:
            have = env.version(needed.name)
            state = f"this environment has {have}" if have else "it is not installed"
            prefix = f"{why.removeprefix('dependency of ')} needs {needed} ({state}); "
        try:
            result = snapshot.resolve(name, sha)
        except UnknownPackage as error:
            plan.problems.append(Problem(name, prefix + str(error), request_hint(snapshot, name)))
            return None
        except NotApproved as error:
            pending = "pending" in str(error)
            hint = f"%repoguard status {name}" if pending else request_hint(snapshot, name)
            plan.problems.append(Problem(name, prefix + str(error), hint))
            return None
        step = Step(name=result["package_name"], result=result, why=why)
        problem = self._row_problem(name, result)
        if problem:
            plan.problems.append(Problem(name, f"{name}: the approved result {problem}"))
            return None
        existing = env.dists.get(canonicalize_name(step.name))
        if (
            existing
            and existing.get("commit") == result["commit_sha"]
            and existing.get("url") == result["private_repo_url"]
        ):
            step.already = True
            step.version = existing["version"]
            return step
        try:
            step.checkout = fetch_commit(
                step.name,
                result["private_repo_url"],
                result["commit_sha"],
                Path(plan.workdir.name),
                scheme=self.policy.scheme,
                token=self.token() if self.token else None,
            )
        except RuntimeError as error:
            plan.problems.append(Problem(name, f"{name}: {error}"))
            return None
        if self.verifier is not None:
            try:
                self.verifier.check(name, result)
            except AttestationError as error:
                plan.problems.append(Problem(name, f"{name}: not installed: {error}"))
                return None
        self._read_project(step, plan)
        if needed is not None and step.version:
            try:
                ok = needed.specifier.contains(Version(step.version), prereleases=True)
            except InvalidVersion:
                ok = False
            if not ok:
                plan.problems.append(
                    Problem(name, f"{prefix}the approved {name} is {step.version}",
                            request_hint(snapshot, name))
                )  # fmt: skip
        return step

    def _row_problem(self, name: str, row: dict[str, str]) -> str | None:
        if not NAME.match(row.get("package_name", "")) or canonicalize_name(
            row["package_name"]
        ) != canonicalize_name(name):
            return "names another package"
        if not SHA.match(row.get("commit_sha", "")):
            return "has no valid commit sha (40 hex digits)"
        return self.policy.problem(row.get("private_repo_url", ""))

    def _read_project(self, step: Step, plan: Plan) -> None:
        pyproject = step.checkout / "pyproject.toml"
        data: dict = {}
        if pyproject.is_file():
            try:
                data = _load_toml(pyproject.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                plan.problems.append(
                    Problem(step.name, f"{step.name}: bad pyproject.toml: {error}")
                )
                return
        step.pyproject = data
        project = data.get("project") if isinstance(data.get("project"), dict) else {}
        declared = project.get("name")
        if isinstance(declared, str) and canonicalize_name(declared) != canonicalize_name(
            step.name
        ):
            plan.problems.append(
                Problem(step.name, f"{step.name}: the approved commit builds {declared!r} instead")
            )
        version = project.get("version")
        if isinstance(version, str) and "version" not in (project.get("dynamic") or []):
            step.version = version

    def _dependencies(self, step: Step, plan: Plan) -> list[Requirement]:
        try:
            return parse_dependencies(step.result.get("dependencies", ""))
        except ValueError as error:
            plan.problems.append(Problem(step.name, f"{step.name}: {error}"))
            return []

    def _check_build(self, snapshot, env: Environment, step: Step, plan: Plan) -> None:
        """pip builds without isolation: the backend must already be in the environment."""
        data = step.pyproject
        system = data.get("build-system") if isinstance(data.get("build-system"), dict) else None
        requires = (system or {}).get("requires", list(DEFAULT_BUILD_REQUIRES))
        backend = (system or {}).get("build-backend") or "setuptools.build_meta:__legacy__"
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            plan.problems.append(Problem(step.name, f"{step.name}: bad [build-system] requires"))
            return
        needed: list[Requirement] = []
        for text in requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                plan.problems.append(
                    Problem(step.name, f"{step.name}: bad build requirement {text!r}")
                )
                continue
            try:
                if requirement.marker and not requirement.marker.evaluate(env.markers):
                    continue
            except InvalidMarker:  # pragma: no cover - packaging validated it above
                pass
            needed.append(requirement)
        setuptools = env.version("setuptools")
        if backend in SETUPTOOLS_BACKENDS and setuptools and setuptools < Version("70.1"):
            needed.append(Requirement("wheel"))  # older setuptools builds wheels with it
        planned = {canonicalize_name(s.name) for s in plan.steps}
        for requirement in needed:
            if env.satisfies(requirement):
                continue
            have = env.version(requirement.name)
            state = f"has {requirement.name} {have}" if have else "lacks it"
            name = requirement.name
            try:
                snapshot.resolve(name)
                hint = f"%repoguard install {name}"
            except (UnknownPackage, NotApproved):
                hint = request_hint(snapshot, name)
            if canonicalize_name(name) in planned:
                hint = f"%repoguard install {name}  (then install {step.name})"
            plan.problems.append(
                Problem(
                    step.name,
                    f"{step.name} builds with {requirement}, and this environment {state}; "
                    "RepoGuard builds without isolation so that nothing comes from a public index",
                    hint,
                )
            )
