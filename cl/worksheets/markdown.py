"""A small Markdown renderer for worksheet text in the HTML page (pure):
ATX headings, paragraphs, emphasis and strong, inline code, fenced and
indented code blocks, bullet and numbered lists (nested by indentation),
block quotes, horizontal rules, links and images.  Everything is escaped;
links keep only safe schemes (http, https, mailto, relative, #anchor).

Enough for lab notes; not CommonMark.  No dependency is needed for it."""

import html
import re

_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*\Z")
_FENCE = re.compile(r"(```+|~~~+)\s*([\w+-]*)\s*\Z")
_BULLET = re.compile(r"(\s*)([-*+])\s+(.*)\Z")
_ORDERED = re.compile(r"(\s*)(\d{1,9})[.)]\s+(.*)\Z")
_RULE = re.compile(r"\s{0,3}([-*_])(\s*\1){2,}\s*\Z")
_QUOTE = re.compile(r"\s{0,3}>\s?(.*)\Z")
_SAFE_URL = re.compile(r"(https?:|mailto:|#|/|\./|\.\./|[\w.-]+(/|\Z|#|\?))", re.I)


def render(text: str) -> str:
    return "\n".join(_blocks(text.replace("\r\n", "\n").split("\n")))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = _FENCE.match(line.strip())
        if m and len(line) - len(line.lstrip()) < 4:
            fence, lang = m[1], m[2]
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence[:3] if fence[0] == "`" else fence):
                body.append(lines[i])
                i += 1
            i += 1
            cls = f' class="language-{html.escape(lang)}"' if lang else ""
            out.append(f"<pre><code{cls}>" + html.escape("\n".join(body)) + "</code></pre>")
            continue
        if line.startswith("    ") or line.startswith("\t"):
            body = []
            while i < len(lines) and (lines[i].startswith(("    ", "\t")) or not lines[i].strip()):
                body.append(lines[i][4:] if lines[i].startswith("    ") else lines[i][1:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out.append("<pre><code>" + html.escape("\n".join(body)) + "</code></pre>")
            continue
        m = _HEADING.match(line.strip())
        if m and len(line) - len(line.lstrip()) < 4:
            n = len(m[1])
            out.append(f"<h{n}>{inline(m[2])}</h{n}>")
            i += 1
            continue
        if _RULE.match(line):
            out.append("<hr>")
            i += 1
            continue
        if _QUOTE.match(line):
            body = []
            while i < len(lines) and lines[i].strip() and _QUOTE.match(lines[i]):
                body.append(_QUOTE.match(lines[i])[1])
                i += 1
            out.append("<blockquote>\n" + "\n".join(_blocks(body)) + "\n</blockquote>")
            continue
        if _BULLET.match(line) or _ORDERED.match(line):
            html_list, i = _list(lines, i)
            out.append(html_list)
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
            para.append(lines[i].strip())
            i += 1
        out.append("<p>" + "<br>\n".join(_para_lines(para)) + "</p>")
    return out


def _para_lines(para: list[str]) -> list[str]:
    """A paragraph's lines joined by spaces (Markdown's soft breaks)."""
    return [inline(" ".join(para))]


def _starts_block(line: str) -> bool:
    s = line.strip()
    return bool(_HEADING.match(s) or _FENCE.match(s) or _BULLET.match(line) or _ORDERED.match(line)
                or _RULE.match(line) or _QUOTE.match(line))


def _list(lines: list[str], i: int) -> tuple[str, int]:
    first = _BULLET.match(lines[i]) or _ORDERED.match(lines[i])
    indent = len(first[1])
    ordered = _ORDERED.match(lines[i]) is not None and not _BULLET.match(lines[i])
    tag = "ol" if ordered else "ul"
    start = ""
    if ordered and int(first[2]) != 1:
        start = f' start="{int(first[2])}"'
    items: list[list[str]] = []
    while i < len(lines):
        line = lines[i]
        m = _BULLET.match(line) or _ORDERED.match(line)
        if m and len(m[1]) == indent and (_ORDERED.match(line) is not None) == ordered and not (
                ordered and _BULLET.match(line)):
            items.append([m[3]])
            i += 1
        elif line.strip() and items and (len(line) - len(line.lstrip()) > indent):
            items[-1].append(line[indent + 2:] if line.startswith(" " * (indent + 2)) else line.strip())
            i += 1
        elif not line.strip() and i + 1 < len(lines) and items and (
                len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent):
            items[-1].append("")
            i += 1
        else:
            break
    parts = []
    for body in items:
        if len(body) == 1:
            parts.append(f"<li>{inline(body[0])}</li>")
        else:
            head, rest = body[0], body[1:]
            sub = [ln for ln in rest]
            inner = _blocks(sub)
            parts.append(f"<li>{inline(head)}\n" + "\n".join(inner) + "</li>")
    return f"<{tag}{start}>\n" + "\n".join(parts) + f"\n</{tag}>", i


# --- inline --------------------------------------------------------------------------

_CODE = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)(?:\s+\"([^\"]*)\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]*)(?:\s+\"([^\"]*)\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM = re.compile(r"(?<![\w*])(\*|_)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def _url(url: str) -> str | None:
    return html.escape(url, quote=True) if _SAFE_URL.match(url) else None


def inline(text: str) -> str:
    """Inline Markdown to HTML.  Code spans are cut out first so nothing
    inside them is interpreted; the rest is escaped, then marked up."""
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x00"

    text = _CODE.sub(lambda m: keep("<code>" + html.escape(m[2].strip()) + "</code>"), text)

    def image(m):
        url = _url(m[2])
        if url is None:
            return keep(html.escape(m[0]))
        title = f' title="{html.escape(m[3])}"' if m[3] else ""
        return keep(f'<img src="{url}" alt="{html.escape(m[1])}"{title}>')

    def link(m):
        url = _url(m[2])
        if url is None:
            return keep(html.escape(m[1]))
        title = f' title="{html.escape(m[3])}"' if m[3] else ""
        return keep(f'<a href="{url}"{title}>') + m[1] + keep("</a>")

    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: keep(f'<a href="{html.escape(m[1])}">{html.escape(m[1])}</a>'), text)
    text = html.escape(text, quote=False)
    text = _STRONG.sub(lambda m: f"<strong>{m[2]}</strong>", text)
    text = _EM.sub(lambda m: f"<em>{m[2]}</em>", text)
    text = _STRIKE.sub(lambda m: f"<del>{m[1]}</del>", text)
    while "\x00" in text:
        text = re.sub(r"\x00(\d+)\x00", lambda m: slots[int(m[1])], text)
    return text
