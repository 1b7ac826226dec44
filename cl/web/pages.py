"""The HTML of the web pages other than the worksheet itself (which
`cl print --html`'s renderer draws): the frame with its navigation bar,
sign-in, the worksheet list, a bundle, a file, the markup editor, the
refusal and error pages.  Pure: values in, text out; every value escaped."""

from __future__ import annotations

import html
import time
from typing import Any, Iterable
from urllib.parse import quote

from cl.web.graph import provenance_svg


def e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


class Frame:
    """What every page shares: where the server is mounted (`base`), who
    is signed in, and the CSRF token of their forms."""

    def __init__(self, base: str, user: str | None, csrf: str | None):
        self.base = base.rstrip("/")
        self.user = user
        self.csrf = csrf

    def url(self, path: str) -> str:
        return self.base + path

    def bundle(self, bid: str) -> str:
        return self.url(f"/bundles/0x{bid.removeprefix('0x')}")

    def worksheet(self, wid: str) -> str:
        return self.url(f"/worksheets/0x{wid.removeprefix('0x')}")

    def csrf_field(self) -> str:
        return f'<input type="hidden" name="csrf" value="{e(self.csrf)}">'

    def head(self, title: str) -> str:
        return (f'<link rel="stylesheet" href="{e(self.url("/static/web.css"))}">\n'
                f'<script src="{e(self.url("/static/web.js"))}" defer></script>\n'
                f'<meta name="cl-base" content="{e(self.base)}">\n')

    def nav(self) -> str:
        if self.user:
            who = (f'<span class="who">signed in as <b>{e(self.user)}</b></span>'
                   f'<form method="post" action="{e(self.url("/signout"))}" class="inline">{self.csrf_field()}'
                   '<button type="submit" id="signout">Sign out</button></form>')
        else:
            who = f'<a href="{e(self.url("/signin"))}" id="signin-link">Sign in</a>'
        return (f'<nav class="cl-nav"><a class="home" href="{e(self.url("/"))}">cl worksheets</a>'
                f'<form class="search inline" method="get" action="{e(self.url("/"))}">'
                '<input type="search" name="q" placeholder="search worksheets" aria-label="search worksheets">'
                f'</form><span class="spacer"></span>{who}</nav>\n')

    def page(self, title: str, body: str, status_class: str = "") -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{e(title)}</title>\n{self.head(title)}</head>\n<body class=\"{e(status_class)}\">\n"
                f"{self.nav()}<main class=\"web\">\n{body}\n</main>\n</body>\n</html>\n")

    def alive(self, document: str, extra: str, data: dict[str, str]) -> str:
        """A `cl print --html` document made live: our style and script
        in its head, the navigation bar above it, `extra` (the forms)
        after it, `data` attributes on its body for the script."""
        head_end = document.index("</head>")
        body_start = document.index("<body>") + len("<body>")
        main_end = document.rindex("</main>") + len("</main>")
        attrs = "".join(f' data-{k}="{e(v)}"' for k, v in data.items())
        return (document[:head_end] + self.head("") + document[head_end:body_start - 1] + f"{attrs}>\n"
                + self.nav() + document[body_start:main_end] + "\n" + extra + document[main_end:])


def refusal(frame: Frame, message: str, sign_in: bool, here: str = "") -> str:
    back = f"?next={quote(here, safe='/')}" if here else ""
    hint = (f'<p><a href="{e(frame.url("/signin") + back)}" id="refusal-sign-in">Sign in</a> to see it if it was '
            "shared with you.</p>"
            if sign_in else "<p>Ask its owner to share it with a group you are in.</p>")
    return frame.page("Not allowed", f'<h1>Not allowed</h1><p class="refusal">{e(message)}</p>{hint}', "refused")


def error(frame: Frame, title: str, message: str) -> str:
    return frame.page(title, f'<h1>{e(title)}</h1><p class="problem">{e(message)}</p>')


def sign_in(frame: Frame, token: str, message: str = "", user: str = "", after: str = "") -> str:
    problem = f'<p class="problem" id="signin-problem">{e(message)}</p>' if message else ""
    field = f'<input type="hidden" name="csrf" value="{e(token)}">'
    if after:
        field += f'<input type="hidden" name="next" value="{e(after)}">'
    return frame.page("Sign in", f"""<h1>Sign in</h1>{problem}
<form method="post" action="{e(frame.url('/signin'))}" class="signin" id="password-form">{field}
<label>User <input name="user" autocomplete="username" value="{e(user)}" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p>or with a token (<code>cl server token add USER</code>):</p>
<form method="post" action="{e(frame.url('/signin'))}" class="signin" id="token-form">{field}
<label>Token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Sign in with the token</button></form>""")


def worksheet_list(frame: Frame, rows: Iterable[Any], query: str) -> str:
    body = []
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.time / 1e9)) if r.time else ""
        body.append(f'<tr><td><a class="ws" href="{e(frame.worksheet(r.id))}">{e(r.name)}</a>'
                    f'<span class="id">0x{e(r.id[:8])}</span></td><td>{e(r.title)}</td>'
                    f'<td class="num">{r.bundles}</td><td>{e(r.author)}</td><td>{e(when)}</td></tr>')
    heading = f"Worksheets matching “{e(query)}”" if query else "Worksheets"
    table = ('<table class="worksheets"><thead><tr><th>name</th><th>title</th><th>bundles</th><th>by</th>'
             f'<th>updated</th></tr></thead><tbody>{"".join(body)}</tbody></table>' if body
             else '<p class="empty">No worksheets you may read' + (" match." if query else " yet.") + "</p>")
    return frame.page("Worksheets", f"<h1>{heading}</h1>{table}")


def worksheet_actions(frame: Frame, wid: str, writable: bool, private: int) -> str:
    out = ['<section class="web-actions">']
    if private:
        out.append(f'<p class="note">{private} bundle(s) on this worksheet are private to others.</p>')
    out.append('<p class="live-status" id="live-status" aria-live="polite"></p>')
    if writable:
        url = frame.worksheet(wid)
        out.append(f"""<p><a href="{e(url + '/edit')}" id="edit-link">Edit the markup</a></p>
<details><summary>Add text</summary><form method="post" action="{e(url + '/add')}" id="add-form">{frame.csrf_field()}
<textarea name="text" rows="3" cols="80" placeholder="Markdown, or % directives"></textarea>
<button type="submit">Add</button></form></details>
<details><summary>New run</summary><form method="post" action="{e(url + '/run')}" id="run-form">{frame.csrf_field()}
<label>Command <input name="command" size="60" required></label>
<label>Dependencies <input name="dependencies" size="40" placeholder="key:bundle key2:bundle/path"></label>
<label>Name <input name="name" size="20"></label>
<button type="submit">Run</button></form></details>""")
    out.append("</section>")
    return "\n".join(out)


def editor(frame: Frame, wid: str, name: str, head: str, text: str, message: str = "",
           current: str | None = None) -> str:
    problem = f'<p class="problem" id="edit-problem">{e(message)}</p>' if message else ""
    theirs = (f'<h2>The worksheet as it is now</h2><pre class="current">{e(current)}</pre>'
              if current is not None else "")
    return frame.page(f"Edit {name}", f"""<h1>Edit <a href="{e(frame.worksheet(wid))}">{e(name)}</a></h1>{problem}
<form method="post" action="{e(frame.worksheet(wid) + '/edit')}" id="edit-form">{frame.csrf_field()}
<input type="hidden" name="head" value="{e(head)}">
<textarea name="text" rows="30" cols="100" spellcheck="false">{e(text)}</textarea>
<p><button type="submit">Save</button> <a href="{e(frame.worksheet(wid))}">Cancel</a></p></form>{theirs}""")


# --- bundles ----------------------------------------------------------------------------

def _human(rec: dict, key: str, fn) -> str:
    v = rec.get(key)
    return "" if v in (None, "") else fn(v)


def metadata_rows(frame: Frame, rec: dict, human_bytes, human_seconds) -> list[tuple[str, str]]:
    """(label, HTML) of a bundle's info fields, sizes and times in human units."""
    rows: list[tuple[str, str]] = []

    def add(label, value, raw=False):
        if value not in (None, "", [], {}):
            rows.append((label, value if raw else e(value)))
    result = rec.get("result") or {}
    add("id", rec.get("id"))
    add("name", rec.get("name"))
    add("kind", rec.get("kind"))
    state = rec.get("state") or ""
    add("state", f'<span class="state-{e(state)}" id="bundle-state">{e(state)}</span>', raw=True)
    add("failure", result.get("failure"))
    add("exit code", result.get("exit_code"))
    add("command", f"<code>{e(rec['command'])}</code>" if rec.get("command") else None, raw=True)
    add("description", rec.get("description"))
    add("tags", " ".join(rec.get("tags") or []))
    add("created", rec.get("created"))
    add("creator", rec.get("creator"))
    add("size", _human(rec, "data_size", human_bytes))
    add("started", result.get("started"))
    add("finished", result.get("finished"))
    add("time", _human(result, "time", human_seconds))
    add("peak memory", _human(result, "peak_memory", human_bytes))
    add("executor", " on ".join(str(x) for x in (result.get("executor"), result.get("host")) if x))
    deps = []
    for d in rec.get("dependencies") or []:
        label = (f"{d['key']}:" if d.get("key") else "") + (d.get("name") or "") + (f"/{d['path']}" if d.get("path") else "")
        deps.append(f'<a class="ref" href="{e(frame.bundle(d["bundle"]))}">{e(label)}</a>')
    add("dependencies", ", ".join(deps), raw=True)
    for k, v in sorted((rec.get("request") or {}).items()):
        if v not in (None, "", 0, False, {}):
            add(f"request {k}", human_bytes(v) if k in ("memory", "disk") and isinstance(v, int) else v)
    return rows


def metadata_table(rows: list[tuple[str, str]]) -> str:
    return ('<table class="record metadata">' + "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
            + "</table>")


def listing(frame: Frame, bid: str, path: str, entries, human_bytes) -> str:
    rows = []
    if path:
        up = path.rsplit("/", 1)[0] if "/" in path else ""
        rows.append(f'<tr><td><a href="{e(files_url(frame, bid, up))}">..</a></td><td></td><td></td></tr>')
    for ent in entries:
        sub = f"{path}/{ent.name}" if path else ent.name
        link = f'<a href="{e(files_url(frame, bid, sub))}">{e(ent.name)}{"/" if ent.type == "directory" else ""}</a>'
        dl = ("" if ent.type == "directory"
              else f' <a class="download" href="{e(raw_url(frame, bid, sub, True))}" title="download">⤓</a>')
        rows.append(f'<tr><td>{link}{dl}</td><td class="num">{e(human_bytes(ent.size))}</td><td>{e(ent.type)}</td></tr>')
    return ('<table class="files"><thead><tr><th>name</th><th>size</th><th>type</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def files_url(frame: Frame, bid: str, path: str) -> str:
    return frame.bundle(bid) + "/files/" + quote(path)


def raw_url(frame: Frame, bid: str, path: str, download: bool = False) -> str:
    return frame.bundle(bid) + "/raw/" + quote(path) + ("?download=1" if download else "")


IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
               "webp": "image/webp", "bmp": "image/bmp"}


def preview(frame: Frame, bid: str, path: str, head: bytes, more: bool) -> str:
    """A file: an image shown, text shown (its first part), anything else
    only offered for download."""
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if ext in IMAGE_TYPES:
        return f'<img class="preview" src="{e(raw_url(frame, bid, path))}" alt="{e(path)}">'
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return '<p class="note">A binary file: download it to see it.</p>'
    return f'<pre class="preview">{e(text)}{"<br>…" if more else ""}</pre>'


def output_block(name: str, text: str, live: bool, offset: int) -> str:
    flag = ' data-live="1"' if live else ""
    return (f'<h3>{e(name)}</h3><pre class="output" data-stream="{e(name)}" data-offset="{offset}"'
            f'{flag}>{e(text)}</pre>')


def permissions_table(perms: dict) -> str:
    rows = "".join(f"<tr><td>{e(g)}</td><td>{e(level)}</td></tr>" for g, level in perms["groups"].items())
    return (f'<p>owner <b>{e(perms["owner"])}</b> · your permission: <b>{e(perms["yours"])}</b></p>'
            + (f'<table class="perms"><thead><tr><th>group</th><th>permission</th></tr></thead><tbody>{rows}'
               "</tbody></table>" if rows else "<p>No group has been given permission.</p>"))


def bundle_page(frame: Frame, rec: dict, meta_rows, prov: dict, files_html: str, outputs: str,
                perms: dict) -> str:
    bid = rec["id"].removeprefix("0x")
    state = rec.get("state") or ""
    failed = state in ("failed", "killed")
    graph = provenance_svg(prov, frame.bundle)
    body = (f'<h1>{e(rec.get("name"))}<span class="id">0x{e(bid[:8])}</span></h1>'
            + (f'<p class="failure-banner">{e(rec.get("name"))} {e(state)}: '
               f'{e((rec.get("result") or {}).get("failure") or "")}</p>' if failed else "")
            + metadata_table(meta_rows)
            + f'<h2>Provenance</h2><div class="scroll">{graph or "<p>No dependencies and nothing made from it.</p>"}</div>'
            + f"<h2>Contents</h2>{files_html}"
            + (f"<h2>Output</h2>{outputs}" if outputs else "")
            + f"<h2>Permissions</h2>{permissions_table(perms)}")
    return frame.page(f"{rec.get('name')} (0x{bid[:8]})", body, "bundle").replace(
        '<main class="web">', f'<main class="web bundle-page" data-bundle="{e(bid)}" data-state="{e(state)}">', 1)


def summary(frame: Frame, rec: dict, meta_rows, files: str, outputs: str) -> str:
    """What an expanded table row shows."""
    bid = rec["id"].removeprefix("0x")
    return (f'<div class="row-detail" data-bundle="{e(bid)}">{metadata_table(meta_rows)}{files}{outputs}'
            f'<p><a href="{e(frame.bundle(bid))}">open the bundle’s page</a></p></div>')
