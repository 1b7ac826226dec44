"""`cl print --html` pages of a real repository (library level): links to
each bundle's section or a server's pages, short ids, failed runs with
their failure, human units, `{{WS}}` in text, and a merge conflict as two
marked sides."""

import re
from html.parser import HTMLParser

import pytest

from cl.errors import InputError
from cl.objects import value
from cl.objects.types import Item
from cl.refs.merge import merge_worksheets
from cl.worksheets import edit, interpret, pagerefs
from cl.worksheets.html import human_bytes, human_seconds, render_page, server_base
from tests.worksheets.builders import add_dataset, add_run


def page_html(repo, server=None, text=None):
    wid = repo.current_worksheet()
    if text is not None:
        edit.save_text(repo, wid, text, None)
    head, ws = repo.worksheet_head(wid)
    page = interpret.interpret(repo, ws, head, embed=True)
    return render_page(page, pagerefs.collect(repo, page), server)


class Tree(HTMLParser):
    """Checks that every element opened is closed in order (void elements
    aside) and records ids and hrefs."""

    VOID = {"meta", "img", "br", "hr", "input", "link", "polyline", "circle", "line", "path", "rect"}

    def __init__(self, text):
        super().__init__()
        self.stack, self.ids, self.hrefs, self.errors = [], set(), [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def test_every_name_links_to_its_section_with_the_short_id(repo):
    data = add_dataset(repo, "corpus", {"a.txt": "a\n"})
    ok = add_run(repo, "train-ok", {"stats.json": "{}"}, deps=(("data", data, ""),), seconds=0.12,
                 peak_memory=3 * 1024 * 1024 // 2)
    text = (f"% display table default\n{{0x{data}}}\n{{0x{ok}}}\n% display record\n{{0x{ok}}}\n"
            f"% display link\n{{0x{data}}}\n")
    out = page_html(repo, text=text)
    tree = Tree(out)
    assert not tree.errors and tree.stack == []
    for bid in (data, ok):
        assert f"b-{bid}" in tree.ids                       # the section is there
        assert f"#b-{bid}" in tree.hrefs                    # and names link to it
    row = re.search(r'<tr data-bundle="0x%s".*?</tr>' % ok, out, re.S).group(0)
    assert f'<a class="ref" href="#b-{ok}" title="0x{ok}">train-ok</a>' in row
    assert f'href="#b-{ok}">0x{ok[:6]}</a>' in row          # the uuid column links too
    assert "<td>120ms</td>" in row and '<td class="state-ready">ready</td>' in row
    section = re.search(r'<section class="bundle-card" id="b-%s">.*?</section>' % ok, out, re.S).group(0)
    assert "<dd>120 ms</dd>" in section and "<dd>1.5 MiB</dd>" in section   # time, peak memory
    assert f'<a class="ref" href="#b-{data}">data:corpus</a>' in section     # its dependency links
    assert "<dd>ready</dd>" not in section and 'class="state-ready"' in section


def test_with_a_server_names_link_to_its_pages(repo):
    run = add_run(repo, "r", {"x": "1"})
    out = page_html(repo, server="https://ws.example.org", text="{0x%s}\n{{main}}\n" % run)
    assert f'href="https://ws.example.org/bundles/0x{run}"' in out
    wid = repo.current_worksheet()
    assert f'href="https://ws.example.org/worksheets/0x{wid}"' in out
    assert f'href="#b-{run}"' not in out


def test_failed_and_killed_rows_are_marked_with_their_failure(repo):
    good = add_run(repo, "good", {"x": "1"})
    bad = add_run(repo, "bad", {"x": "1"}, state="failed", exit_code=2,
                  failure="command exited with code 2 <oops>")
    killed = add_run(repo, "stopped", {"x": "1"}, state="killed", failure="killed by cl kill")
    out = page_html(repo, text="{0x%s}\n{0x%s}\n{0x%s}\n" % (good, bad, killed))
    assert f'<tr data-bundle="0x{good}" data-state="ready">' in out
    assert f'<tr class="failed" data-bundle="0x{bad}" data-state="failed">' in out
    assert f'<tr class="killed" data-bundle="0x{killed}" data-state="killed">' in out
    failures = re.findall(r'<tr class="failure"><td colspan="(\d+)">([^<]*)</td></tr>', out)
    ncols = len(re.search(r"<thead><tr>(.*?)</tr></thead>", out).group(1).split("</th>")) - 1
    assert failures == [(str(ncols), "bad failed (exit code 2): command exited with code 2 &lt;oops&gt;"),
                        (str(ncols), "stopped killed: killed by cl kill")]


def test_a_table_without_names_gets_a_bundle_column(repo):
    run = add_run(repo, "r", {"stats.json": '{"err": 0.5}'})
    out = page_html(repo, text="% schema s\n% add err /stats.json:err\n% display table s\n{0x" + run + "}\n")
    assert "<thead><tr><th>bundle</th><th>err</th></tr></thead>" in out
    assert f'<td><a class="ref" href="#b-{run}" title="0x{run}">r</a><span class="id">0x{run[:8]}</span></td>' in out


def test_worksheet_names_in_text_are_links(repo):
    from cl.worksheets import ops
    other = ops.create(repo, "results-2024", title="The results", link=False)
    out = page_html(repo, text="See {{results-2024}} and {{nosuch}}, not `{{code}}`.\n")
    assert (f'<a class="worksheet-ref" href="#w-{other}" title="worksheet 0x{other}">'
            "results-2024: The results</a>") in out
    assert '<span class="worksheet-ref missing" title="no worksheet nosuch here">{{nosuch}}</span>' in out
    assert "<code>{{code}}</code>" in out
    assert f'id="w-{other}"' in out                       # the section it links to


def test_a_merge_conflict_is_two_marked_sides(repo):
    """Two people changed the same line: the merged worksheet keeps both
    between marker lines; the page shows them as two boxes, not as one
    paragraph with a heading made of '======='."""
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, "Intro\n\nThe learning rate is 0.1\n\nEnd\n", None)
    base_id, base = repo.worksheet_head(wid)

    def side(text, author, t):
        changed = tuple(Item(i.kind, text) if i.value == "The learning rate is 0.1" else i for i in base.items)
        return value.replace(base, items=changed, author=author, time=base.time + t, parents=(base_id,))
    a, b = side("The learning rate is 0.3", "alice", 1), side("The learning rate is 0.01", "bob", 2)
    merged = merge_worksheets(base, ("a" * 64, a), ("b" * 64, b))
    page = interpret.interpret(repo, merged, "c" * 64, embed=True)
    out = render_page(page, pagerefs.collect(repo, page))
    tree = Tree(out)
    assert not tree.errors and tree.stack == []
    conflict = re.search(r'<section class="conflict">.*?</section>', out, re.S).group(0)
    sides = re.findall(r'<div class="conflict-side side-(a|b)"><p class="conflict-label">version ([^<]*)</p>'
                       r"(.*?)</div>", conflict, re.S)
    assert [(s, label) for s, label, _ in sides] == [("a", "0xaaaaaa (alice)"), ("b", "0xbbbbbb (bob)")]
    assert "0.3" in sides[0][2] and "0.01" not in sides[0][2]
    assert "0.01" in sides[1][2] and "0.3" not in sides[1][2]
    assert "=======" not in out and "&lt;&lt;&lt;" not in out and "<h1>The" not in out
    assert out.index("Intro") < out.index('<section class="conflict">') < out.index("End")


def test_a_line_of_equals_outside_a_conflict_is_markdown():
    from cl.worksheets import blocks as b
    page = b.Page("ab" * 16, "ws", "", "c" * 64, None, "me", 0,
                  (b.Markup("Heading\n=======\n\n>>>>>>> end of conflict"),))
    out = render_page(page)
    assert "<h1>Heading</h1>" in out and 'class="conflict' not in out


def test_units():
    assert [human_bytes(n) for n in (0, 1023, 1536, 20 * 1024 ** 2, 3 * 1024 ** 3)] == \
        ["0 B", "1023 B", "1.5 KiB", "20.0 MiB", "3.0 GiB"]
    assert [human_seconds(s) for s in (0.0042, 0.12, 0.9996, 1.5, 185, 7800)] == \
        ["4.2 ms", "120 ms", "1000 ms", "1.5 s", "3 min 5 s", "2 h 10 min"]


@pytest.mark.parametrize("bad", ["ftp://x", "example.org", "https://", "http://x/?a=1", "javascript:alert(1)"])
def test_server_must_be_an_http_address(bad):
    with pytest.raises(InputError, match="--server needs an http"):
        server_base(bad)
    assert server_base("https://ws.example.org/") == "https://ws.example.org"
