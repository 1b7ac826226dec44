"""`cl open` and `cl wopen`: a bundle's or a worksheet's page, written as
one self-contained HTML file (there is no web server to ask for it) and
handed to the web browser when there is one."""

from __future__ import annotations

import html
import os
import tempfile
from typing import Any

from cl.repo import Repository


def _page_path(kind: str, name: str, oid: str) -> str:
    """Where a page is written: a directory of the user's own in the
    temporary directory, one file per bundle or worksheet (rewritten by
    each open)."""
    folder = os.path.join(tempfile.gettempdir(), f"cl-pages-{os.getuid()}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    st = os.lstat(folder)
    if st.st_uid != os.getuid() or not os.path.isdir(folder) or os.path.islink(folder):
        from cl.errors import CLError
        raise CLError(f"'{folder}' is not a directory of yours: cannot write pages there")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return os.path.join(folder, f"{kind}-{safe}-{oid[:12]}.html")


def _write(path: str, text: str) -> str:
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "w",
              encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def worksheet_page(repo: Repository, spec: str | None = None) -> str:
    """Write the worksheet's page (as `cl print --html`); its path."""
    from cl.app import worksheets as app_ws
    p = app_ws.page(repo, spec, embed=True)
    return _write(_page_path("worksheet", p.name, p.worksheet), app_ws.render_html(p))


def bundle_page(repo: Repository, spec: str, worksheet: str | None = None) -> str:
    """Write the bundle's page: its info fields and top-level contents; its path."""
    from cl.app import bundles
    from cl.app.worksheets import record_html
    [rec] = bundles.info(repo, [spec], verbose=True, worksheet=worksheet)
    fields: list[tuple[str, Any]] = [(k, rec[k]) for k in ("id", "name", "kind", "state", "description", "tags",
                                                              "created", "creator", "command", "data_size")
                                     if rec.get(k) not in (None, "", [])]
    fields += [(f"dependency {d['key'] or '(whole)'}", f"{d['name']}({d['bundle'][:10]})"
                + (f"/{d['path']}" if d["path"] else "")) for d in rec.get("dependencies", [])]
    rows = "".join(f"<tr><td>{html.escape(e['name'])}</td><td>{e['size']}</td><td>{html.escape(e['type'])}</td></tr>"
                   for e in rec.get("listing") or [])
    title = html.escape(f"{rec['name']} ({rec['id'][:10]})")
    text = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
            + record_html(rec["id"], rec["name"], fields)
            + (f"\n<h2>contents</h2>\n<table><tr><th>name</th><th>size</th><th>type</th></tr>{rows}</table>"
               if rows else "")
            + "\n</body>\n</html>\n")
    return _write(_page_path("bundle", rec["name"], rec["id"].removeprefix("0x")), text)


def show(path: str) -> bool:
    """Open a page in the web browser; False when there is none."""
    import webbrowser
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return bool(browser.open("file://" + path))
