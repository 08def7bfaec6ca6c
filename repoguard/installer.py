"""Install approved packages into a Python environment, and nothing unscanned.

``plan()`` changes nothing: it resolves each name to its approved result,
validates the row (it is untrusted input: commit sha, private repo URL and
package name are checked before git or pip sees them), fetches exactly the
approved commit from the private repo, checks that the commit's build backend
is already installed in the target environment, and walks the recorded
runtime dependencies: each must already be satisfied in the environment or be
approved itself (then it joins the plan, recursively). Any problem stops the
whole plan: all or nothing.

``install()`` then runs one ``python -m pip install --no-deps
--no-build-isolation --no-index`` on the fetched checkouts, so pip never
contacts an index and never fetches a build backend, and records the true
source in each installed distribution's ``direct_url.json`` (PEP 610), so
``pip freeze`` shows ``name @ git+<private repo>@<commit>``.

Why RepoGuard fetches the commit itself instead of handing pip a
``git+URL@sha`` requirement: one fetch serves the checks and the build, and
pip's blob-less clone (``--filter=blob:none``) of the embedded mode's shallow
private repositories never finishes with git 2.39.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .gitstore import token_env
from .service import LedgerSnapshot, NotApproved, UnknownPackage

SHA = re.compile(r"^[0-9a-f]{40}$")
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
#: pip's own fallback when a project declares no [build-system].
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")


class InstallError(Exception):
    """Nothing was installed; ``problems`` says why, name by name."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass
class Problem:
    name: str
    message: str
    #: One line that fixes or follows up the problem (a magic to run), or "".
    hint: str = ""


@dataclass
class Step:
    """One approved package to install."""

    name: str
    result: dict[str, str]
    why: str
    checkout: Path | None = None
    version: str = ""
    already: bool = False  # installed at this very commit already
    pyproject: dict = field(default_factory=dict)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    workdir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


@dataclass
class Installed:
    name: str
    version: str
    source: str
    commit: str
    approved_at: str
    request_id: str
    why: str
    status: str  # installed | already installed | would install

    def row(self) -> dict[str, str]:
        return {
            "package": self.name,
            "version": self.version,
            "status": self.status,
            "source": self.source,
            "commit": self.commit,
            "approved": self.approved_at,
            "request": self.request_id,
            "why": self.why,
        }


# -- where approved packages may come from ----------------------------------------------
@dataclass(frozen=True)
class SourcePolicy:
    """Embedded: ``file://`` repos directly in the workspace's private dir.
    Production: ``https://<host>/<org>/<repo>`` on the configured org."""

    private_dir: Path | None = None
    host: str = ""
    org: str = ""

    @property
    def scheme(self) -> str:
        return "file" if self.private_dir is not None else "https"

    def problem(self, url: str) -> str | None:
        if not url or len(url) > 2048 or re.search(r"[\s\x00-\x1f\x7f]", url):
            return "has no usable private repo URL"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return "has a private repo URL that is not a URL"
        if parts.scheme != self.scheme:
            return f"has a private repo URL that is not {self.scheme}://"
        if parts.username or parts.password or parts.query or parts.fragment or "@" in url:
            return "has a private repo URL with credentials, a query or a fragment"
        if self.private_dir is not None:
            path = unquote(parts.path)
            if parts.netloc or not path.startswith("/") or "/../" in f"{path}/":
                return "has a private repo URL outside the workspace's private folder"
            repo = Path(path)
            if repo.parent != self.private_dir or not repo.name.endswith(".git"):
                return f"has a private repo URL outside {self.private_dir}"
            return None
        segments = [s for s in parts.path.split("/") if s]
        if (parts.hostname or "").lower() != self.host.lower() or port is not None:
            return f"has a private repo URL off the private host {self.host}"
        if len(segments) != 2 or segments[0].lower() != self.org.lower():
            return f"has a private repo URL outside the org {self.org}"
        if not NAME.match(segments[1]):
            return "has a private repo URL with a bad repository name"
        return None


# -- the target environment ----------------------------------------------------------
# Helpers that run in the target environment, which may lack repoguard and
# packaging: stdlib only. When the target is this very interpreter (a kernel
# running the magic) they run in-process; otherwise as ``python -I -c``.
_ENV_HELPERS = r"""
import base64, csv, hashlib, io, json, os, platform, sys
from importlib import metadata


def probe():
    dists = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if not name or name in dists:
            continue
        try:
            direct = json.loads(d.read_text("direct_url.json") or "null") or {}
        except ValueError:
            direct = {}
        dists[name] = {"version": d.version, "url": direct.get("url", ""),
                       "commit": (direct.get("vcs_info") or {}).get("commit_id", "")}
    impl = sys.implementation
    iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
    if impl.version.releaselevel != "final":
        iver += impl.version.releaselevel[0] + str(impl.version.serial)
    markers = {
        "implementation_name": impl.name, "implementation_version": iver,
        "os_name": os.name, "platform_machine": platform.machine(),
        "platform_release": platform.release(), "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }
    return {"dists": dists, "markers": markers}


def stamp(items):
    # Record each install's true source in its direct_url.json (PEP 610) and RECORD.
    for item in items:
        dist = metadata.distribution(item["name"])
        text = json.dumps({"url": item["url"], "vcs_info": {"vcs": "git",
            "commit_id": item["commit"], "requested_revision": item["commit"]}})
        info = dist.locate_file(dist._path)
        (info / "direct_url.json").write_text(text, encoding="utf-8")
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record = info / "RECORD"
        rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
        for row in rows:
            if row and row[0].endswith(".dist-info/direct_url.json"):
                row[1:] = ["sha256=" + digest.decode(), str(len(text.encode()))]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        record.write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        print(json.dumps(probe()))
    else:
        stamp(json.loads(sys.argv[2]))
"""


def _in_target(python: str, command: str, arg: object = None):
    """Run ``probe()`` or ``stamp(arg)`` of ``_ENV_HELPERS`` in the target environment."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        importlib.invalidate_caches()  # see what pip just installed
        helpers: dict = {"__name__": "repoguard_env_helpers"}
        # Our own constant code (shared with the subprocess path below), not input.
        exec(compile(_ENV_HELPERS, "<repoguard env helpers>", "exec"), helpers)  # noqa: S102
        return helpers[command](arg) if arg is not None else helpers[command]()
    args = [python, "-I", "-c", _ENV_HELPERS, command]
    if arg is not None:
        args.append(json.dumps(arg))
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot inspect {python}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout) if command == "probe" else None


@dataclass
class Environment:
    """What is installed in the target interpreter's environment (canonical names)."""

    dists: dict[str, dict[str, str]]
    markers: dict[str, str]

    @classmethod
    def probe(cls, python: str) -> Environment:
        data = _in_target(python, "probe")
        return cls(
            {canonicalize_name(k): v for k, v in data["dists"].items()},
            data["markers"],
        )

    def version(self, name: str) -> Version | None:
        found = self.dists.get(canonicalize_name(name))
        if not found:
            return None
        try:
            return Version(found["version"])
        except InvalidVersion:
            return None

    def satisfies(self, requirement: Requirement) -> bool:
        version = self.version(requirement.name)
        return version is not None and requirement.specifier.contains(version, prereleases=True)


def parse_dependencies(cell: str) -> list[Requirement]:
    """The ``dependencies`` column (``name spec; name spec``) as requirements.

    Raises ValueError on anything that is not a plain name with a PEP 440
    specifier (the cell is untrusted input)."""
    out = []
    for item in (part.strip() for part in cell.split(";")):
        if not item:
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", item)
        if not match or not NAME.match(match.group(1)):
            raise ValueError(f"unreadable dependency {item!r}")
        name, spec = match.groups()
        try:
            out.append(Requirement(f"{name}{SpecifierSet(spec.replace(' ', ''))}"))
        except (InvalidSpecifier, InvalidRequirement) as error:
            raise ValueError(f"dependency {item!r} has no PEP 440 version spec") from error
    return out


def _load_toml(text: str) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            from pip._vendor import tomli as tomllib
    return tomllib.loads(text)


# -- the installer ------------------------------------------------------------------
def git_env(scheme: str, token: str | None = None) -> dict[str, str]:
    """git's environment: one transport only, no prompts, no system/global config."""
    env = {
        **os.environ,
        "GIT_ALLOW_PROTOCOL": scheme,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **token_env(token),
    }
    return env


def request_hint(snapshot: LedgerSnapshot, name: str) -> str:
    """The one line that asks for this package (again)."""
    last = snapshot.latest_request(name)
    url = last["repo_url"] if last else "https://github.com/OWNER/REPO"
    return f"%repoguard request {url} --name {name}"


class Installer:
    def __init__(
        self,
        service,
        policy: SourcePolicy,
        *,
        python: str = sys.executable,
        token: Callable[[], str | None] | None = None,
        pip_timeout: float = 900,
    ):
        self.service = service
        self.policy = policy
        self.python = python
        self.token = token
        self.pip_timeout = pip_timeout

    # -- planning: nothing changes ----------------------------------------------
    def plan(self, names: Iterable[str], sha: str | None = None) -> Plan:
        plan = Plan(workdir=tempfile.TemporaryDirectory(prefix="repoguard-install-"))
        snapshot = self.service.snapshot()
        env = Environment.probe(self.python)
        planned: dict[str, Step] = {}
        queue: list[tuple[str, str | None, Requirement | None, str]] = [
            (name, sha, None, "requested") for name in names
        ]
        while queue:
            name, want_sha, needed, why = queue.pop(0)
            key = canonicalize_name(name) if NAME.match(name) else name
            if key in planned:
                continue
            step = self._step(snapshot, env, name, want_sha, needed, why, plan)
            if step is None:
                continue
            planned[key] = step
            plan.steps.append(step)
            for requirement in self._dependencies(step, plan):
                if not env.satisfies(requirement):
                    why_dep = f"dependency of {step.name}"
                    queue.append((requirement.name, None, requirement, why_dep))
        for step in plan.steps:
            if step.checkout is not None:
                self._check_build(snapshot, env, step, plan)
        return plan

    def _step(self, snapshot, env, name, sha, needed, why, plan) -> Step | None:
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
            step.checkout = self._fetch(step, Path(plan.workdir.name))
        except RuntimeError as error:
            plan.problems.append(Problem(name, f"{name}: {error}"))
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

    def _git(self, *args: str, cwd: Path) -> str:
        proc = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", "-c", "submodule.recurse=false", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=git_env(self.policy.scheme, self.token() if self.token else None),
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed: {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def _fetch(self, step: Step, workdir: Path) -> Path:
        """Exactly the approved commit, checked out in a fresh folder."""
        sha = step.result["commit_sha"]
        target = workdir / f"{canonicalize_name(step.name)}-{sha[:12]}"
        target.mkdir()
        self._git("init", "--quiet", cwd=target)
        try:
            self._git(
                "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules",
                "--", step.result["private_repo_url"], sha, cwd=target,
            )  # fmt: skip
        except RuntimeError as error:
            raise RuntimeError(
                f"the approved commit {sha[:12]} cannot be fetched from "
                f"{step.result['private_repo_url']} ({error})"
            ) from None
        self._git("checkout", "--quiet", "--detach", sha, cwd=target)
        if (target / ".gitmodules").exists():
            raise RuntimeError("the approved commit has git submodules, which were not scanned")
        return target

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

    # -- installing ---------------------------------------------------------------
    def install(self, plan: Plan) -> list[Installed]:
        """Install every step of a problem-free plan in one pip run."""
        if plan.problems:
            raise InstallError(plan.problems)
        todo = [s for s in plan.steps if not s.already]
        versions: dict[str, str] = {}
        if todo:
            report = Path(plan.workdir.name) / "pip-report.json"
            command = [
                self.python, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                "--no-index", "--no-input", "--disable-pip-version-check", "--force-reinstall",
                "--quiet", "--report", str(report), *[str(s.checkout) for s in todo],
            ]  # fmt: skip
            env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_NO_INPUT": "1"}
            env.pop("PIP_INDEX_URL", None)
            env.pop("PIP_EXTRA_INDEX_URL", None)
            proc = subprocess.run(
                command, capture_output=True, text=True, env=env,
                timeout=self.pip_timeout, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
                raise InstallError(
                    [Problem(", ".join(s.name for s in todo), "pip failed: " + " | ".join(tail))]
                )
            for item in json.loads(report.read_text(encoding="utf-8")).get("install", []):
                meta = item.get("metadata") or {}
                versions[canonicalize_name(meta.get("name", ""))] = meta.get("version", "")
            missing = [s.name for s in todo if canonicalize_name(s.name) not in versions]
            stamp = [
                {
                    "name": s.name,
                    "url": s.result["private_repo_url"],
                    "commit": s.result["commit_sha"],
                }
                for s in todo
                if canonicalize_name(s.name) in versions
            ]
            _in_target(self.python, "stamp", stamp)
            if missing:
                raise InstallError(
                    [
                        Problem(n, f"{n}: the approved commit built another distribution")
                        for n in missing
                    ]
                )
        out = []
        for step in plan.steps:
            status = "already installed" if step.already else "installed"
            out.append(self._installed(step, versions.get(canonicalize_name(step.name)), status))
        return out

    def dry_run(self, plan: Plan) -> list[Installed]:
        if plan.problems:
            raise InstallError(plan.problems)
        return [
            self._installed(s, None, "already installed" if s.already else "would install")
            for s in plan.steps
        ]

    @staticmethod
    def _installed(step: Step, version: str | None, status: str) -> Installed:
        r = step.result
        return Installed(
            name=r["package_name"],
            version=version or step.version,
            source=r["private_repo_url"],
            commit=r["commit_sha"],
            approved_at=r.get("scanned_at", ""),
            request_id=r.get("request_id", ""),
            why=step.why,
            status=status,
        )

    def run(self, names: Iterable[str], sha: str | None = None, *, dry_run: bool = False):
        plan = self.plan(names, sha)
        try:
            return self.dry_run(plan) if dry_run else self.install(plan)
        finally:
            plan.close()


def installer_from_settings(settings=None, *, python: str = sys.executable) -> Installer:
    """An installer for the configured mode (see ``repoguard.config``)."""
    from .config import load_settings, service_from_settings, token_provider

    settings = (settings or load_settings()).check()
    service = service_from_settings(settings)
    if settings.mode == "embedded":
        policy = SourcePolicy(private_dir=settings.workspace / "private")
        return Installer(service, policy, python=python)
    policy = SourcePolicy(host=settings.private_host, org=settings.private_org)
    return Installer(service, policy, python=python, token=token_provider(settings))
