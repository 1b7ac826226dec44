"""Bounded fuzzing of what reads worksheet text and result files for
`cl print --html`: random Markdown (with raw HTML, `{{WS}}` references and
merge-conflict marker lines mixed in) never raises, never lets an element
or attribute through that runs script, and always gives a page whose
elements close in order; random bytes as a JSON/YAML/TSV genpath file give a
value or None, never an exception."""

import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.worksheets import blocks as b
from cl.worksheets import markdown, structured
from cl.worksheets.html import render_page
from tests.worksheets.test_html_page import Tree

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

meaningful = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:alert(1)'>x</a>",
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "![i](data:text/html,<script>)",
    "<javascript:alert(1)>", "![p](http://e.org/p.png)", "![p](//e.org/p.png)", "![p](p.png)", "<svg onload=alert(1)>", "{{", "}}", "{{ws}}", "{{<b>}}", "`", "```", "|",
    "| a | b |\n| - | - |\n| 1 | 2 |", "\n", "\n\n", "#", "*", "_", "~~", ">", "- ", "1. ", "    ",
    "=======", "<<<<<<< conflict: 0xaa (a) | 0xbb (b)", ">>>>>>> end of conflict", "&", "\"", "'",
    "\x00", "é", "\u202e",
])
texts = st.lists(st.one_of(meaningful, st.text(max_size=8)), max_size=25).map("".join)

BAD_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "link", "meta", "base", "form"}
BAD_URL = re.compile(r"\s*(javascript|vbscript|data:(?!image/(png|gif|jpeg|webp)))", re.I)


def dangers(html_text: str) -> list:
    """Elements and attributes, as a browser parses them, that could run script."""
    found = []

    class Check(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in BAD_TAGS:
                found.append(tag)
            for name, value in attrs:
                if name.startswith("on") or (name in ("href", "src") and BAD_URL.match(value or "")):
                    found.append((tag, name, value))
    Check().feed(html_text)
    return found


def _resolve(spec):
    return ("#w-1", spec, "worksheet 0x1") if spec == "ws" else None


@SETTINGS
@given(texts)
def test_markdown_never_passes_script_through(text):
    out = markdown.render(text, _resolve)
    assert not dangers(out), out
    assert not re.search(r'<img src="\s*(//|(?!data:image/)[a-z][a-z0-9+.-]*:)', out, re.I), out  # nothing fetched


@SETTINGS
@given(st.lists(st.one_of(texts.map(b.Markup), st.just(b.Problem("p")),
                          st.just(b.Link("ab" * 32, "n", "<t>"))), max_size=6))
def test_pages_of_any_text_are_well_formed(blocks):
    page = b.Page("ab" * 16, "ws", "t", "c" * 64, None, "me", 0, tuple(blocks))
    out = render_page(page, server=None)
    body = out.split("</style>", 1)[1]
    assert not dangers(body), body
    tree = Tree(out)
    assert not tree.errors and tree.stack == [], (tree.errors, tree.stack)
    assert body.count('<section class="conflict">') == body.count("</div></div></section>")


@SETTINGS
@given(st.one_of(st.binary(max_size=300), texts.map(str.encode)),
       st.sampled_from(["f.json", "f.yaml", "f.tsv", "f"]), st.sampled_from(["a", "a/b", "0", "x/1/y"]))
def test_structured_files_give_a_value_or_none(data, name, keypath):
    structured.extract(data, name, keypath)


def test_the_check_sees_script():
    assert dangers("<img src=x onerror=alert(1)>") and dangers("<a href=' javascript:x'>") \
        and dangers("<script>") and not dangers("<p>&lt;script&gt; onerror=</p>")


from cl.cli import output  # noqa: E402  (the ls colouring: a reader of table text)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
cells = st.one_of(st.sampled_from(list(output.STATE_STYLES) + ["state", "ready ", "", "  x"]),
                  st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10))


@SETTINGS
@given(st.lists(st.tuples(cells, cells, st.sampled_from(list(output.STATE_STYLES)), cells), max_size=12),
       st.text(max_size=20))
def test_ls_colours_only_the_state_column(rows, title):
    headers = ["id", "name", "state", "command"]
    columns = [[str(r[i]).strip() for r in rows] for i in range(4)]
    text = f"worksheet: {title}\n".replace("\n", " ", title.count("\n")) + output.table_columns(headers, columns)
    coloured = output.colour_states(text, headers)
    assert ANSI.sub("", coloured) == text
    lines = coloured.split("\n")
    at = next(i for i, line in enumerate(text.split("\n")) if line.split() == headers)
    for line, state in zip(lines[at + 1:], columns[2]):
        assert re.search(r"\x1b\[[0-9;]*m" + re.escape(state) + r"\x1b\[0m", line), (line, state)
