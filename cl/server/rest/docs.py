"""The /api page: the REST API's operations listed from the OpenAPI
document, as one small self-contained HTML page (no scripts, no assets
from anywhere: it works offline)."""

from __future__ import annotations

from html import escape

STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.m{font-weight:600;font-family:ui-monospace,monospace}.GET{color:#05620b}.POST{color:#8a4b00}
.PUT{color:#1c4e8a}.DELETE{color:#a01010}small{color:#666}"""


def page(doc: dict) -> str:
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = ", ".join(p["name"] + ("" if p.get("required") else "?")
                               for p in op.get("parameters", []) if p["in"] == "query")
            body = op.get("requestBody", {}).get("content", {})
            codes = " ".join(op["responses"])
            rows.append(f"<tr><td class='m {method.upper()}'>{method.upper()}</td>"
                        f"<td><code>{escape(path)}</code>"
                        + (f"<br><small>query: {escape(params)}</small>" if params else "")
                        + (f"<br><small>body: {escape(', '.join(body))}</small>" if body else "")
                        + f"</td><td>{escape(op['summary'])}<br><small>{escape(op['operationId'])} · "
                        f"{escape(codes)}</small></td></tr>")
    info = doc["info"]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>"
            f"<p>{escape(info['description'])}</p>"
            "<p>The machine-readable document: <a href='/openapi.json'><code>/openapi.json</code></a> "
            "(OpenAPI 3.1).  Errors are <code>{\"error\": message}</code>.</p>"
            "<table><tr><th>method</th><th>path</th><th>what</th></tr>" + "".join(rows)
            + "</table></body></html>")
