"""Remote URLs: `ssh://[user@]host[:port]/path`, scp-like `[user@]host:path`,
`http(s)://host:port[/prefix]`, `file:///path` and plain directory paths."""

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from cl.errors import UsageError

_SCP = re.compile(r"(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>.*)\Z")


class RemoteURL(NamedTuple):
    kind: str            # "dir", "ssh" or "http"
    text: str
    path: str = ""
    host: str = ""
    port: int | None = None
    user: str | None = None

    @property
    def base(self) -> str:
        """The HTTP base URL."""
        return self.text.rstrip("/")


def is_url(text: str) -> bool:
    """Whether a command-line word names a remote location rather than a
    worksheet or bundle (worksheet names hold neither '/' nor ':')."""
    return "/" in text or ":" in text or text in (".", "..")


def _no_option(url: RemoteURL) -> RemoteURL:
    """A host or user that starts with '-' would reach ssh as an option."""
    for what, value in (("host", url.host), ("user", url.user)):
        if value and value.startswith("-"):
            raise UsageError(f"a remote {what} may not start with '-': '{url.text}'")
    return url


def parse_url(text: str) -> RemoteURL:
    return _no_option(_parse(text))


def _parse(text: str) -> RemoteURL:
    if not text:
        raise UsageError("empty remote URL")
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError as exc:  # an unclosed `[` of an IPv6 host, for one
            raise UsageError(f"malformed remote URL: '{text}' ({exc})") from None
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"bad port in remote URL: '{text}'") from None
        if scheme in ("http", "https"):
            if not parts.hostname:
                raise UsageError(f"no host in remote URL: '{text}'")
            return RemoteURL("http", text, parts.path, parts.hostname, port, parts.username)
        if scheme == "ssh":
            if not parts.hostname or not parts.path:
                raise UsageError(f"an ssh URL needs a host and a path: '{text}'")
            path = parts.path
            if path.startswith("/~"):
                path = path[1:]
            return RemoteURL("ssh", text, path, parts.hostname, port, parts.username)
        if scheme == "file":
            return RemoteURL("dir", text, parts.path)
        raise UsageError(f"unknown remote URL scheme '{scheme}' (ssh, http, https, file)")
    m = _SCP.match(text)
    if m and not text.startswith(("/", ".")):
        return RemoteURL("ssh", text, m["path"] or ".", m["host"], None, m["user"])
    return RemoteURL("dir", text, text)
