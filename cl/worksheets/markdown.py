"""Worksheet text as HTML (pure), by markdown-it-py: CommonMark plus
tables and ~~strikethrough~~.  Raw HTML in the text is shown as text,
never passed through, so a worksheet cannot put script into the page;
links and images keep markdown-it's safe schemes (no `javascript:`,
`vbscript:`, `file:`, and `data:` only for images), and an image on
another host is a link to it, so the page fetches nothing when opened.

`{{WS}}` inside text is a reference to a worksheet, as on CodaLab: it
becomes a link through the `worksheet_ref` callback the caller passes
(`WS` -> (href or None, label, tooltip), or None when no worksheet has that
name: then the reference is shown as typed, marked as missing).

markdown-it-py is imported on first use: quick commands never load it."""

import html
import re
from typing import Callable

WS_REF = re.compile(r"\{\{([^{}\n]+?)\}\}")
"""`{{WS}}`: what the page's collector looks for (cl/worksheets/pagerefs.py)."""

WorksheetRef = Callable[[str], tuple[str | None, str, str] | None]

_parser = None


def render(text: str, worksheet_ref: WorksheetRef | None = None) -> str:
    return _md().render(text, {"worksheet_ref": worksheet_ref})


def worksheet_specs(text: str) -> list[str]:
    """The `WS` of every `{{WS}}` in a text (code spans included: a
    reference resolved and never shown costs nothing)."""
    return [m[1].strip() for m in WS_REF.finditer(text)]


def _md():
    global _parser
    if _parser is None:
        from markdown_it import MarkdownIt
        md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False})
        md.enable(["table", "strikethrough"])
        md.inline.ruler.before("link", "worksheet_ref", _ws_ref_rule)
        md.add_render_rule("worksheet_ref", _ws_ref_html)
        md.add_render_rule("image", _image_html)
        _parser = md
    return _parser


def _ws_ref_rule(state, silent: bool) -> bool:
    if not state.src.startswith("{{", state.pos):
        return False
    m = WS_REF.match(state.src, state.pos)
    if m is None:
        return False
    if not silent:
        token = state.push("worksheet_ref", "a", 0)
        token.meta = {"spec": m[1].strip(), "typed": m[0]}
    state.pos = m.end()
    return True


def _ws_ref_html(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta
    resolve = env.get("worksheet_ref")
    found = resolve(meta["spec"]) if resolve else None
    if found is None:
        return (f'<span class="worksheet-ref missing" title="no worksheet {_e(meta["spec"])} here">'
                f"{_e(meta['typed'])}</span>")
    href, label, title = found
    if href is None:
        return f'<span class="worksheet-ref" title="{_e(title)}">{_e(label)}</span>'
    return f'<a class="worksheet-ref" href="{_e(href)}" title="{_e(title)}">{_e(label)}</a>'


def _image_html(self, tokens, idx, options, env) -> str:
    """An image inside the page (a relative path, an allowed `data:`
    image) stays an image; one on another host becomes a link to it, so
    opening the page fetches nothing from the network."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    if re.match(r"\s*([a-z][a-z0-9+.-]*:|//)", src, re.I) and not src.lower().startswith("data:image/"):
        alt = self.renderInlineAsText(token.children or [], options, env)
        return f'<a class="remote-image" href="{_e(src)}">{_e(alt or src)}</a>'
    return self.image(tokens, idx, options, env)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
