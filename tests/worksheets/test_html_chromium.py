"""The HTML page of a worksheet opened in headless Chromium, offline: the
results table, the embedded image and the plot must appear.  The
screenshot is kept under test-artifacts/."""

import re
from pathlib import Path

from cl.worksheets import edit, interpret
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
    page_file.write_text(render_page(interpret.interpret(repo, ws, head, embed=True)))

    dom = chromium.dump_dom(page_file)
    assert "<h1>Error rates</h1>" in dom
    table = re.search(r'<table class="bundles">.*?</table>', dom, re.S).group(0)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert cells == ["exp0", "0.050", "exp1", "0.100", "exp2", "0.150"]
    assert re.search(r'<img class="bundle-image" src="data:image/png;base64,', dom)
    assert dom.count("<polyline") == 3

    ARTIFACTS.mkdir(exist_ok=True)
    shot = chromium.screenshot(page_file, ARTIFACTS / "worksheet-page.png", size=(1100, 1200))
    _, _, pixels = png.pixels(shot.read_bytes())
    assert sum(1 for p in pixels if _near(p, MAGENTA, 4)) >= 120 * 60 * 0.9, "the embedded image is drawn"
    assert sum(1 for p in pixels if _near(p, SERIES_BLUE)) > 200, "the first series of the plot is drawn"
