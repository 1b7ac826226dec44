"""The REST API under /rest/ (docs/rest.md; the OpenAPI document is
cl/server/rest/openapi.py, served at /openapi.json, and /api lists it).

Each operation is one small function of a `Call` (the request's policy,
path and query values, JSON body) that calls cl/app/served.py, which
checks the policy and runs the same workflows as the `cl` command.  The
functions run in worker threads, each thread on its own connection to the
served repository, so that one request's write transaction never mixes
with another's reads.  A CLError becomes {"error": message} with the 4xx
that its kind calls for; anything else is a bug, answered 500."""

from __future__ import annotations

import json
import threading

import anyio.to_thread

from cl.app import served, served_bundles
from cl.app.sharing import repository_at
from cl.app.users import ServedAccess
from cl.errors import CLError, UsageError
from cl.server.rest import operations

PREFIX = "/rest"
STATUS = {"not_found": 404, "sign_in": 401, "forbidden": 403, "conflict": 409, "unavailable": 503,
          "bad": 400}
MAX_JSON = 16 << 20


def error(status: int, message: str, headers: dict | None = None):
    from starlette.responses import JSONResponse
    if status == 401:
        headers = {**(headers or {}), "www-authenticate": 'Bearer realm="cl"'}
    return JSONResponse({"error": message}, status, headers=headers)


def respond(status: int, value):
    """An operation's answer: a response it made, or JSON."""
    from starlette.responses import Response
    if isinstance(value, Response):
        return value
    body = json.dumps(value, default=str).encode()
    return Response(body, status, media_type="application/json")


class Sessions:
    """One (repository, access) pair per worker thread, opened on first use."""

    def __init__(self, root: str):
        self.root = root
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    def get(self):
        got = getattr(self._local, "session", None)
        if got is None:
            repo = repository_at(self.root)
            got = (repo, ServedAccess(repo))
            self._local.session = got
            with self._lock:
                self._all.append(got)
        return got

    def close(self) -> None:
        with self._lock:
            for repo, access in self._all:
                access.close()
                repo.close()
            self._all.clear()


class Call:
    """What an operation gets: the repository, the policy, path and query
    values, and the JSON body (None when there is none) or the uploaded
    file's path."""

    def __init__(self, repo, policy, path: dict, query, body, upload: str | None = None,
                 range: str | None = None):
        self.repo, self.policy, self.path, self.query, self.body = repo, policy, path, query, body
        self.upload, self.range = upload, range

    def arg(self, name: str, default=None):
        return self.query.get(name, default)

    def field(self, name: str, kind=str, required: bool = True, default=None):
        body = self.body if isinstance(self.body, dict) else {}
        if name not in body:
            if required:
                raise UsageError(f"the request body needs '{name}'")
            return default
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UsageError(f"'{name}' must be {operations.KIND_NAMES.get(kind, kind.__name__)}")
        return value


def endpoint(sessions: Sessions, op):
    """The starlette endpoint of one operation."""

    async def handle(request):
        body = None
        upload_dir = None
        if op.body == "file":  # a refusal comes before the body is read (and written out)
            refused = await anyio.to_thread.run_sync(lambda: _may_upload(sessions, request))
            if refused is not None:
                return refused
        try:
            if op.body == "json":
                body = await _json_body(request)
            elif op.body == "optional-json":
                body = await _json_body(request, optional=True)
            elif op.body == "file":
                upload_dir = await _save_upload(request)
        except CLError as exc:
            return error(413 if isinstance(exc, BodyTooLarge) else 400, exc.message)

        def run():
            policy = None
            try:
                repo, access = sessions.get()
                policy = access.policy(request.headers.get("authorization"))
                if policy is None:
                    return error(401, "wrong token")
                call = Call(repo, policy, dict(request.path_params), request.query_params, body,
                            upload_dir and operations.upload_path(upload_dir, request.query_params),
                            request.headers.get("range"))
                return respond(op.status, op.fn(call))
            except CLError as exc:
                status = STATUS[served.outcome(exc)]
                if policy is None and status != 503:
                    raise  # the repository could not be opened or read: a problem of the server's
                if status in (401, 403):  # 401 asks for a token; one that was given is not the problem
                    status = 401 if policy.principal.user is None else 403
                return error(status, exc.message, {"retry-after": "5"} if status == 503 else None)
        try:
            return await anyio.to_thread.run_sync(run)
        finally:
            if upload_dir is not None:
                import shutil
                shutil.rmtree(upload_dir)  # one file we wrote: failing to remove it is the server's problem
    handle.__name__ = op.name
    return handle


def _may_upload(sessions: Sessions, request):
    """The refusal of an upload the request's principal may not make, or None."""
    repo, access = sessions.get()
    policy = access.policy(request.headers.get("authorization"))
    if policy is None:
        return error(401, "wrong token")
    try:
        served_bundles.check_upload(repo, policy, request.query_params.get("worksheet", ""))
    except CLError as exc:
        status = STATUS[served.outcome(exc)]
        return error(403 if status == 401 and policy.principal.user is not None else status, exc.message)
    return None


class BodyTooLarge(CLError):
    """A JSON body past MAX_JSON (413), refused as it arrives."""


async def _json_body(request, optional: bool = False):
    too_large = BodyTooLarge(f"the JSON body is larger than {MAX_JSON >> 20} MiB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON:
        raise too_large
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON:
            raise too_large
        parts.append(chunk)
    data = b"".join(parts)
    if not data and optional:
        return None
    if not data:
        raise CLError("the request needs a JSON body")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CLError(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CLError("the JSON body must be an object")
    return value


async def _save_upload(request) -> str:
    """The request body, written to a new temporary directory as the file
    `filename` names (checked before anything is written)."""
    import os
    import tempfile
    name = operations.check_filename(request.query_params.get("filename"))
    tmp = tempfile.mkdtemp(prefix="cl-rest-upload-")
    try:
        with open(os.path.join(tmp, name), "wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
    except BaseException:
        import shutil
        shutil.rmtree(tmp)
        raise
    return tmp


class WithRest:
    """An ASGI app that hands every path under /rest to the REST app and
    the rest to `app` (starlette's Mount would not match a path holding a
    newline, and its 404 would not be JSON)."""

    def __init__(self, app, rest):
        self.app, self.rest = app, rest
        self.state = app.state

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            root = scope.get("root_path", "")
            await self.rest({**scope, "root_path": root + PREFIX}, receive, send)
        else:
            await self.app(scope, receive, send)


def rest_app(root: str):
    """The ASGI app mounted at /rest; `app.state.sessions` holds its
    connections (closed when the server stops)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    sessions = Sessions(root)
    routes = [Route(op.path, endpoint(sessions, op), methods=[op.method]) for op in operations.OPERATIONS]

    async def http_error(request, exc):
        return error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "error")

    async def bug(request, exc):
        return error(500, f"internal error ({type(exc).__name__}); this is a bug in cl")

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: bug})
    app.state.sessions = sessions  # closed by whoever runs the server, when it stops
    return app
