"""Real virtual environments made offline, from the packages of this interpreter.

Tests and the benchmark need a fresh environment (no system site-packages)
with ipykernel, repoguard and a build backend, without reaching any index.
Each installed distribution (and its runtime dependencies) is packed back
into a wheel from the files its RECORD lists, then pip installs those wheels
with ``--no-index``. Console scripts are left out (pip writes them again from
``entry_points.txt``), and so are files outside site-packages.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_SKIP = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The distributions of ``names`` and of their runtime dependencies, here."""
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(n) for n in names]
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[key] = dist
        for text in dist.requires or []:
            dep = Requirement(text)
            extras = requirement.extras or {""}
            if dep.marker and not any(dep.marker.evaluate({"extra": e}) for e in extras):
                continue
            todo.append(dep)
    return list(found.values())


def repack(dist: metadata.Distribution, outdir: Path) -> Path:
    """A wheel holding the installed files of ``dist``."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    info = Path(dist._path)  # the .dist-info folder
    wheel_meta = (info / "WHEEL").read_text(encoding="utf-8")
    tags = re.findall(r"^Tag:\s*(\S+)\s*$", wheel_meta, re.MULTILINE) or ["py3-none-any"]
    parts = [list(dict.fromkeys(t.split("-")[i] for t in tags)) for i in range(3)]
    tag = "-".join(".".join(p) for p in parts)  # compressed tag set, e.g. py2.py3-none-any
    target = outdir / f"{name}-{dist.version}-{tag}.whl"
    root = info.parent
    record = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
        for file in dist.files or []:
            path = str(file)
            if path.startswith("..") or "__pycache__" in path or path.endswith(".pyc"):
                continue
            if path.startswith(info.name + "/") and Path(path).name in _SKIP:
                continue
            data = (root / path).read_bytes()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append([path, f"sha256={digest.decode()}", str(len(data))])
        record.append([f"{info.name}/RECORD", "", ""])
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(record)
        wheel.writestr(f"{info.name}/RECORD", out.getvalue())
    return target


def make_venv(path: Path, packages: list[str]) -> Path:
    """A venv at ``path`` (pip included) with ``packages`` installed offline; its python."""
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(path)
    python = path / "bin" / "python"
    wheels = path / "wheelhouse"
    wheels.mkdir()
    dists = closure(packages)
    for dist in dists:
        repack(dist, wheels)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PIP_FIND_LINKS", None)
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         *map(str, sorted(wheels.glob("*.whl")))],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"offline venv install failed: {proc.stderr[-2000:]}")
    return python


def pip_list(python: Path) -> dict[str, str]:
    """``pip list`` of an environment, as {canonical name: version}."""
    proc = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        check=True, capture_output=True, text=True, env={**os.environ, "PIP_NO_INDEX": "1"},
    )  # fmt: skip
    import json

    return {canonicalize_name(d["name"]): d["version"] for d in json.loads(proc.stdout)}


if __name__ == "__main__":  # python -m repoguard.bench.venvs DIR PACKAGE...
    print(make_venv(Path(sys.argv[1]), sys.argv[2:]))
