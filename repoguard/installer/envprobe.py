"""Looks at and stamps the target Python environment; stdlib only.

This file runs inside the environment a package is installed into, which may
lack repoguard and packaging: it imports nothing but the standard library.
When the target is this very interpreter (a kernel running the magic) it is
imported; otherwise it runs as ``python -I envprobe.py probe|stamp JSON``.
"""

import base64
import csv
import hashlib
import io
import json
import os
import platform
import sys
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
        dists[name] = {
            "version": d.version,
            "url": direct.get("url", ""),
            "commit": (direct.get("vcs_info") or {}).get("commit_id", ""),
        }
    impl = sys.implementation
    iver = f"{impl.version.major}.{impl.version.minor}.{impl.version.micro}"
    if impl.version.releaselevel != "final":
        iver += impl.version.releaselevel[0] + str(impl.version.serial)
    markers = {
        "implementation_name": impl.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
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
        text = json.dumps(
            {
                "url": item["url"],
                "vcs_info": {
                    "vcs": "git",
                    "commit_id": item["commit"],
                    "requested_revision": item["commit"],
                },
            }
        )
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
