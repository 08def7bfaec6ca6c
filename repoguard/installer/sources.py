"""Where approved packages may come from: the private repo URL a result row names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..contract import pattern

SHA = pattern("commitSha")
NAME = pattern("packageName")


@dataclass(frozen=True)
class SourcePolicy:
    """Embedded: ``file://`` repos directly in the workspace's private dir.
    Production: ``https://<host>/<org>/<repo>`` on the configured org; ``port`` is the
    request repo's own port when its URL names one (the mirrors share its origin), else
    a URL with any port is refused."""

    private_dir: Path | None = None
    host: str = ""
    org: str = ""
    port: int | None = None

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
        if (parts.hostname or "").lower() != self.host.lower() or port != self.port:
            origin = self.host if self.port is None else f"{self.host}:{self.port}"
            return f"has a private repo URL off the private host {origin}"
        if len(segments) != 2 or segments[0].lower() != self.org.lower():
            return f"has a private repo URL outside the org {self.org}"
        if not NAME.match(segments[1]):
            return "has a private repo URL with a bad repository name"
        return None
