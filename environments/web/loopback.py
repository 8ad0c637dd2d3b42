"""The network rule of both browser backends: only loopback, and `goto` only within the episode's origin.

Chromium aborts every request whose host is not 127.0.0.1/localhost/::1 (and file: urls unless
`allow_file_urls`); the text browser refuses to fetch anything else. `goto` is limited to the origin given at
reset.
"""

from __future__ import annotations

import json
import urllib.parse

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback_url(url: str, allow_file: bool = False) -> bool:
    """Whether a request to `url` stays on this machine (data:, about: and blob: urls do; file: urls when allowed)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss"):
        return (parts.hostname or "") in LOOPBACK_HOSTS
    if parts.scheme in ("data", "about", "blob"):
        return True
    return allow_file and parts.scheme == "file"


def origin_of(url: str) -> str:
    """scheme://host:port of a url ("file:", "data:" or "about:" for those schemes)."""
    p = urllib.parse.urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.scheme not in ("file", "data", "about") else f"{p.scheme}:"


def check_goto(url: str, current: str, allowed_origin: str | None) -> tuple[str | None, str | None]:
    """Resolve a goto url against the current page; returns (absolute url, error)."""
    target = urllib.parse.urljoin(current, url)
    origin = allowed_origin or origin_of(current)
    if origin_of(target) != origin:
        return None, (f"goto({json.dumps(url)}) leaves the site; only urls on {origin} are allowed "
                      f"(a path like goto(\"/\") works)")
    return target, None

