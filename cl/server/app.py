"""The HTTP application: `POST /sync/v1/<op>` speaks the sync protocol's
frames (docs/protocol.md) in streaming request and response bodies, behind
bearer tokens.  The sync handler runs in worker threads (file and SQLite
work); request bytes reach it through a small bridge from the event loop.

Threads are what a stalled request would hold, so (docs/protocol.md §9)
a request body silent for config `server.timeout` seconds, or slower on
average than MIN_RATE once that long has passed, is cut off and answered
408; and a token may have at most config `server.per_token` requests in
progress, further ones being answered 503 at once."""

import json
import time

import anyio
import anyio.from_thread
import anyio.to_thread

from cl.app.repository import Repository
from cl.app.sharing import local_server, server_limits
from cl.app.users import ServedAccess
from cl.errors import CLError
from cl.remote.frames import Closed, FrameReader, RemoteError, encode

BATCH = 1 << 18
MIN_RATE = 1024      # bytes per second a body must average once server.timeout has passed


class _Body:
    """A blocking `read(n)` over the ASGI request body, for worker threads,
    which gives up on a body that stalls or trickles (`cut_off`)."""

    def __init__(self, receive, timeout: float):
        self._receive = receive
        self._buf = bytearray()
        self._more = True
        self._timeout = timeout
        self._start = time.monotonic()
        self._received = 0
        self.cut_off = False

    async def _next(self) -> bytes:
        with anyio.fail_after(self._timeout):
            message = await self._receive()
        if message["type"] == "http.disconnect":
            self._more = False
            return b""
        self._more = message.get("more_body", False)
        return message.get("body", b"")

    def read(self, n: int) -> bytes:
        while not self._buf and self._more:
            try:
                data = anyio.from_thread.run(self._next)
            except TimeoutError:
                self.cut_off = True
                raise RemoteError(f"the request body was silent for {self._timeout:g} s") from None
            self._received += len(data)
            elapsed = time.monotonic() - self._start
            if self._more and elapsed > self._timeout and self._received < MIN_RATE * elapsed:
                self.cut_off = True
                raise RemoteError(f"the request body is slower than {MIN_RATE} bytes/s")
            self._buf.extend(data)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


async def _json(send, status: int, value: dict, headers=()) -> None:
    body = json.dumps(value).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class SyncApp:
    """ASGI app for /sync/v1/<op>."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.server = local_server(repo)
        self.timeout, self.per_token = server_limits(repo)
        self.active: dict[str, int] = {}  # credentials -> requests in progress (event loop only)
        self.access = ServedAccess(repo)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        credentials = headers.get("authorization") or ""
        policy = await anyio.to_thread.run_sync(self.access.policy, credentials)
        if policy is None:
            await _json(send, 401, {"error": "wrong token"})
            return
        who = policy.principal.user or "anonymous"
        if scope["method"] != "POST":
            await _json(send, 405, {"error": "use POST"})
            return
        if self.active.get(credentials, 0) >= self.per_token:
            await _json(send, 503, {"error": f"token '{who}' has {self.per_token} requests in progress "
                                             "already; try again"}, [(b"retry-after", b"5")])
            return
        self.active[credentials] = self.active.get(credentials, 0) + 1
        try:
            await self._sync(self.server.with_policy(policy), receive, send)
        finally:
            self.active[credentials] -= 1

    async def _sync(self, server, receive, send):
        body = _Body(receive, self.timeout)
        reader = FrameReader(body.read)

        def start():
            try:
                request = reader.recv()
            except Closed:
                return iter([encode({"error": "empty request"})])
            except CLError as exc:
                return iter([encode({"error": exc.message})])
            if not isinstance(request, dict):
                return iter([encode({"error": "expected a request map"})])
            return server.handle(request, reader)

        frames = await anyio.to_thread.run_sync(start)

        def batch():
            out, size = [], 0
            for chunk in frames:
                out.append(chunk)
                size += len(chunk)
                if size >= BATCH:
                    break
            return b"".join(out)

        chunk = await anyio.to_thread.run_sync(batch)
        if body.cut_off:
            await _json(send, 408, {"error": f"the request body stalled (server.timeout is {self.timeout:g} s)"})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-msgpack")]})
        while chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunk = await anyio.to_thread.run_sync(batch)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def make_app(repo: Repository):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Mount, Route

    import cl
    from cl.server.rest import WithRest, docs, openapi, rest_app
    from cl.web.app import install as install_web

    api = openapi.document(cl.__version__)
    api_page = docs.page(api)

    async def version(request):
        return JSONResponse({"cl": cl.__version__, "sync": "/sync/v1"})

    async def openapi_json(request):
        return JSONResponse(api)

    async def api_docs(request):
        return HTMLResponse(api_page)

    rest = rest_app(repo.root)
    app = Starlette(routes=[Route("/version", version), Route("/openapi.json", openapi_json),
                            Route("/api", api_docs), Mount("/sync/v1", app=SyncApp(repo))])
    install_web(app, repo)  # the web worksheets own `/` (cl/web)
    app.state.close = rest.state.sessions.close  # cl/server/run.py calls it when the server stops
    return WithRest(app, rest)
