"""A worksheet page as one self-contained HTML document (pure): inline CSS,
no script, images embedded as data: URIs, HTML files in sandboxed iframes
(srcdoc), graphs as inline SVG.  It opens offline in any browser.

`bundle_url`/`worksheet_url` let a server turn references into links; the
offline page leaves them as plain labels with the id in a tooltip."""

import base64
import html as h
import time
from typing import Callable

from cl.worksheets import blocks as b
from cl.worksheets import markdown, svg

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; min-height: 100vh; }
header h1 { margin: 0 0 4px; font-size: 26px; }
.meta { color: #777; font-size: 13px; margin: 0 0 20px; }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 12px 4px 0; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #bbb; }
table.record th { font-weight: 600; border-bottom: 1px solid #e3e3e3; }
table caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f4f4f4; padding: 8px 10px; overflow-x: auto; font-size: 13px; }
code { font-family: Menlo, Consolas, monospace; }
figure { margin: 12px 0; }
figcaption { color: #666; font-size: 13px; }
img.bundle-image { max-width: 100%; }
iframe.bundle-html { width: 100%; min-height: 300px; border: 1px solid #ddd; }
.problem { color: #b00020; }
.ref { color: #555; }
.worksheet-link::before { content: "\\2192  "; }
"""


def _e(text) -> str:
    return h.escape("" if text is None else str(text), quote=True)


def render_page(page: b.Page, bundle_url: Callable[[str], str] | None = None,
                worksheet_url: Callable[[str], str] | None = None) -> str:
    title = page.title or page.name
    meta = [f"worksheet {page.name}", f"0x{page.worksheet[:8]}"]
    if page.version is not None:
        meta.append(f"version {page.version}")
    meta.append(f"by {page.author}")
    meta.append(time.strftime("%Y-%m-%d %H:%M", time.localtime(page.time / 1e9)))
    body = [_block(blk, bundle_url, worksheet_url) for blk in page.blocks]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta name=\"generator\" content=\"cl print --html\">\n<title>{_e(title)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n<main class=\"worksheet\" data-worksheet=\"{page.worksheet}\">\n"
            f"<header><h1>{_e(title)}</h1><p class=\"meta\">{_e(' · '.join(meta))}</p></header>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def render_fragment(blocks, bundle_url: Callable[[str], str] | None = None,
                    worksheet_url: Callable[[str], str] | None = None) -> str:
    """Blocks as an HTML fragment with its style sheet scoped to a
    `div.cl-worksheet`, for embedding in another page (a notebook cell)."""
    scoped = "\n".join(_scoped(line) for line in CSS.replace("body {", "{").split("\n"))
    body = "\n".join(_block(blk, bundle_url, worksheet_url) for blk in blocks)
    return f'<style>{scoped}</style>\n<div class="cl-worksheet">\n{body}\n</div>'


def _scoped(line: str) -> str:
    """A rule of CSS with each of its selectors under `.cl-worksheet`."""
    if not line or line.startswith(" ") or "{" not in line:
        return line
    selectors, rule = line.split("{", 1)
    return ", ".join(f".cl-worksheet {sel.strip()}".rstrip() for sel in selectors.split(",")) + " {" + rule


def _ref(bid: str, name: str, bundle_url) -> str:
    label = _e(name)
    if bundle_url:
        return f'<a class="ref" href="{_e(bundle_url(bid))}" title="0x{bid}">{label}</a>'
    return f'<span class="ref" title="0x{bid}">{label}</span>'


def _cell(value: str) -> str:
    try:
        float(value)
        return f'<td class="num">{_e(value)}</td>'
    except ValueError:
        return f"<td>{_e(value)}</td>"


def _block(blk, bundle_url, worksheet_url) -> str:
    if isinstance(blk, b.Markup):
        return f'<div class="markup">\n{markdown.render(blk.text)}\n</div>'
    if isinstance(blk, b.Table):
        head = "".join(f"<th>{_e(x)}</th>" for x in blk.headers)
        rows = "\n".join(f'<tr data-bundle="0x{r.bundle}">' + "".join(_cell(c) for c in r.cells) + "</tr>"
                         for r in blk.rows)
        return f'<table class="bundles">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>'
    if isinstance(blk, b.Record):
        rows = "\n".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in blk.rows)
        return (f'<table class="record" data-bundle="0x{blk.bundle}">'
                f"<caption>{_ref(blk.bundle, blk.name, bundle_url)}</caption>\n{rows}\n</table>")
    if isinstance(blk, b.Inline):
        return f'<p class="inline" data-bundle="0x{blk.bundle}">{_e(blk.value)}</p>'
    if isinstance(blk, b.FileView):
        return _file_view(blk, bundle_url)
    if isinstance(blk, b.Graph):
        names = ", ".join(_ref(bid, name, bundle_url) for bid, name in blk.bundles)
        if blk.series:
            plot = svg.line_plot(blk.series, blk.xlabel, blk.ylabel, blk.title)
        else:
            plot = ""
        problem = f'<p class="problem">{_e(blk.error)}</p>' if blk.error else ""
        return (f'<figure class="graph">{plot}{problem}<figcaption>{_e(blk.genpath)} of {names}'
                "</figcaption></figure>")
    if isinstance(blk, b.Link):
        return f"<p>{_ref(blk.bundle, blk.text, bundle_url)}</p>"
    if isinstance(blk, b.WorksheetLink):
        label = _e(blk.name) + (f": {_e(blk.title)}" if blk.title else "")
        if worksheet_url:
            label = f'<a href="{_e(worksheet_url(blk.worksheet))}">{label}</a>'
        return f'<p class="worksheet-link" title="0x{blk.worksheet}">worksheet {label}</p>'
    if isinstance(blk, b.Problem):
        return f'<p class="problem">{_e(blk.message)}</p>'
    raise TypeError(blk)


def _file_view(blk: b.FileView, bundle_url) -> str:
    where = f"{_ref(blk.bundle, blk.name, bundle_url)} {_e(blk.genpath)}"
    if blk.error:
        return f'<p class="problem">{_e(blk.error)}</p>'
    if blk.mode == "contents":
        more = "\n…" if blk.truncated else ""
        return (f'<figure class="contents"><pre>{_e(chr(10).join(blk.lines))}{more}</pre>'
                f"<figcaption>{where}</figcaption></figure>")
    if blk.data is None:
        return f'<p class="problem">{_e(blk.genpath)} of {_e(blk.name)} was not loaded</p>'
    if blk.mode == "image":
        size = "".join(f' {k}="{v}"' for k, v in (("width", blk.width), ("height", blk.height)) if v)
        uri = f"data:{blk.mime};base64," + base64.b64encode(blk.data).decode("ascii")
        return (f'<figure class="image"><img class="bundle-image" src="{uri}" alt="{_e(blk.name + blk.genpath)}"'
                f"{size}><figcaption>{where}</figcaption></figure>")
    doc = blk.data.decode("utf-8", errors="replace")
    return (f'<figure class="html"><iframe class="bundle-html" sandbox="" srcdoc="{_e(doc)}" '
            f'title="{_e(blk.name + blk.genpath)}"></iframe><figcaption>{where}</figcaption></figure>')
