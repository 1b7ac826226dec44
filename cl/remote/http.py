"""The HTTP transport: one streaming `POST /sync/v1/<op>` per request, the
request frames as the body and the response frames as the response body,
with `Authorization: Bearer <token>`.  The only module that imports httpx."""

import contextlib
import itertools

from cl.remote.frames import FrameReader, RemoteError, encode, said
from cl.remote.limits import TIMEOUT
from cl.remote.transport import Settings, Transport, stalled
from cl.remote.urls import RemoteURL


def _reason(text: str) -> str:
    """The `error` of a JSON answer (cl server's), else the text's start."""
    import json

    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        error = None
    return said(error if isinstance(error, str) else text[:200])


def open_http(url: RemoteURL, settings: Settings) -> "HttpTransport":
    """The `http` transport (cl/sync/transports.py)."""
    return HttpTransport(url.base, settings.token, settings.label, settings.limits.timeout)


class HttpTransport(Transport):
    def __init__(self, base_url: str, token: str | None, label: str, timeout: float = TIMEOUT):
        import httpx

        self._httpx = httpx
        headers = {"user-agent": "cl"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 60.0)))
        self.base_url = base_url
        self.label = label
        self.has_token = bool(token)
        self.timeout = timeout

    def _refused(self) -> str:
        """Why the server said 401: no token was sent, or the one sent is wrong."""
        where = f"remote.{self.label}.token or CL_TOKEN"
        if not self.has_token:
            return (f"remote '{self.label}' needs a token and none is set: set {where} "
                    "(the server's owner makes one with 'cl server token add NAME')")
        return f"wrong token for remote '{self.label}' (set {where})"

    @contextlib.contextmanager
    def request(self, header, body=()):
        httpx = self._httpx
        content = itertools.chain([encode(header)], body)
        try:
            with self._client.stream("POST", f"/sync/v1/{header['op']}", content=content) as resp:
                if resp.status_code == 401:
                    raise RemoteError(self._refused())
                if resp.status_code != 200:
                    resp.read()
                    raise RemoteError(f"remote '{self.label}' answered HTTP {resp.status_code}: "
                                      f"{_reason(resp.text)}")
                chunks = resp.iter_raw()
                pending = bytearray()

                def read(n):
                    if not pending:
                        pending.extend(next(chunks, b""))
                    out = bytes(pending[:n])
                    del pending[:n]
                    return out

                yield FrameReader(read)
        except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
            raise stalled(self.label, self.timeout, sending=isinstance(exc, httpx.WriteTimeout)) from None
        except httpx.TransportError as exc:
            raise RemoteError(f"cannot reach remote '{self.label}' at {self.base_url}: {exc}") from None

    def close(self):
        self._client.close()
