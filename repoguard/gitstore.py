"""The request repo's CSV files, read and appended with optimistic concurrency.

Appending never needs a working tree: the new file is written as a blob on top
of the branch tip in a private bare cache, committed with plumbing, and pushed.
A push that is not a fast-forward (someone else appended first) is retried on
the new tip, so concurrent writers never lose a row. The same code serves the
embedded mode (a local bare repo) and production (the request repo on GitHub,
with the token passed in git's environment, never on a command line or in a URL).
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_delay,
    wait_random_exponential,
)

from . import contract, ledger


class GitError(RuntimeError):
    """A git command failed; the message carries git's own words (never a token)."""


class Conflict(GitError):
    """Someone else pushed first: retry on the new tip."""


def token_env(token: str | None) -> dict[str, str]:
    """git configuration that sends the token as an HTTP header.

    Passed through git's environment: never on a command line, in a URL or in
    .git/config, where it could be logged or kept.
    """
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


@contextmanager
def append_lock(file: Path) -> Iterator[None]:
    """The advisory lock the pipeline's ledger takes too (``contract.json`` git.appendLock).

    An exclusive create of ``file``; a lock older than ``staleMs`` is broken;
    after ``waitMs`` the writer goes ahead and relies on the push check alone,
    as it does where the lock cannot be created at all (a read-only folder).
    """
    spec = contract.append_lock()
    deadline = time.monotonic() + spec["waitMs"] / 1000
    held = False
    while True:
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                if time.time() - file.stat().st_mtime > spec["staleMs"] / 1000:
                    file.unlink(missing_ok=True)
                    continue
            except OSError:
                continue  # released meanwhile
            if time.monotonic() > deadline:
                break
            time.sleep(0.005 + random.random() * 0.02)  # noqa: S311 - jitter, not a secret
            continue
        except OSError:
            break  # cannot lock here: rely on the push check alone
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        held = True
        break
    try:
        yield
    finally:
        if held:
            file.unlink(missing_ok=True)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "repoguard" / "git"


class GitFileStore:
    """CSV files on one branch of one git repository."""

    def __init__(
        self,
        url: str,
        *,
        branch: str = "main",
        token: Callable[[], str | None] | None = None,
        cache_dir: Path | None = None,
        identity: tuple[str, str] = ("RepoGuard", "repoguard@localhost"),
    ):
        self.url = url
        self.branch = branch
        self._token = token
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.cache = (cache_dir or _cache_root()) / key
        self.identity = identity
        # The server runs reads in worker threads: one git operation on the cache at a time
        # (two fetches into one bare cache race on refs/remotes/origin/<branch>).
        self._lock = threading.RLock()

    # -- git plumbing -------------------------------------------------------
    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        name, email = self.identity
        env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        env.update(token_env(self._token() if self._token else None))
        env.update(extra or {})
        return env

    def _git(self, *args: str, input: str | None = None, env: dict | None = None) -> str:
        proc = subprocess.run(
            ["git", f"--git-dir={self.cache}", *args],
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self._env(env),
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            message = proc.stderr.strip()
            if contract.lost_race(message):
                raise Conflict(message)
            raise GitError(f"git {args[0]} failed: {message}")
        return proc.stdout

    def _ensure_cache(self) -> None:
        if not (self.cache / "HEAD").is_file():
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", str(self.cache)],
                check=True,
                capture_output=True,
                env=self._env(),
            )

    def _fetch(self) -> str | None:
        """Fetch the branch; return its tip, or None when the repo has no such branch yet."""
        self._ensure_cache()
        ref = f"refs/remotes/origin/{self.branch}"
        try:
            self._git("fetch", "--quiet", "--no-tags", self.url, f"+refs/heads/{self.branch}:{ref}")
        except GitError as error:
            if "couldn't find remote ref" in str(error):
                return None
            raise
        return self._git("rev-parse", ref).strip()

    def _show(self, commit: str | None, name: str) -> str:
        if commit is None:
            return ""
        try:
            return self._git("show", f"{commit}:{name}")
        except GitError as error:
            if "does not exist" in str(error) or "exists on disk, but not in" in str(error):
                return ""
            raise

    # -- the API ------------------------------------------------------------
    def read(self, name: str) -> str:
        """The file's text at the branch tip ('' when it does not exist yet)."""
        with self._lock:
            return self._show(self._fetch(), name)

    def read_many(self, names: Sequence[str]) -> dict[str, str]:
        """Several files from one fetch (one consistent commit)."""
        with self._lock:
            tip = self._fetch()
            return {name: self._show(tip, name) for name in names}

    def append(
        self, name: str, columns: Sequence[str], rows: list[dict[str, str]], message: str
    ) -> str:
        """Append rows to a CSV file in one commit; return the commit sha.

        A local bare repo (the embedded mode) is also guarded by the append
        lock the pipeline's writers take, so the two languages queue up
        instead of racing; a lost race is retried either way.
        """
        lock = self._lock_file()
        if lock is None:
            return self._append(name, columns, rows, message)
        with append_lock(lock):
            return self._append(name, columns, rows, message)

    def _lock_file(self) -> Path | None:
        parts = urlsplit(self.url)
        if parts.scheme == "file" and not parts.netloc:
            repo = Path(unquote(parts.path))
        elif "://" not in self.url and Path(self.url).is_absolute():
            repo = Path(self.url)
        else:
            return None
        return repo / contract.append_lock()["file"] if repo.is_dir() else None

    @retry(
        retry=retry_if_exception_type(Conflict),
        # Under heavy contention a writer may lose many races: keep trying for a minute.
        stop=stop_after_delay(60),
        wait=wait_random_exponential(multiplier=0.05, max=1),
        reraise=True,
    )
    def _append(
        self, name: str, columns: Sequence[str], rows: list[dict[str, str]], message: str
    ) -> str:
        with self._lock:  # one attempt; a lost race is retried outside, releasing the lock
            return self._append_once(name, columns, rows, message)

    def _append_once(
        self, name: str, columns: Sequence[str], rows: list[dict[str, str]], message: str
    ) -> str:
        tip = self._fetch()
        text = ledger.append_rows(self._show(tip, name), list(columns), rows)
        blob = self._git("hash-object", "-w", "--stdin", input=text).strip()
        with tempfile.TemporaryDirectory(prefix="repoguard-index-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if tip:
                self._git("read-tree", tip, env=index)
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
            tree = self._git("write-tree", env=index).strip()
        parents = ["-p", tip] if tip else []
        commit = self._git("commit-tree", tree, *parents, "-m", message).strip()
        self._git("push", "--quiet", self.url, f"{commit}:refs/heads/{self.branch}")
        return commit
