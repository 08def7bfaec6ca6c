"""The server stays responsive while a request waits on a slow remote.

The request repo here is a git remote behind a deliberately slow local server
process (127.0.0.1 only): it accepts git's connection and answers nothing for
a while. ``GET /repoguard/requests`` then waits on ``git ls-remote`` in a
worker thread, and ``GET /repoguard/health`` must still be answered at once.
With handlers that ran the backend on the event loop, health would wait for
the remote too (checked by reverting ``repoguard/handlers.py``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repoguard.backends import AwsBackend
from repoguard.gitstore import GitFileStore
from repoguard.service import RequestService
from repoguard.validation import Policy

HOLD_SECONDS = 15
#: A server that accepts connections, writes a line per accepted one to a file, and answers nothing.
SLOW_SERVER = r"""
import socket, sys, threading, time
hold, log = float(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
print(server.getsockname()[1], flush=True)
def serve(conn):
    with open(log, "a") as f:
        f.write("accepted\n")
    time.sleep(hold)
    conn.close()
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


class SlowRemoteBackend(AwsBackend):
    """The production backend over a request repo behind the slow server."""

    def __init__(self, app):
        url = f"http://127.0.0.1:{os.environ['REPOGUARD_TEST_SLOW_PORT']}/requests.git"
        store = GitFileStore(url, cache_dir=Path(os.environ["REPOGUARD_TEST_CACHE"]))
        service = RequestService(store, None, Policy(allowed_hosts=("github.com",)))
        super().__init__(service, _Status(), ttl=0)


class _Status:
    def fingerprint(self):
        return "idle"

    def pipeline(self):
        return {"mode": "aws", "name": "p", "stages": [], "current": None, "executions": []}


@pytest.fixture
def slow_remote(tmp_path, monkeypatch):
    log = tmp_path / "accepted.log"
    log.touch()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SERVER, str(HOLD_SECONDS), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = proc.stdout.readline().strip()
        monkeypatch.setenv("REPOGUARD_TEST_SLOW_PORT", port)
        monkeypatch.setenv("REPOGUARD_TEST_CACHE", str(tmp_path / "cache"))
        yield log
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.fixture
def jp_server_config(jp_server_config, slow_remote):
    return {
        **jp_server_config,
        "RepoGuardApp": {
            "mode": "aws",
            "backend_class": "repoguard.tests.test_async.SlowRemoteBackend",
        },
    }


async def test_health_answers_while_a_request_waits_on_a_slow_remote(jp_fetch, slow_remote):
    # Given a poll of the requests that waits on the slow remote
    waiting = asyncio.ensure_future(jp_fetch("repoguard", "requests", raise_error=False))
    deadline = time.monotonic() + 20
    while "accepted" not in slow_remote.read_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert "accepted" in slow_remote.read_text(), "git never reached the slow remote"
    # When another user's panel asks for health
    started = time.monotonic()
    health = await jp_fetch("repoguard", "health")
    elapsed = time.monotonic() - started
    # Then it is answered at once, while the first request is still waiting
    assert health.code == 200
    assert elapsed < 3, f"health took {elapsed:.1f}s behind the slow remote"
    assert not waiting.done(), "the slow request did not wait on the remote"
    # and the slow request ends as a clear error once the remote gives up
    response = await asyncio.wait_for(waiting, HOLD_SECONDS + 45)
    assert response.code == 503
    assert b"cannot reach the request repo" in response.body


def test_concurrent_reads_of_one_store_do_not_race(tmp_path):
    """The server reads in worker threads now: parallel fetches into one cache must not fail."""
    from concurrent.futures import ThreadPoolExecutor

    repo = tmp_path / "requests.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    store = GitFileStore(str(repo), cache_dir=tmp_path / "cache")
    for i in range(3):
        store.append("x.csv", ["a"], [{"a": str(i)}], f"append {i}")
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda _: store.read("x.csv"), range(64)))
    assert all(t.splitlines()[-1] == "2" for t in texts)
