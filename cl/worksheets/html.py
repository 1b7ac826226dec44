"""A worksheet page as one self-contained HTML document (pure): inline CSS,
no script, images embedded as data: URIs, HTML files in sandboxed iframes
(srcdoc), graphs as inline SVG.  It opens offline in any browser and uses
the window's width.

Every bundle name on the page shows its short id and links to the
bundle's section at the end of the page (kind, state, failure, command,
size, time, memory, dependencies: cl/worksheets/pagerefs.py reads them);
given `server`, names link to that server's pages instead
(`SERVER/bundles/0x<id>`, `SERVER/worksheets/0x<id>`).  A run that failed
or was killed is highlighted with its failure message.  `{{WS}}` in text
links to the worksheet.  The two sides of a merge conflict (the marker
lines cl/refs/merge.py leaves) are two marked boxes, side by side."""

import base64
import html as h
import time
from dataclasses import dataclass

from cl.errors import InputError
from cl.worksheets import blocks as b
from cl.worksheets import markdown, svg
from cl.worksheets.pagerefs import BundleCard, PageRefs, bundle_ids

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       margin: 0; background: #fff; }
main { padding: 20px 32px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
h2.appendix { font-size: 19px; border-bottom: 1px solid #ddd; margin-top: 40px; }
.meta { color: #777; font-size: 13px; margin: 0 0 20px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 14px 4px 0; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #bbb; }
.markup table th, .markup table td { border: 1px solid #ccc; padding: 4px 10px; }
table.record th { font-weight: 600; border-bottom: 1px solid #e3e3e3; }
table caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed > td, tr.killed > td { background: #fdecea; }
tr.failure > td { background: #fdecea; color: #b00020; font-size: 13px; padding-left: 18px;
                  border-bottom: 1px solid #f3c1c1; }
.state-failed, .state-killed { color: #b00020; font-weight: 600; }
.state-running, .state-preparing, .state-finalizing { color: #1565c0; font-weight: 600; }
.state-created, .state-staged { color: #8a6d00; }
.state-ready { color: #2e7d32; }
pre { background: #f4f4f4; padding: 8px 10px; overflow-x: auto; font-size: 13px; }
code { font-family: Menlo, Consolas, monospace; }
figure { margin: 12px 0; }
figcaption { color: #666; font-size: 13px; }
img.bundle-image { max-width: 100%; }
iframe.bundle-html { width: 100%; min-height: 300px; border: 1px solid #ddd; }
.problem { color: #b00020; }
a.ref, span.ref { color: #0b57d0; }
.id { color: #888; font: 12px Menlo, Consolas, monospace; margin-left: 4px; }
.worksheet-link::before { content: "\\2192  "; }
.worksheet-ref.missing { color: #b00020; }
.conflict { border: 2px solid #e0a800; border-radius: 4px; margin: 16px 0; padding: 0 8px 8px; }
.conflict-head { font-weight: 600; color: #7a5c00; margin: 6px 0; }
.conflict-sides { display: flex; gap: 12px; }
.conflict-side { flex: 1 1 0; min-width: 0; border: 1px solid #ccc; border-radius: 4px; padding: 0 10px; }
.conflict-side.side-a { border-left: 6px solid #1565c0; }
.conflict-side.side-b { border-left: 6px solid #8e24aa; }
.conflict-label { font: 600 13px Menlo, Consolas, monospace; color: #555; margin: 6px 0; }
section.bundle-card, section.worksheet-card { border-top: 1px solid #eee; padding: 6px 0; }
section.bundle-card h3, section.worksheet-card h3 { font-size: 16px; margin: 4px 0; }
section.bundle-card.failed, section.bundle-card.killed { background: #fdecea; }
section.bundle-card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
                         margin: 4px 0; font-size: 14px; }
section.bundle-card dt { color: #666; }
section.bundle-card dd { margin: 0; }
:target { outline: 2px solid #0b57d0; outline-offset: 2px; }
"""

CONFLICT_START = "<<<<<<< conflict: "     # cl/refs/merge.py's marker lines
CONFLICT_MIDDLE = "======="
CONFLICT_END = ">>>>>>> end of conflict"
FAILED = ("failed", "killed")


def _e(text) -> str:
    return h.escape("" if text is None else str(text), quote=True)


@dataclass(frozen=True)
class _Links:
    refs: PageRefs
    server: str | None

    def bundle(self, bid: str) -> str | None:
        if self.server:
            return f"{self.server}/bundles/0x{bid}"
        return f"#b-{bid}" if self.refs.bundle(bid) else None

    def worksheet(self, wid: str) -> str | None:
        if self.server:
            return f"{self.server}/worksheets/0x{wid}"
        return f"#w-{wid}" if self.refs.worksheet(wid) else None

    def card(self, bid: str) -> BundleCard | None:
        return self.refs.bundle(bid)


def server_base(url: str) -> str:
    """`--server URL`: an http(s) address whose pages the names link to."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"--server needs an http(s) address such as https://worksheets.example.org, not '{url}'")
    return url.rstrip("/")


def render_page(page: b.Page, refs: PageRefs | None = None, server: str | None = None) -> str:
    """The page.  `refs` (pagerefs.collect) fills the bundle sections and
    worksheet names; without it each section has a name and an id."""
    links = _Links(refs if refs is not None else _names_only(page), server.rstrip("/") if server else None)
    title = page.title or page.name
    meta = [f"worksheet {page.name}", f"0x{page.worksheet[:8]}"]
    if page.version is not None:
        meta.append(f"version {page.version}")
    meta.append(f"by {page.author}")
    meta.append(time.strftime("%Y-%m-%d %H:%M", time.localtime(page.time / 1e9)))
    body = _body(page.blocks, links)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta name=\"generator\" content=\"cl print --html\">\n<title>{_e(title)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n<main class=\"worksheet\" data-worksheet=\"{page.worksheet}\">\n"
            f"<header><h1>{_e(title)}</h1><p class=\"meta\">{_e(' · '.join(meta))}</p></header>\n"
            + body + _appendix(links) + "\n</main>\n</body>\n</html>\n")


def render_fragment(blocks, refs: PageRefs | None = None, server: str | None = None) -> str:
    """Blocks as an HTML fragment with its style sheet scoped to a
    `div.cl-worksheet`, for embedding in another page (a notebook cell).
    There are no sections to link to: names link only given `server`."""
    scoped = "\n".join(_scoped(line) for line in CSS.replace("body {", "{").split("\n"))
    links = _Links(refs if refs is not None else PageRefs(), server.rstrip("/") if server else None)
    return f'<style>{scoped}</style>\n<div class="cl-worksheet">\n{_body(blocks, links)}\n</div>'


def _scoped(line: str) -> str:
    """A rule of CSS with each of its selectors under `.cl-worksheet`."""
    if not line or line.startswith(" ") or "{" not in line:
        return line
    selectors, rule = line.split("{", 1)
    return ", ".join(f".cl-worksheet {sel.strip()}".rstrip() for sel in selectors.split(",")) + " {" + rule


def _names_only(page: b.Page) -> PageRefs:
    names = {}
    for blk in page.blocks:
        if isinstance(blk, b.Graph):
            names.update(blk.bundles)
        elif isinstance(blk, (b.Record, b.Inline, b.FileView, b.Link)) and blk.name:
            names[blk.bundle] = blk.name
    return PageRefs(tuple(BundleCard(bid, names.get(bid, f"0x{bid[:8]}")) for bid in bundle_ids(page)))


# --- blocks, with the conflicts a merge left -------------------------------------------


def _body(blocks, links: _Links) -> str:
    """Blocks in order; the lines of a merge conflict open and close the
    boxes of its two sides, wherever they fall among the blocks."""
    out: list[str] = []
    side = None                           # None outside a conflict, else "a" or "b"
    labels = ("", "")
    for piece in _pieces(blocks):
        if isinstance(piece, tuple):
            marker = piece[0]
            if marker == "start" and side is None:
                labels = piece[1]
                side = "a"
                out.append('<section class="conflict"><p class="conflict-head">Conflict: two versions changed '
                           'this part differently; both are kept until the worksheet is edited '
                           "(<code>cl wedit</code>)</p>\n<div class=\"conflict-sides\">"
                           f'<div class="conflict-side side-a"><p class="conflict-label">version {_e(labels[0])}</p>')
            elif marker == "middle" and side == "a":
                side = "b"
                out.append('</div><div class="conflict-side side-b">'
                           f'<p class="conflict-label">version {_e(labels[1])}</p>')
            elif marker == "end" and side is not None:
                side = None
                out.append("</div></div></section>")
            continue
        out.append(_block(piece, links))
    if side is not None:
        out.append("</div></div></section>")
    return "\n".join(out)


def _pieces(blocks):
    """Blocks, with Markup cut at conflict marker lines into text and
    ("start", (label a, label b)) / ("middle",) / ("end",) markers.  A
    "=======" line is a marker only inside a conflict (elsewhere it is
    Markdown's heading underline)."""
    inside = False
    for blk in blocks:
        if not isinstance(blk, b.Markup):
            yield blk
            continue
        lines: list[str] = []
        for line in blk.text.split("\n"):
            marker = None
            if line.startswith(CONFLICT_START) and not inside:
                a, _, bside = line[len(CONFLICT_START):].partition(" | ")
                marker, inside = ("start", (a.strip(), bside.strip())), True
            elif line.strip() == CONFLICT_MIDDLE and inside:
                marker = ("middle",)
            elif line.strip() == CONFLICT_END and inside:
                marker, inside = ("end",), False
            if marker is None:
                lines.append(line)
                continue
            if any(ln.strip() for ln in lines):
                yield b.Markup("\n".join(lines))
            lines = []
            yield marker
        if any(ln.strip() for ln in lines):
            yield b.Markup("\n".join(lines))


def _ref(bid: str, name: str, links: _Links, with_id: bool = True) -> str:
    ident = f'<span class="id">0x{_e(bid[:8])}</span>' if with_id else ""
    href = links.bundle(bid)
    if href is None:
        return f'<span class="ref" title="0x{bid}">{_e(name)}</span>{ident}'
    return f'<a class="ref" href="{_e(href)}" title="0x{bid}">{_e(name)}</a>{ident}'


def _cell(value: str) -> str:
    try:
        float(value)
        return f'<td class="num">{_e(value)}</td>'
    except ValueError:
        return f"<td>{_e(value)}</td>"


def _worksheet_ref(links: _Links):
    def resolve(spec: str):
        card = links.refs.spec(spec)
        if card is None:
            return None
        label = card.name + (f": {card.title}" if card.title else "")
        return links.worksheet(card.id), label, f"worksheet 0x{card.id}"
    return resolve


def _block(blk, links: _Links) -> str:
    if isinstance(blk, b.Markup):
        return f'<div class="markup">\n{markdown.render(blk.text, _worksheet_ref(links))}\n</div>'
    if isinstance(blk, b.Table):
        return _table(blk, links)
    if isinstance(blk, b.Record):
        rows = "\n".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in blk.rows)
        card = links.card(blk.bundle)
        failed = _failure_text(card) if card and card.state in FAILED else ""
        problem = f'<tr class="failure"><td colspan="2">{_e(failed)}</td></tr>' if failed else ""
        return (f'<table class="record{" failed" if failed else ""}" data-bundle="0x{blk.bundle}">'
                f"<caption>{_ref(blk.bundle, blk.name, links)}</caption>\n{rows}\n{problem}</table>")
    if isinstance(blk, b.Inline):
        if not blk.bundle:  # a search's count or sum
            return f'<p class="inline">{_e(blk.value)}</p>'
        return (f'<p class="inline" data-bundle="0x{blk.bundle}">{_e(blk.value)} '
                f'<small>({_ref(blk.bundle, blk.name, links)} {_e(blk.genpath)})</small></p>')
    if isinstance(blk, b.FileView):
        return _file_view(blk, links)
    if isinstance(blk, b.Graph):
        names = ", ".join(_ref(bid, name, links) for bid, name in blk.bundles)
        plot = svg.line_plot(blk.series, blk.xlabel, blk.ylabel, blk.title) if blk.series else ""
        problem = f'<p class="problem">{_e(blk.error)}</p>' if blk.error else ""
        return (f'<figure class="graph">{plot}{problem}<figcaption>{_e(blk.genpath)} of {names}'
                "</figcaption></figure>")
    if isinstance(blk, b.Link):
        return f"<p>{_ref(blk.bundle, blk.text, links)}</p>"
    if isinstance(blk, b.WorksheetLink):
        label = _e(blk.name) + (f": {_e(blk.title)}" if blk.title else "")
        href = links.worksheet(blk.worksheet)
        if href:
            label = f'<a href="{_e(href)}">{label}</a>'
        return (f'<p class="worksheet-link" title="0x{blk.worksheet}">worksheet {label}'
                f'<span class="id">0x{blk.worksheet[:8]}</span></p>')
    if isinstance(blk, b.Problem):
        return f'<p class="problem">{_e(blk.message)}</p>'
    raise TypeError(blk)


def _table(blk: b.Table, links: _Links) -> str:
    """A row per bundle.  The column showing each row's name links it (and
    gains the id, unless a column already shows the id, which then links
    too); a table showing neither gets a first `bundle` column."""
    names = {r.bundle: (links.card(r.bundle).name if links.card(r.bundle) else None) for r in blk.rows}
    ncols = len(blk.headers)

    def column_of(test) -> int | None:
        return next((i for i in range(ncols) if blk.rows and all(i < len(r.cells) and test(r, r.cells[i])
                                                                  for r in blk.rows)), None)
    name_col = column_of(lambda r, c: c != "" and c == names[r.bundle])
    id_col = column_of(lambda r, c: len(c) >= 5 and c.startswith("0x") and r.bundle.startswith(c[2:]))
    extra = name_col is None and id_col is None
    headers = (("bundle",) if extra else ()) + tuple(blk.headers)
    head = "".join(f"<th>{_e(x)}</th>" for x in headers)
    rows = []
    for r in blk.rows:
        card = links.card(r.bundle)
        state = card.state if card else ""
        cells = []
        if extra:
            cells.append(f"<td>{_ref(r.bundle, names[r.bundle] or '0x' + r.bundle[:8], links)}</td>")
        for i, c in enumerate(r.cells):
            if i == name_col:
                cells.append(f"<td>{_ref(r.bundle, c, links, with_id=id_col is None)}</td>")
            elif c and c == state:
                cells.append(f'<td class="state-{_e(state)}">{_e(c)}</td>')
            elif i == id_col and links.bundle(r.bundle):
                cells.append(f'<td><a class="ref id-link" href="{_e(links.bundle(r.bundle))}">{_e(c)}</a></td>')
            else:
                cells.append(_cell(c))
        cls = f' class="{state}"' if state in FAILED else ""
        rows.append(f'<tr{cls} data-bundle="0x{r.bundle}" data-state="{_e(state)}">' + "".join(cells) + "</tr>")
        if state in FAILED:
            rows.append(f'<tr class="failure"><td colspan="{len(headers)}">{_e(_failure_text(card))}</td></tr>')
    return (f'<div class="scroll"><table class="bundles">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table></div>")


def _failure_text(card: BundleCard) -> str:
    text = f"{card.name} {card.state}"
    if card.exit_code not in (None, 0):
        text += f" (exit code {card.exit_code})"
    return text + (f": {card.failure}" if card.failure else "")


def _file_view(blk: b.FileView, links: _Links) -> str:
    where = f"{_ref(blk.bundle, blk.name, links)} {_e(blk.genpath)}"
    if blk.error:
        return f'<p class="problem">{_e(blk.error)} ({_ref(blk.bundle, blk.name, links)})</p>'
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


# --- the sections at the end ----------------------------------------------------------------


def _appendix(links: _Links) -> str:
    out = []
    if links.refs.bundles:
        out.append('<h2 class="appendix">Bundles on this page</h2>')
        out.extend(_bundle_section(c, links) for c in links.refs.bundles)
    if links.refs.worksheets:
        out.append('<h2 class="appendix">Worksheets referenced</h2>')
        for w in links.refs.worksheets:
            name = _e(w.name)
            if links.server:
                name = f'<a href="{_e(links.worksheet(w.id))}">{name}</a>'
            title = f": {_e(w.title)}" if w.title else ""
            out.append(f'<section class="worksheet-card" id="w-{w.id}"><h3>{name}{title}'
                       f'<span class="id">0x{w.id[:8]}</span></h3>'
                       f"<p>id 0x{w.id} · <code>cl print 0x{w.id[:8]} --html</code></p></section>")
    return "\n" + "\n".join(out) if out else ""


def _bundle_section(c: BundleCard, links: _Links) -> str:
    name = _e(c.name)
    if links.server:
        name = f'<a href="{_e(links.bundle(c.id))}">{name}</a>'
    fields: list[tuple[str, str]] = [("id", _e(f"0x{c.id}"))]
    if c.missing:
        fields.append(("", "not in this repository"))
    if c.kind:
        fields.append(("kind", _e(c.kind)))
    if c.state:
        fields.append(("state", f'<span class="state-{_e(c.state)}">{_e(c.state)}</span>'))
    if c.state in FAILED or c.failure:
        fields.append(("failure", f'<span class="problem">{_e(_failure_text(c))}</span>'))
    elif c.exit_code is not None:
        fields.append(("exit code", _e(c.exit_code)))
    if c.command:
        fields.append(("command", f"<code>{_e(c.command)}</code>"))
    if c.description:
        fields.append(("description", _e(c.description)))
    if c.dependencies:
        deps = []
        for key, parent, pname, path in c.dependencies:
            label = (f"{key}:" if key else "") + pname + (f"/{path}" if path else "")
            target = links.bundle(parent)
            deps.append(f'<a class="ref" href="{_e(target)}">{_e(label)}</a>' if target else _e(label))
        fields.append(("dependencies", ", ".join(deps)))
    if c.data_size is not None:
        fields.append(("size", _e(human_bytes(c.data_size))))
    if c.time is not None:
        fields.append(("time", _e(human_seconds(c.time))))
    if c.peak_memory is not None:
        fields.append(("peak memory", _e(human_bytes(c.peak_memory))))
    if c.created:
        fields.append(("created", _e(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.created / 1e9)))))
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields)
    cls = f" {c.state}" if c.state in FAILED else ""
    return (f'<section class="bundle-card{cls}" id="b-{c.id}"><h3>{name}<span class="id">0x{c.id[:8]}</span>'
            f"</h3><dl>{rows}</dl></section>")


def human_bytes(n: int) -> str:
    """1023 B, 1.5 KiB, 20.0 MiB (powers of 1024)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}"
    raise AssertionError


def human_seconds(s: float) -> str:
    """Under a second in ms (4.2 ms, 120 ms); then 1.5 s, 3 min 5 s, 2 h 10 min."""
    if s < 1:
        ms = s * 1000
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m} min {sec} s"
    hours, m = divmod(m, 60)
    return f"{hours} h {m} min"
