"""The web worksheets' routes (mounted at `/` by cl/server/app.py): sign
in and out, the worksheet list and search, a live worksheet page and the
small JSON it polls, the markup editor, adding text and runs, a bundle's
page, its files and its output.  Every handler asks cl/app/web.py, which
checks the request's Policy; a refusal is a 403 page, a bad spec a 404,
a stale edit a 409 and other bad input a 400 -- never a 500.

Repository work runs in worker threads; the event loop only moves bytes."""

from __future__ import annotations

import functools
import os
from typing import Any
from urllib.parse import parse_qs, quote

import anyio.to_thread

from cl.app import web as app_web
from cl.errors import CLError, Conflict, InputError, SpecError
from cl.web import pages, sessions

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PREVIEW_BYTES = 64 * 1024
OUTPUT_TAIL = 64 * 1024
MAX_FORM = 4 << 20


class Web:
    """The state the routes share: the repository, the permission
    database, the sessions."""

    def __init__(self, repo):
        self.repo = repo
        self.access = app_web.served(repo)
        self.sessions = sessions.Sessions()
        self.proxies = app_web.trusted_proxies(repo)

    # --- who is asking ---------------------------------------------------------------

    def session(self, request) -> sessions.Session | None:
        return self.sessions.get(request.cookies.get(sessions.COOKIE))

    def secure(self, request) -> bool:
        """Whether the browser reached us over https: directly, or through
        a trusted proxy that says so (uvicorn's proxy headers may already
        have set the scheme)."""
        if request.url.scheme == "https":
            return True
        client = request.client.host if request.client else None
        return (client in self.proxies
                and request.headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https")

    def frame(self, request, s: sessions.Session | None) -> pages.Frame:
        return pages.Frame(request.scope.get("root_path", ""), s.user if s else None, s.csrf if s else None)


# scripts only from this server (web.js; there are no inline scripts); the
# renderer's inline style sheet, data: images and sandboxed srcdoc frames
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-src 'self' about:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


def _html(text: str, status: int = 200, headers: dict | None = None):
    from starlette.responses import HTMLResponse
    h = {"cache-control": "no-store", "x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN",
         "content-security-policy": CSP, "referrer-policy": "same-origin"}
    return HTMLResponse(text, status, {**h, **(headers or {})})


def _json(value: Any, status: int = 200):
    from starlette.responses import JSONResponse
    return JSONResponse(value, status, {"cache-control": "no-store"})


async def _form(request) -> dict[str, str]:
    """A url-encoded form's fields (the last value of each); read no
    further than MAX_FORM bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise InputError(f"the form is larger than {MAX_FORM >> 20} MiB")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


def handler(change: bool = False, wants_json: bool = False):
    """Wrap a route: find the session and policy, check the CSRF token of a
    change, run the work in a thread and turn CLErrors into pages."""
    def wrap(fn):
        @functools.wraps(fn)
        async def route(request):
            web: Web = request.app.state.web
            s = web.session(request)
            frame = web.frame(request, s)
            policy = await anyio.to_thread.run_sync(app_web.policy_of, web.access, s.user if s else None)
            if policy is None:  # the user was removed
                web.sessions.end(s.sid)
                s, frame = None, web.frame(request, None)
                policy = await anyio.to_thread.run_sync(app_web.policy_of, web.access, None)
            try:
                form = await _form(request) if request.method == "POST" else {}
            except InputError as exc:
                return _json({"error": exc.message}, 413) if wants_json else \
                    _html(pages.error(frame, "Too large", exc.message), 413)
            if change:
                token = form.get("csrf") or request.headers.get("x-csrf-token")
                if s is None or not sessions.same(token, s.csrf):
                    message = "this form is out of date or came from another site (no valid CSRF token); reload the page"
                    if wants_json:
                        return _json({"error": message}, 403)
                    return _html(pages.error(frame, "Refused", message), 403)
            try:
                return await fn(request, web, frame, policy, form)
            except app_web.Refused as exc:
                if wants_json:
                    return _json({"error": exc.message}, 403)
                return _html(pages.refusal(frame, exc.message, isinstance(exc, app_web.SignInNeeded),
                                           request.url.path), 403)
            except Conflict as exc:
                return _json({"error": exc.message}, 409) if wants_json else \
                    _html(pages.error(frame, "Conflict", exc.message), 409)
            except SpecError as exc:
                return _json({"error": exc.message}, 404) if wants_json else \
                    _html(pages.error(frame, "Not found", exc.message), 404)
            except CLError as exc:
                return _json({"error": exc.message}, 400) if wants_json else \
                    _html(pages.error(frame, "Cannot do that", exc.message), 400)
        return route
    return wrap


def _run(fn, *args, **kwargs):
    return anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def _redirect(url: str, headers: dict | None = None):
    from starlette.responses import RedirectResponse
    return RedirectResponse(url, 303, headers)


# --- sign in and out -------------------------------------------------------------------------

def _local(path: str) -> str:
    """`next=` only if it is a path on this server ('' otherwise): never
    `//host`, `/\\host` or `https://…`, which browsers would leave for."""
    if not path.startswith("/") or path[1:2] in ("/", "\\") or any(c in path for c in "\r\n\t\\"):
        return ""
    return path


async def sign_in_form(request):
    web: Web = request.app.state.web
    s = web.session(request)
    token = request.cookies.get(sessions.PRE_COOKIE) or sessions.new_token()
    page = pages.sign_in(web.frame(request, s), token, after=_local(request.query_params.get("next", "")))
    return _html(page, headers={"set-cookie": sessions.cookie_header(sessions.PRE_COOKIE, token, web.secure(request),
                                                                    max_age=3600)})


async def sign_in(request):
    web: Web = request.app.state.web
    frame = web.frame(request, None)
    try:
        form = await _form(request)
    except InputError as exc:
        return _html(pages.error(frame, "Too large", exc.message), 413)
    pre = request.cookies.get(sessions.PRE_COOKIE)
    if not sessions.same(form.get("csrf"), pre):
        return _html(pages.error(frame, "Refused", "the sign-in form is out of date or came from another site; "
                                                   "open the sign-in page again"), 403)
    if form.get("token"):
        user = await _run(app_web.check_token, web.access, form["token"])
        problem = "that token is not right"
    else:
        user = await _run(app_web.check_password, web.access, form.get("user", ""), form.get("password", ""))
        problem = "wrong user name or password"
    after = _local(form.get("next", ""))
    if user is None:
        return _html(pages.sign_in(frame, pre or "", problem, form.get("user", ""), after), 401)
    old = web.session(request)
    if old:
        web.sessions.end(old.sid)
    s = web.sessions.start(user)
    response = _redirect(after or frame.url("/"))
    response.headers.append("set-cookie", sessions.cookie_header(sessions.COOKIE, s.sid, web.secure(request)))
    return response


@handler(change=True)
async def sign_out(request, web, frame, policy, form):
    web.sessions.end(request.cookies.get(sessions.COOKIE))
    response = _redirect(frame.url("/"))
    response.headers.append("set-cookie", sessions.cookie_header(sessions.COOKIE, "", web.secure(request), max_age=0))
    return response


# --- worksheets ------------------------------------------------------------------------------

@handler()
async def worksheet_list(request, web, frame, policy, form):
    query = request.query_params.get("q", "").strip()
    rows = await _run(app_web.worksheet_rows, web.repo, policy, query.split())
    return _html(pages.worksheet_list(frame, rows, query))


def _worksheet_page(web: Web, frame: pages.Frame, policy, spec: str) -> str:
    wid = app_web.readable_worksheet(web.repo, policy, spec)
    view = app_web.worksheet_view(web.repo, policy, wid, frame.url("") or "..")  # relative to /worksheets/
    writable = app_web.can_write(policy, wid)
    extra = pages.worksheet_actions(frame, wid, writable, view.private)
    return frame.alive(view.document, extra, {"worksheet": wid, "head": view.head,
                                              "states": frame.worksheet(wid) + "/states"})


@handler()
async def worksheet(request, web, frame, policy, form):
    return _html(await _run(_worksheet_page, web, frame, policy, request.path_params["spec"]))


@handler(wants_json=True)
async def worksheet_states(request, web, frame, policy, form):
    def go():
        wid = app_web.readable_worksheet(web.repo, policy, request.path_params["spec"])
        return app_web.worksheet_states(web.repo, policy, wid)
    return _json(await _run(go))


@handler()
async def edit_form(request, web, frame, policy, form):
    def go():
        wid = app_web.readable_worksheet(web.repo, policy, request.path_params["spec"])
        head, text = app_web.editing(web.repo, policy, wid)
        return pages.editor(frame, wid, _name(web, wid), head, text)
    return _html(await _run(go))


def _name(web: Web, wid: str) -> str:
    from cl.app import worksheets as app_ws
    return app_ws.name_title(web.repo, "0x" + wid)[0]


@handler(change=True)
async def edit_save(request, web, frame, policy, form):
    def go():
        wid = app_web.readable_worksheet(web.repo, policy, request.path_params["spec"])
        try:
            app_web.save(web.repo, policy, wid, form.get("text", "").replace("\r\n", "\n"), form.get("head", ""))
        except Conflict as exc:
            head, current = app_web.editing(web.repo, policy, wid)
            return _html(pages.editor(frame, wid, _name(web, wid), head, form.get("text", ""),
                                      f"{exc.message}: someone saved a newer version. Your text is below; "
                                      "merge the changes and save again.", current), 409)
        except CLError as exc:
            if isinstance(exc, app_web.Refused):
                raise
            head = form.get("head", "")
            return _html(pages.editor(frame, wid, _name(web, wid), head, form.get("text", ""), exc.message), 400)
        return _redirect(frame.worksheet(wid))
    return await _run(go)


@handler(change=True)
async def add_text(request, web, frame, policy, form):
    def go():
        wid = app_web.readable_worksheet(web.repo, policy, request.path_params["spec"])
        app_web.add_text(web.repo, policy, wid, form.get("text", "").replace("\r\n", "\n"))
        return _redirect(frame.worksheet(wid))
    return await _run(go)


@handler(change=True)
async def new_run(request, web, frame, policy, form):
    def go():
        wid = app_web.readable_worksheet(web.repo, policy, request.path_params["spec"])
        app_web.create_run(web.repo, policy, wid, form.get("command", ""), form.get("dependencies", "").split(),
                           form.get("name", "").strip())
        return _redirect(frame.worksheet(wid))
    return await _run(go)


# --- bundles ---------------------------------------------------------------------------------

def _outputs(web: Web, bid: str, rec: dict) -> str:
    if rec.get("kind") != "run":
        return ""
    out = []
    for stream in ("stdout", "stderr"):
        got = app_web.output(web.repo, bid, stream, 0, OUTPUT_TAIL)
        out.append(pages.output_block(stream, got["data"], not got["final"], got["offset"]))
    return "".join(out)


def _bundle_page(web: Web, frame: pages.Frame, policy, spec: str) -> str:
    bid = app_web.readable_bundle(web.repo, policy, spec)
    rec = app_web.bundle_info(web.repo, bid)
    rows = pages.metadata_rows(frame, rec, app_web.human_bytes, app_web.human_seconds)
    prov = app_web.provenance(web.repo, policy, bid)
    return pages.bundle_page(frame, rec, rows, prov, _files(web, frame, bid), _outputs(web, bid, rec),
                             app_web.permissions(policy, bid))


def _files(web: Web, frame: pages.Frame, bid: str, preview: bool = True) -> str:
    """A bundle's top directory, or its one file previewed; for a run with
    nothing yet (staged), the line that says so."""
    try:
        entries = app_web.list_dir(web.repo, bid, "")
        if entries is not None:
            return pages.listing(frame, bid, "", entries, app_web.human_bytes)
        if not preview:
            return ""
        with app_web.open_file(web.repo, bid, "") as f:
            head = f.read(PREVIEW_BYTES + 1)
    except CLError as exc:  # shown on the page: "has no contents yet (state staged)"
        return f'<p class="note">{pages.e(exc.message)}</p>'
    return (pages.preview(frame, bid, "", head[:PREVIEW_BYTES], len(head) > PREVIEW_BYTES)
            + f'<p><a class="download" href="{pages.e(pages.raw_url(frame, bid, "", True))}">download</a></p>')


@handler()
async def bundle(request, web, frame, policy, form):
    return _html(await _run(_bundle_page, web, frame, policy, request.path_params["spec"]))


@handler()
async def bundle_summary(request, web, frame, policy, form):
    def go():
        bid = app_web.readable_bundle(web.repo, policy, request.path_params["spec"])
        rec = app_web.bundle_info(web.repo, bid)
        rows = pages.metadata_rows(frame, rec, app_web.human_bytes, app_web.human_seconds)
        return pages.summary(frame, rec, rows, _files(web, frame, bid, preview=False), _outputs(web, bid, rec))
    return _html(await _run(go))


@handler()
async def bundle_files(request, web, frame, policy, form):
    def go():
        spec, path = request.path_params["spec"], request.path_params.get("path", "").strip("/")
        bid = app_web.readable_bundle(web.repo, policy, spec)
        entries = app_web.list_dir(web.repo, bid, path)
        crumbs = f'<a href="{pages.e(frame.bundle(bid))}">0x{bid[:8]}</a> / {pages.e(path)}'
        if entries is not None:
            body = pages.listing(frame, bid, path, entries, app_web.human_bytes)
        else:
            with app_web.open_file(web.repo, bid, path) as f:
                head = f.read(PREVIEW_BYTES + 1)
            body = (pages.preview(frame, bid, path, head[:PREVIEW_BYTES], len(head) > PREVIEW_BYTES)
                    + f'<p><a class="download" href="{pages.e(pages.raw_url(frame, bid, path, True))}">download</a></p>')
        return frame.page(f"0x{bid[:8]}/{path}", f"<h1>{crumbs}</h1>{body}")
    return _html(await _run(go))


@handler()
async def bundle_raw(request, web, frame, policy, form):
    """A file's bytes.  Never rendered as a page of this site: anything but
    a known image type is served as plain text or an attachment, under a
    sandboxing Content-Security-Policy."""
    from starlette.responses import StreamingResponse
    spec, path = request.path_params["spec"], request.path_params.get("path", "").strip("/")

    def go():
        bid = app_web.readable_bundle(web.repo, policy, spec)
        return bid, app_web.open_file(web.repo, bid, path)
    bid, f = await _run(go)
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    download = request.query_params.get("download") == "1"
    mime = pages.IMAGE_TYPES.get(ext, "application/octet-stream" if download else "text/plain; charset=utf-8")
    name = (path.rsplit("/", 1)[-1] or f"0x{bid[:8]}")
    headers = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox; default-src 'none'",
               "cache-control": "no-store",
               "content-disposition": ("attachment" if download else "inline") + f"; filename*=UTF-8''{quote(name)}"}

    async def body():
        try:
            while chunk := await anyio.to_thread.run_sync(f.read, 1 << 20):
                yield chunk
        finally:
            f.close()
    return StreamingResponse(body(), media_type=mime, headers=headers)


@handler(wants_json=True)
async def bundle_output(request, web, frame, policy, form):
    def go():
        bid = app_web.readable_bundle(web.repo, policy, request.path_params["spec"])
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            raise InputError("offset must be a whole number") from None
        return app_web.output(web.repo, bid, request.path_params["stream"], offset)
    return _json(await _run(go))


@handler(wants_json=True)
async def bundle_state(request, web, frame, policy, form):
    def go():
        bid = app_web.readable_bundle(web.repo, policy, request.path_params["spec"])
        from cl.app import runs as app_runs
        return {"state": app_runs.state(web.repo, bid)}
    return _json(await _run(go))


def routes(repo) -> tuple[Web, list]:
    """The shared state and the web's routes; mount them last (they own `/`)."""
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    web = Web(repo)

    def r(path, endpoint, methods=("GET",)):
        return Route(path, endpoint, methods=list(methods))
    return web, [
        r("/", worksheet_list), r("/signin", sign_in_form), r("/signin", sign_in, ["POST"]),
        r("/signout", sign_out, ["POST"]),
        r("/worksheets/{spec}", worksheet), r("/worksheets/{spec}/states", worksheet_states),
        r("/worksheets/{spec}/edit", edit_form), r("/worksheets/{spec}/edit", edit_save, ["POST"]),
        r("/worksheets/{spec}/add", add_text, ["POST"]), r("/worksheets/{spec}/run", new_run, ["POST"]),
        r("/bundles/{spec}", bundle), r("/bundles/{spec}/summary", bundle_summary),
        r("/bundles/{spec}/state", bundle_state),
        r("/bundles/{spec}/files/{path:path}", bundle_files), r("/bundles/{spec}/files", bundle_files),
        r("/bundles/{spec}/raw/{path:path}", bundle_raw), r("/bundles/{spec}/raw", bundle_raw),
        r("/bundles/{spec}/output/{stream}", bundle_output),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]


def install(app, repo) -> None:
    """Give a Starlette app the web pages (cl/server/app.py calls this)."""
    web, found = routes(repo)
    app.state.web = web
    app.router.routes.extend(found)
