"""Build osv-scanner's offline advisory database for RepoGuard (used by install-scanners.sh).

    osv-db.py fixture SRC OUT            zip SRC/<Ecosystem>/*.json (the committed fixture)
    osv-db.py download OUT ECOSYSTEM...  the live database from OSV's bucket (short timeouts)
    osv-db.py link DATA OUT              an existing <Ecosystem>/all.zip folder (benchmarks)

OUT gets osv-scanner 2.5.0's layout, OUT/osv-scalibr/<Ecosystem>/all.zip, and
OUT/SOURCE.json: {source, date, records, ecosystems, kind}. The pipeline's osv
adapter puts SOURCE.json in every report and /repoguard/health shows it. The
fixture zip is deterministic (sorted names, fixed timestamps); OUT is replaced
atomically, and left alone when its inputs did not change.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from datetime import datetime, timezone
from pathlib import Path

BUCKET = "https://osv-vulnerabilities.storage.googleapis.com"
LAYOUT = "osv-scalibr"
# osv-scanner's own layouts, older and newer, besides plain <Ecosystem>/all.zip.
LAYOUTS = ("osv-scalibr", "osv-scanner")


def _ecosystems(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "all.zip").is_file())


def _count(zips: list[Path]) -> tuple[int, str]:
    """Records in the zips and the newest record's `modified` date (YYYY-MM-DD)."""
    records, newest = 0, ""
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not name.endswith(".json"):
                    continue
                records += 1
                try:
                    modified = str(json.loads(archive.read(name)).get("modified", ""))
                except ValueError:
                    continue
                newest = max(newest, modified[:10])
    return records, newest


def _replace(out: Path, build) -> None:
    """Run build(tmp) into a folder beside OUT, then swap it in."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        build(tmp)
        old = out.with_name(f".{out.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if out.is_symlink() or out.is_file():
            out.unlink()
        elif out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _current(out: Path, digest: str) -> bool:
    try:
        return json.loads((out / "SOURCE.json").read_text())["digest"] == digest
    except (OSError, ValueError, KeyError):
        return False


def _write_source(folder: Path, info: dict) -> None:
    (folder / "SOURCE.json").write_text(json.dumps(info, indent=2) + "\n")


def fixture(src: Path, out: Path) -> dict:
    meta = json.loads((src / "SOURCE.json").read_text())
    files = sorted(p for p in src.glob("*/*.json") if p.is_file())
    if not files:
        raise SystemExit(f"osv-db: no <Ecosystem>/*.json records in {src}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(src).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps(meta, sort_keys=True).encode())
    key = digest.hexdigest()[:16]
    if _current(out, key):
        return json.loads((out / "SOURCE.json").read_text())
    stamp = tuple(int(x) for x in meta["date"].split("-")) + (0, 0, 0)
    info = {
        "source": meta["source"],
        "date": meta["date"],
        "records": len(files),
        "ecosystems": sorted({p.parent.name for p in files}),
        "kind": "fixture",
        "digest": key,
    }

    def build(tmp: Path) -> None:
        for ecosystem in info["ecosystems"]:
            target = tmp / LAYOUT / ecosystem / "all.zip"
            target.parent.mkdir(parents=True)
            with zipfile.ZipFile(target, "w") as archive:
                for path in files:
                    if path.parent.name != ecosystem:
                        continue
                    # Compact JSON, one record per file, as OSV's own all.zip holds them.
                    record = json.dumps(json.loads(path.read_text()), separators=(",", ":"))
                    entry = zipfile.ZipInfo(path.name, date_time=stamp)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    archive.writestr(entry, record)
        _write_source(tmp, info)

    _replace(out, build)
    return info


def download(out: Path, ecosystems: list[str], timeout: float) -> dict:
    dates = []

    def build(tmp: Path) -> None:
        for ecosystem in ecosystems:
            target = tmp / LAYOUT / ecosystem / "all.zip"
            target.parent.mkdir(parents=True)
            url = f"{BUCKET}/{ecosystem}/all.zip"
            with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as f:  # noqa: S310 - fixed https URL
                shutil.copyfileobj(response, f)
                modified = response.headers.get("Last-Modified")
            if not zipfile.is_zipfile(target):
                raise OSError(f"{url} is not a zip file")
            when = email.utils.parsedate_to_datetime(modified) if modified else None
            dates.append(when or datetime.now(timezone.utc))
        records, _ = _count([tmp / LAYOUT / e / "all.zip" for e in ecosystems])
        info.update(records=records, date=min(dates).strftime("%Y-%m-%dT%H:%M:%SZ"))
        _write_source(tmp, info)

    info = {
        "source": f"OSV offline database ({BUCKET})",
        "ecosystems": sorted(ecosystems),
        "kind": "download",
    }
    _replace(out, build)
    return info


def link(data: Path, out: Path) -> dict:
    data = data.resolve()
    folder = next((data / name for name in LAYOUTS if (data / name).is_dir()), data)
    ecosystems = _ecosystems(folder)
    if not ecosystems:
        raise SystemExit(f"osv-db: no <Ecosystem>/all.zip in {folder}")
    key = hashlib.sha256(
        "\0".join(f"{e}:{(folder / e / 'all.zip').stat().st_mtime_ns}" for e in ecosystems).encode()
        + str(folder).encode()
    ).hexdigest()[:16]
    if _current(out, key):
        return json.loads((out / "SOURCE.json").read_text())
    records, newest = _count([folder / e / "all.zip" for e in ecosystems])
    info = {
        "source": f"REPOGUARD_OSV_DATA: {data}",
        "date": newest,
        "records": records,
        "ecosystems": ecosystems,
        "kind": "data",
        "digest": key,
    }

    def build(tmp: Path) -> None:
        (tmp / LAYOUT).symlink_to(folder, target_is_directory=True)
        _write_source(tmp, info)

    _replace(out, build)
    return info


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "fixture":
        info = fixture(Path(argv[1]), Path(argv[2]))
    elif len(argv) >= 3 and argv[0] == "download":
        timeout = float(os.environ.get("REPOGUARD_OSV_DOWNLOAD_TIMEOUT", "20"))
        try:
            info = download(Path(argv[1]), argv[2:], timeout)
        except OSError as error:
            print(f"osv-db: download failed ({error})", file=sys.stderr)
            return 1
    elif len(argv) == 3 and argv[0] == "link":
        info = link(Path(argv[1]), Path(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(
        f"{info['source']}, {info['date']}, {info['records']} records ({', '.join(info['ecosystems'])})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
