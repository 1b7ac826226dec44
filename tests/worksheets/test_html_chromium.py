"""The HTML page of a worksheet opened in headless Chromium, offline: the
results table, the embedded image and the plot must appear; a failed run
is highlighted with its failure; a Markdown table is a table; the two sides
of a merge conflict are two boxes side by side; the page uses the window's
width; no script from the worksheet's text runs.  The screenshots are kept
under test-artifacts/."""

import re
from pathlib import Path

from cl.worksheets import edit, interpret, pagerefs
from cl.worksheets.html import render_page
from tests.worksheets import png
from tests.worksheets.builders import add_run

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MAGENTA = (255, 0, 255)
SERIES_BLUE = (0x1F, 0x77, 0xB4)


def _near(p, q, tol=12):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def test_page_in_headless_chromium(repo, chromium, tmp_path):
    image = png.solid(120, 60, MAGENTA)
    runs = [add_run(repo, f"exp{i}", {"stats.json": '{"train": {"errorRate": %s}}' % (0.05 * (i + 1)),
                                       "curve.tsv": "epoch\tloss\n" + "".join(f"{e}\t{(10 - e) * (i + 1)}\n"
                                                                              for e in range(1, 10)),
                                       "plot.png": image}) for i in range(3)]
    refs = "".join("{0x" + r + "}\n" for r in runs)
    text = ('% title "Error rates"\n# Results\nThree runs of *train.py*:\n'
            "% schema results\n% add name\n% add error /stats.json:train/errorRate %.3f\n"
            "% display table results\n" + refs +
            "% display image /plot.png\n{0x" + runs[0] + "}\n"
            "% display graph /curve.tsv title=Loss\n" + refs)
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, text, None)
    head, ws = repo.worksheet_head(wid)
    page_file = tmp_path / "worksheet.html"
    page = interpret.interpret(repo, ws, head, embed=True)
    page_file.write_text(render_page(page, pagerefs.collect(repo, page)))

    dom = chromium.dump_dom(page_file)
    assert "<h1>Error rates</h1>" in dom
    table = re.search(r'<table class="bundles">.*?</table>', dom, re.S).group(0)
    names = re.findall(r'<a class="ref" href="#b-([0-9a-f]{64})"[^>]*>([^<]*)</a><span class="id">0x([0-9a-f]{8})</span>',
                       table)
    assert names == [(r, f"exp{i}", r[:8]) for i, r in enumerate(runs)]
    assert re.findall(r'<td class="num">([^<]*)</td>', table) == ["0.050", "0.100", "0.150"]
    assert re.search(r'<img class="bundle-image" src="data:image/png;base64,', dom)
    assert dom.count("<polyline") == 3

    ARTIFACTS.mkdir(exist_ok=True)
    shot = chromium.screenshot(page_file, ARTIFACTS / "worksheet-page.png", size=(1100, 1200))
    _, _, pixels = png.pixels(shot.read_bytes())
    assert sum(1 for p in pixels if _near(p, MAGENTA, 4)) >= 120 * 60 * 0.9, "the embedded image is drawn"
    assert sum(1 for p in pixels if _near(p, SERIES_BLUE)) > 200, "the first series of the plot is drawn"


RED_ROW = (0xFD, 0xEC, 0xEA)


def test_failures_conflicts_and_markdown_tables_in_chromium(repo, chromium, tmp_path):
    from cl.objects import value
    from cl.objects.types import Item
    from cl.refs.merge import merge_worksheets

    good = add_run(repo, "lr-0.01", {"x": "1"}, seconds=0.25, peak_memory=300 << 20)
    bad = add_run(repo, "lr-0.3", {"x": "1"}, state="failed", exit_code=1, failure="loss became NaN at epoch 3")
    wid = repo.current_worksheet()
    text = ("# Sweep\n\n| lr | verdict |\n| --- | --- |\n| 0.01 | fine |\n| 0.3 | diverged |\n\n"
            "Notes: <script>document.title = 'pwned'</script><img src=x onerror=\"document.title='pwned'\">\n\n"
            "% display table default\n{0x" + good + "}\n{0x" + bad + "}\n\nThe plan: more epochs\n")
    edit.save_text(repo, wid, text, None)
    base_id, base = repo.worksheet_head(wid)

    def side(line, author, t):
        items = tuple(Item("markup", line) if i.value == "The plan: more epochs" else i for i in base.items)
        return value.replace(base, items=items, author=author, time=base.time + t, parents=(base_id,))
    merged = merge_worksheets(base, ("a" * 64, side("The plan: a smaller learning rate", "alice", 1)),
                              ("b" * 64, side("The plan: gradient clipping", "bob", 2)))
    page = interpret.interpret(repo, merged, "c" * 64, embed=True)
    page_file = tmp_path / "sweep.html"
    page_file.write_text(render_page(page, pagerefs.collect(repo, page)))

    dom = chromium.dump_dom(page_file)
    assert "<title>pwned</title>" not in dom and "<script>" not in dom.split("</head>")[1]
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>lr</th>\s*<th>verdict</th>", dom)
    assert f'<tr class="failed" data-bundle="0x{bad}" data-state="failed">' in dom
    assert "lr-0.3 failed (exit code 1): loss became NaN at epoch 3" in dom
    assert "<dd>250 ms</dd>" in dom and "<dd>300.0 MiB</dd>" in dom
    assert dom.count('class="conflict-side side-') == 2

    ARTIFACTS.mkdir(exist_ok=True)
    width = 1600
    shot = chromium.screenshot(page_file, ARTIFACTS / "worksheet-failures-conflict.png", size=(width, 1000))
    w, _, pixels = png.pixels(shot.read_bytes())
    rows = [pixels[i:i + w] for i in range(0, len(pixels), w)]
    red = [y for y, row in enumerate(rows) if sum(1 for p in row if _near(p, RED_ROW, 3)) > 300]
    assert red, "the failed run's row is highlighted"
    # the page uses the window: the conflict's box reaches near its right edge (it stopped at 1100 px)
    amber = (0xE0, 0xA8, 0x00)
    assert any(_near(p, amber, 8) for row in rows for p in row[width - 80:]), "the conflict box spans the page"
    sides = [x for row in rows for x, p in enumerate(row) if _near(p, (0x15, 0x65, 0xC0), 8) or _near(p, (0x8E, 0x24, 0xAA), 8)]
    assert min(sides) < width // 4 and max(sides) > width // 2, "the two sides stand side by side"
