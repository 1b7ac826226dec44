"""The HTTP application: `POST /sync/v1/<op>` speaks the sync protocol's
frames (docs/protocol.md) in streaming request and response bodies, behind
bearer tokens.  The sync handler runs in worker threads (file and SQLite
work); request bytes reach it through a small bridge from the event loop."""

import json

import anyio
import anyio.from_thread
import anyio.to_thread

from cl.app import tokens
from cl.app.repository import Repository
from cl.app.sharing import local_server
from cl.remote.frames import Closed, FrameReader, encode

BATCH = 1 << 18


class _Body:
    """A blocking `read(n)` over the ASGI request body, for worker threads."""

    def __init__(self, receive):
        self._receive = receive
        self._buf = bytearray()
        self._more = True

    async def _next(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self._more = False
            return b""
        self._more = message.get("more_body", False)
        return message.get("body", b"")

    def read(self, n: int) -> bytes:
        while not self._buf and self._more:
            self._buf.extend(anyio.from_thread.run(self._next))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


async def _json(send, status: int, value: dict) -> None:
    body = json.dumps(value).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SyncApp:
    """ASGI app for /sync/v1/<op>."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.server = local_server(repo)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if tokens.check(self.repo, headers.get("authorization")) is None:
            await _json(send, 401, {"error": "wrong token"})
            return
        if scope["method"] != "POST":
            await _json(send, 405, {"error": "use POST"})
            return
        body = _Body(receive)
        reader = FrameReader(body.read)

        def start():
            try:
                request = reader.recv()
            except Closed:
                return iter([encode({"error": "empty request"})])
            if not isinstance(request, dict):
                return iter([encode({"error": "expected a request map"})])
            return self.server.handle(request, reader)

        frames = await anyio.to_thread.run_sync(start)

        def batch():
            out, size = [], 0
            for chunk in frames:
                out.append(chunk)
                size += len(chunk)
                if size >= BATCH:
                    break
            return b"".join(out)

        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-msgpack")]})
        while True:
            chunk = await anyio.to_thread.run_sync(batch)
            if not chunk:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def make_app(repo: Repository):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    import cl

    async def root(request):
        return JSONResponse({"cl": cl.__version__, "sync": "/sync/v1"})

    return Starlette(routes=[Route("/", root), Mount("/sync/v1", app=SyncApp(repo))])
