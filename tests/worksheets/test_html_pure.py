"""The pure HTML side: Markdown, the SVG plot, and the page."""

import base64
import re

from cl.worksheets import blocks as b
from cl.worksheets import markdown, svg
from cl.worksheets.html import render_page


def test_markdown_blocks_and_inline():
    out = markdown.render("# Title\n\nSome **bold**, *em*, `x<y` and [a link](https://example.org).\n\n"
                          "- one\n- two\n  - nested\n\n1. first\n2. second\n\n```\ncode <b>\n```\n\n> quote\n\n---\n")
    assert "<h1>Title</h1>" in out
    assert "<strong>bold</strong>" in out and "<em>em</em>" in out
    assert "<code>x&lt;y</code>" in out
    assert '<a href="https://example.org">a link</a>' in out
    assert re.search(r"<ul>\s*<li>one</li>\s*<li>two\s*<ul>\s*<li>nested</li>", out)
    assert re.search(r"<ol>\s*<li>first</li>\s*<li>second</li>", out)
    assert "<pre><code>code &lt;b&gt;\n</code></pre>" in out
    assert "<blockquote>" in out and "<hr>" in out


def test_markdown_escapes_html_and_refuses_script_links():
    out = markdown.render("<script>alert(1)</script> [x](javascript:alert) ![i](data:x)")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "javascript:" not in out.split("&lt;")[0] or 'href="javascript' not in out
    assert 'href="javascript' not in out and 'src="data:x"' not in out


def test_markdown_tables_worksheet_refs_and_remote_images():
    out = markdown.render("| lr | err |\n| --- | ---: |\n| 0.1 | 0.2 |\n\n"
                          "![plot](https://example.org/p.png) ![local](plots/p.png) See {{a}} and {{b}}.",
                          lambda spec: ("#w-1", "A", "worksheet 0x1") if spec == "a" else None)
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>lr</th>\s*<th style=\"text-align:right\">err</th>", out)
    assert '<a class="remote-image" href="https://example.org/p.png">plot</a>' in out
    assert '<img src="plots/p.png" alt="local">' in out
    assert '<a class="worksheet-ref" href="#w-1" title="worksheet 0x1">A</a>' in out
    assert '<span class="worksheet-ref missing" title="no worksheet b here">{{b}}</span>' in out


def test_ticks_are_round_and_cover_the_range():
    t = svg.ticks(0.13, 0.87)
    assert t[0] <= 0.13 and t[-1] >= 0.87
    steps = {round(b - a, 9) for a, b in zip(t, t[1:])}
    assert len(steps) == 1 and steps.pop() in (0.1, 0.2, 0.25)


def test_line_plot_draws_one_polyline_per_series():
    s1 = b.Series("a", (1, 2, 3), (5, 3, 1))
    s2 = b.Series("b", (1, 2, 3), (6, 4, 2))
    out = svg.line_plot((s1, s2), "epoch", "loss", "Loss")
    assert out.startswith("<svg") and out.endswith("</svg>")
    assert out.count("<polyline") == 2
    assert ">epoch<" in out and ">loss<" in out and ">Loss<" in out


def _page(*blocks):
    return b.Page(worksheet="ab" * 16, name="ws", title="T <1>", commit="c" * 64, version=None,
                  author="me", time=1_700_000_000 * 10**9, blocks=blocks)


def test_page_is_self_contained():
    png = b"\x89PNG\r\n\x1a\nfake"
    page = _page(b.Markup("# Hello"),
                 b.Table(("name", "error"), (b.TableRow("1" * 64, ("exp1", "0.250")),)),
                 b.FileView("image", "2" * 64, "exp1", "/plot.png", data=png, mime="image/png"),
                 b.FileView("html", "2" * 64, "exp1", "/v.html", data=b"<p>hi \"there\"</p>", mime="text/html"),
                 b.Graph("/curve.tsv", (("3" * 64, "exp1"),), (b.Series("exp1", (1, 2), (3, 4)),), "x", "y"),
                 b.Problem("no <such> thing"))
    out = render_page(page)
    assert out.startswith("<!DOCTYPE html>")
    assert "<title>T &lt;1&gt;</title>" in out
    assert "data:image/png;base64," + base64.b64encode(png).decode() in out
    assert 'sandbox=""' in out and "srcdoc=\"&lt;p&gt;hi &quot;there&quot;&lt;/p&gt;\"" in out
    assert "<svg" in out and "<polyline" in out
    assert "no &lt;such&gt; thing" in out
    assert "<script" not in out
    assert not re.search(r"(src|href)=\"(https?:)?//", out), "nothing may load from the network"
