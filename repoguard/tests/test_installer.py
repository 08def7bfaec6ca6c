"""The installer on real git repos and a real (offline) virtual environment.

Results rows and private repos are written here by hand, so that every rule
can be exercised; test_kernel.py goes through the real pipeline.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from repoguard import ledger
from repoguard.bench.venvs import make_venv, pip_list
from repoguard.config import load_settings
from repoguard.installer import (
    InstallError,
    SourcePolicy,
    installer_from_settings,
    parse_dependencies,
)
from repoguard.magics import revoked_installed
from repoguard.service import embedded_service
from repoguard.workspace import Workspace

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    """A fresh venv with hatchling (a build backend) and nothing else of ours."""
    return make_venv(tmp_path_factory.mktemp("venv") / "env", ["hatchling"])


@pytest.fixture(autouse=True)
def no_index(monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")


def make_source(
    root: Path,
    name: str,
    version: str = "1.0.0",
    *,
    deps: tuple[str, ...] = (),
    backend: str = "hatchling",
    extra: dict[str, str] | None = None,
) -> Path:
    """A git repo holding a tiny Python package; returns its folder."""
    src = root / f"src-{name}-{version}"
    module = name.replace("-", "_")
    (src / module).mkdir(parents=True)
    (src / module / "__init__.py").write_text(f"VERSION = {version!r}\n")
    build = {
        "hatchling": ('["hatchling"]', "hatchling.build"),
        "flit": ('["flit_core>=3.2"]', "flit_core.buildapi"),
        "setuptools": ('["setuptools>=40.8.0"]', "setuptools.build_meta"),
    }[backend]
    (src / "pyproject.toml").write_text(
        f"[build-system]\nrequires = {build[0]}\nbuild-backend = {build[1]!r}\n\n"
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
        f"dependencies = {json.dumps(list(deps))}\n"
    )
    for path, text in (extra or {}).items():
        (src / path).write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*GIT, "-C", str(src), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(src), "commit", "-qm", "v"], check=True)
    return src


def publish(ws: Path, name: str, src: Path) -> tuple[str, str]:
    """Push the source's HEAD to DIR/private/<name>.git, as the pipeline does; (url, sha)."""
    bare = ws / "private" / f"{name}.git"
    if not (bare / "HEAD").exists():
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    sha = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(
        ["git", "-C", str(src), "push", "-q", str(bare), f"+HEAD:refs/tags/t-{sha[:8]}"],
        check=True,
    )
    return f"file://{bare}", sha


def record(ws: Path, *rows: dict[str, str]) -> None:
    """Append results rows through the real request-repo store."""
    service = embedded_service(Workspace(ws))
    full = []
    for i, row in enumerate(rows):
        values = dict.fromkeys(ledger.result_columns(), "")
        values.update(
            request_id=f"rq-test-{row['package_name']}-{row.get('commit_sha', '')[:8]}{i}",
            decision="approved",
            scanned_at="2026-11-24T10:00:00Z",
            critical="0",
            high="0",
            medium="0",
            low="0",
        )
        values.update(row)
        full.append(values)
    service.store.append(service.results_file, ledger.result_columns(), full, "results (test)")
    for values in full:
        if values["decision"] == "approved" and values.get("commit_sha"):
            sign_approval(ws, values)


def sign_approval(ws: Path, row: dict[str, str], **override: str) -> None:
    """Write the signed attestation the pipeline writes for an approval (its own key, in DIR/keys)."""
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    from repoguard import attestation

    private = serialization.load_pem_private_key(
        (ws / "keys" / "attestation-ed25519.pem").read_bytes(), password=None
    )
    public = (ws / "keys" / attestation.PUBLIC_KEY_FILE).read_bytes()
    predicate = {
        "decision": row["decision"],
        "requestId": row["request_id"],
        "packageName": row["package_name"],
        "commitSha": row["commit_sha"],
    }
    predicate.update(override)
    statement = {
        "_type": attestation.STATEMENT_TYPE,
        "subject": [{"name": row["package_name"], "digest": {"gitCommit": predicate["commitSha"]}}],
        "predicateType": attestation.PREDICATE_TYPE,
        "predicate": predicate,
    }
    envelope = Envelope(json.dumps(statement).encode(), attestation.PAYLOAD_TYPE, {})
    envelope.sign(CryptoSigner(private, attestation.key_from_pem(public)))
    folder = ws / "reports" / row["request_id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / attestation.ATTESTATION_FILE).write_text(json.dumps(envelope.to_dict()))


def request(ws: Path, name: str, url: str = "https://github.com/example/x") -> None:
    service = embedded_service(Workspace(ws))
    row = dict.fromkeys(ledger.request_columns(), "")
    row.update(request_id=f"rq-req-{name}", package_name=name, repo_url=url)
    service.store.append(service.requests_file, ledger.request_columns(), [row], "request")


def approve(ws: Path, tmp_path: Path, name: str, version="1.0.0", **kwargs) -> str:
    deps = kwargs.pop("deps", ())
    src = make_source(tmp_path, name, version, deps=deps, **kwargs)
    url, sha = publish(ws, name, src)
    record(
        ws,
        {
            "package_name": name,
            "commit_sha": sha,
            "private_repo_url": url,
            "dependencies": "; ".join(deps),
        },
    )
    return sha


def installer(target: Path):
    return installer_from_settings(load_settings(), python=str(target))


def installed(target: Path) -> dict[str, str]:
    return pip_list(target)


# -- tests ------------------------------------------------------------------------
def test_installs_the_approved_commit_and_records_its_source(workspace, tmp_path, target):
    sha = approve(workspace, tmp_path, "rg-alpha", deps=("packaging>=20",))
    done = installer(target).run(["rg-alpha"])
    assert [(d.name, d.version, d.status, d.commit) for d in done] == [
        ("rg-alpha", "1.0.0", "installed", sha)
    ]
    assert installed(target)["rg-alpha"] == "1.0.0"
    freeze = subprocess.run(
        [str(target), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    assert f"rg-alpha @ git+file://{workspace}/private/rg-alpha.git@{sha}" in freeze
    # A second install of the same commit changes nothing.
    assert [d.status for d in installer(target).run(["rg-alpha"])] == ["already installed"]


def test_one_bad_name_installs_nothing(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-good")
    request(workspace, "rg-pending", "https://github.com/example/rg-pending")
    record(
        workspace,
        {"package_name": "rg-refused", "decision": "refused", "reason": "high: eval of input"},
        {"package_name": "rg-broken", "decision": "error", "reason": "bandit timed out"},
    )
    before = installed(target)
    with pytest.raises(InstallError) as caught:
        installer(target).run(["rg-good", "rg-unknown", "rg-pending", "rg-refused", "rg-broken"])
    problems = {p.name: p for p in caught.value.problems}
    assert set(problems) == {"rg-unknown", "rg-pending", "rg-refused", "rg-broken"}
    assert problems["rg-unknown"].message == "rg-unknown was never requested"
    assert problems["rg-unknown"].hint.startswith("%repoguard request https://")
    assert "still pending" in problems["rg-pending"].message
    assert problems["rg-pending"].hint == "%repoguard status rg-pending"
    assert "refused (high: eval of input)" in problems["rg-refused"].message
    assert "error (bandit timed out)" in problems["rg-broken"].message
    assert installed(target) == before


def test_unsatisfied_dependency_stops_before_installing(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-app", deps=("rg-missing>=1.0", "packaging>=20"))
    before = installed(target)
    with pytest.raises(InstallError) as caught:
        installer(target).run(["rg-app"])
    [problem] = caught.value.problems
    assert problem.name == "rg-missing"
    assert "rg-app needs rg-missing>=1.0" in problem.message
    assert "never requested" in problem.message
    assert problem.hint == "%repoguard request https://github.com/OWNER/REPO --name rg-missing"
    assert installed(target) == before


def test_approved_dependency_is_installed_with_the_package(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-lib", "2.1.0")
    approve(workspace, tmp_path, "rg-uses-lib", deps=("rg-lib>=2",))
    done = installer(target).run(["rg-uses-lib"])
    assert {(d.name, d.why) for d in done} == {
        ("rg-uses-lib", "requested"),
        ("rg-lib", "dependency of rg-uses-lib"),
    }
    have = installed(target)
    assert have["rg-lib"] == "2.1.0" and have["rg-uses-lib"] == "1.0.0"


def test_approved_dependency_of_the_wrong_version_is_refused(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-old", "0.5.0")
    approve(workspace, tmp_path, "rg-wants-new", deps=("rg-old>=1",))
    with pytest.raises(InstallError, match=r"the approved rg-old is 0\.5\.0"):
        installer(target).run(["rg-wants-new"])
    assert "rg-old" not in installed(target)


def test_missing_build_backend_is_named(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-flit", backend="flit")
    with pytest.raises(InstallError) as caught:
        installer(target).run(["rg-flit"])
    [problem] = caught.value.problems
    assert "rg-flit builds with flit_core>=3.2" in problem.message
    assert "without isolation" in problem.message
    assert "rg-flit" not in installed(target)


def test_setuptools_backend_needs_what_it_builds_with(workspace, tmp_path, target):
    approve(workspace, tmp_path, "rg-setup", backend="setuptools")
    have = installed(target)
    with pytest.raises(InstallError) as caught:
        installer(target).run(["rg-setup"])
    wanted = "wheel" if "setuptools" in have else "setuptools"
    assert f"rg-setup builds with {wanted}" in caught.value.problems[0].message


def test_sha_pins_an_older_approved_commit(workspace, tmp_path, target):
    old = approve(workspace, tmp_path, "rg-pinned", "1.0.0")
    new = approve(workspace, tmp_path, "rg-pinned", "2.0.0")
    assert installer(target).run(["rg-pinned"], dry_run=True)[0].commit == new
    done = installer(target).run(["rg-pinned"], old[:10])
    assert (done[0].commit, done[0].version) == (old, "1.0.0")
    assert installed(target)["rg-pinned"] == "1.0.0"
    with pytest.raises(InstallError, match="no approved commit starts with 0000000"):
        installer(target).run(["rg-pinned"], "0000000")


def test_submodules_are_refused(workspace, tmp_path, target):
    gitmodules = '[submodule "x"]\n\tpath = x\n\turl = https://github.com/example/x\n'
    approve(workspace, tmp_path, "rg-sub", extra={".gitmodules": gitmodules})
    with pytest.raises(InstallError, match="submodules, which were not scanned"):
        installer(target).run(["rg-sub"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"commit_sha": "abc123"}, "no valid commit sha"),
        ({"commit_sha": "--upload-pack=touch /tmp/x" + "0" * 14}, "no valid commit sha"),
        ({"private_repo_url": "file:///etc/rg-row.git"}, "outside"),
        ({"private_repo_url": "https://github.com/example/rg-row"}, "not file://"),
        ({"private_repo_url": "file://host/x.git"}, "outside"),
        ({"private_repo_url": "ext::sh -c touch% /tmp/pwned"}, "no usable private repo URL"),
        ({"dependencies": "requests; $(rm -rf ~)"}, "unreadable dependency"),
        ({"dependencies": "requests ^2.0"}, "no PEP 440 version spec"),
    ],
)
def test_untrusted_result_rows_are_refused(workspace, tmp_path, target, change, expected):
    sha = approve(workspace, tmp_path, "rg-row")
    good = {"package_name": "rg-row", "commit_sha": sha}
    good["private_repo_url"] = f"file://{workspace}/private/rg-row.git"
    record(workspace, {**good, **change})
    before = installed(target)
    with pytest.raises(InstallError, match=expected):
        installer(target).run(["rg-row"])
    assert installed(target) == before


def test_a_row_naming_another_package_is_refused(workspace, tmp_path, target):
    src = make_source(tmp_path, "rg-real")
    url, sha = publish(workspace, "rg-alias", src)
    record(workspace, {"package_name": "rg-alias", "commit_sha": sha, "private_repo_url": url})
    with pytest.raises(InstallError, match="builds 'rg-real' instead"):
        installer(target).run(["rg-alias"])


def test_production_source_policy():
    policy = SourcePolicy(host="github.com", org="acme-private")
    assert policy.problem("https://github.com/acme-private/pandas") is None
    assert policy.problem("https://github.com/acme-private/pandas.git") is None
    assert "org" in policy.problem("https://github.com/someone/pandas")
    assert "host" in policy.problem("https://evil.example/acme-private/pandas")
    assert "credentials" in policy.problem("https://x:y@github.com/acme-private/pandas")
    assert "not https" in policy.problem("http://github.com/acme-private/pandas")
    assert "host" in policy.problem("https://github.com:8443/acme-private/pandas")


def test_parse_dependencies():
    parsed = parse_dependencies("packaging >=20; numpy >=1.22,<3;requests")
    assert [str(r) for r in parsed] == ["packaging>=20", "numpy<3,>=1.22", "requests"]
    assert parse_dependencies("") == []
    with pytest.raises(ValueError):
        parse_dependencies("bad name!")


# -- signed approvals -----------------------------------------------------------
def forged(ws: Path, tmp_path: Path, name: str) -> str:
    """A private repo and an `approved` row appended by hand, with no signed attestation."""
    src = make_source(tmp_path, name)
    url, sha = publish(ws, name, src)
    service = embedded_service(Workspace(ws))
    values = dict.fromkeys(ledger.result_columns(), "")
    values.update(
        request_id=f"rq-forged-{name}",
        package_name=name,
        commit_sha=sha,
        decision="approved",
        private_repo_url=url,
    )
    service.store.append(service.results_file, ledger.result_columns(), [values], "forged row")
    return sha


def test_a_forged_results_row_installs_nothing(workspace, tmp_path, target):
    # Given an approved-looking row with a valid sha and repo, but no attestation
    forged(workspace, tmp_path, "rg-forged")
    # When it is installed, Then nothing is installed and the refusal says why
    with pytest.raises(InstallError, match="no signed attestation"):
        installer(target).run(["rg-forged"])
    assert "rg-forged" not in installed(target)


def test_an_attestation_for_another_commit_or_key_installs_nothing(workspace, tmp_path, target):
    sha = forged(workspace, tmp_path, "rg-swapped")
    row = {"request_id": "rq-forged-rg-swapped", "package_name": "rg-swapped"}
    # signed by the pipeline, but for another commit
    sign_approval(workspace, {**row, "decision": "approved", "commit_sha": "1" * 40})
    with pytest.raises(InstallError, match="names commit 111111111111, not the fetched"):
        installer(target).run(["rg-swapped"])
    # the right commit, but the decision inside is a refusal
    sign_approval(workspace, {**row, "decision": "refused", "commit_sha": sha})
    with pytest.raises(InstallError, match="signed decision is 'refused'"):
        installer(target).run(["rg-swapped"])
    # the right statement, signed with a key the installer does not trust
    keys = workspace / "keys"
    trusted = (keys / "attestation-ed25519.pem").read_bytes()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate()
    (keys / "attestation-ed25519.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = (keys / "attestation-ed25519.pub.pem").read_bytes()
    try:
        (keys / "attestation-ed25519.pub.pem").write_bytes(
            other.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        sign_approval(workspace, {**row, "decision": "approved", "commit_sha": sha})
    finally:
        (keys / "attestation-ed25519.pem").write_bytes(trusted)
        (keys / "attestation-ed25519.pub.pem").write_bytes(public)
    with pytest.raises(InstallError, match="does not verify with the pipeline's key"):
        installer(target).run(["rg-swapped"])
    assert "rg-swapped" not in installed(target)


def test_a_revoked_commit_installs_nothing(workspace, tmp_path, target):
    # Given a signed approval that a later re-scan revoked (a `revoked` row for that commit)
    sha = approve(workspace, tmp_path, "rg-revoked")
    installer(target).run(["rg-revoked"])  # installed while it was approved
    record(
        workspace,
        {
            "request_id": "rq-rg-revoked-revoked-1",
            "package_name": "rg-revoked",
            "commit_sha": sha,
            "decision": "revoked",
            "reason": "revoked on re-scan: refused by the vulnerability gate",
        },
    )
    # Then the commit is neither listed as approved nor installed
    assert "rg-revoked" not in [
        r["package_name"] for r in embedded_service(Workspace(workspace)).approved()
    ]
    # and the request it answered shows the revocation (what the panel lists)
    service = embedded_service(Workspace(workspace))
    row = dict.fromkeys(ledger.request_columns(), "")
    row.update(request_id=f"rq-test-rg-revoked-{sha[:8]}0", package_name="rg-revoked")
    service.store.append(service.requests_file, ledger.request_columns(), [row], "request")
    [status] = [s for s in service.list_requests() if s.request["package_name"] == "rg-revoked"]
    assert (status.status, status.result["request_id"]) == ("revoked", "rq-rg-revoked-revoked-1")
    with pytest.raises(InstallError, match="rg-revoked was revoked \\(revoked on re-scan"):
        installer(target).run(["rg-revoked"])
    # and %repoguard status warns about the copy installed in this environment
    [warning] = revoked_installed(service.list_requests(), str(target))
    assert f"rg-revoked 1.0.0 installed in this kernel is the revoked commit {sha[:12]}" in warning
    assert "%pip uninstall -y rg-revoked" in warning
