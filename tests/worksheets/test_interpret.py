"""Interpretation of real worksheets in a real repository: schemas, genpaths
into the files of runs, post-processors, display modes, searches."""

from cl.worksheets import blocks as b
from cl.worksheets import edit, interpret
from cl.worksheets.genpaths import Reader
from cl.worksheets.schemas import parse_genpath
from tests.worksheets.builders import add_dataset, add_run


def save(repo, text, wid=None):
    wid = wid or repo.current_worksheet()
    edit.save_text(repo, wid, text, None)
    head, ws = repo.worksheet_head(wid)
    return interpret.interpret(repo, ws, head, embed=True)


def ref(bid):
    return "{0x" + bid + "}"


def test_table_reads_json_yaml_tsv_fields_with_post_processors(repo):
    r1 = add_run(repo, "exp1", {"stats.json": '{"train": {"errorRate": 0.123456}}',
                                "opts.yaml": "method: fast-method\n", "out.tsv": "acc\t0.9\n"})
    r2 = add_run(repo, "exp2", {"stats.json": '{"train": {"errorRate": 0.5}}',
                                "opts.yaml": "method: slow-method\n", "out.tsv": "acc\t0.7\n"})
    page = save(repo, f"""% schema mine
% add name
% add error /stats.json:train/errorRate %.3f
% add method /opts.yaml:method "s/-method// | [0:3]"
% add acc /out.tsv:acc
% add missing /nope.json:x
% display table mine
{ref(r1)}
{ref(r2)}
""")
    [table] = page.blocks
    assert table.headers == ("name", "error", "method", "acc", "missing")
    assert [r.cells for r in table.rows] == [("exp1", "0.123", "fas", "0.9", ""),
                                           ("exp2", "0.500", "slo", "0.7", "")]
    assert [r.bundle for r in table.rows] == [r1, r2]


def test_default_display_is_a_table_of_the_default_schema(repo):
    r = add_run(repo, "exp", {"stdout": "hello\n"}, seconds=185)
    page = save(repo, ref(r) + "\n")
    [table] = page.blocks
    assert table.headers == ("uuid", "name", "summary", "data_size", "time", "state", "description", "created")
    cells = dict(zip(table.headers, table.rows[0].cells))
    assert cells["uuid"] == "0x" + r[:6] and cells["name"] == "exp" and cells["time"] == "3m5s"
    assert cells["summary"] == "python train.py" and cells["state"] == "ready"


def test_markup_breaks_tables_and_modes_apply_until_changed(repo):
    d = add_dataset(repo, "data", {"a.txt": "1\n2\n3\n"})
    r = add_run(repo, "exp", {"stats.json": '{"e": 0.25}', "stdout": "\n".join(map(str, range(30))) + "\n"},
                deps=(("data", d, ""),))
    page = save(repo, f"""# Notes
{ref(d)}
text between
{ref(r)}
% display inline /stats.json:e
{ref(r)}
% display contents /stdout maxlines=3
{ref(r)}
% display contents /
{ref(d)}
% display record run
{ref(r)}
% display link "the run"
{ref(r)}
% display hidden
{ref(r)}
// a comment is never shown
""")
    kinds = [type(x).__name__ for x in page.blocks]
    assert kinds == ["Markup", "Table", "Markup", "Table", "Inline", "FileView", "FileView", "Record", "Link"]
    assert page.blocks[4].value == "0.25"
    contents = page.blocks[5]
    assert contents.lines == ("0", "1", "2") and contents.truncated
    assert page.blocks[6].lines == ("a.txt",)
    record = dict(page.blocks[7].rows)
    assert record["name"] == "exp" and record["summary"] == "python train.py"
    assert page.blocks[8].text == "the run"


def test_genpath_metadata_fields(repo):
    d = add_dataset(repo, "data", "x", description="the data")
    r = add_run(repo, "exp", {"f": "1"}, command="echo hi", deps=(("in", d, ""), ("sub", d, "a/b")))
    reader = Reader(repo)

    def value(bid, gp):
        return reader.value(bid, parse_genpath(gp))
    assert value(r, "uuid") == "0x" + r
    assert value(r, "command") == "echo hi"
    assert value(r, "dependencies") == "in:data sub:data/a/b"
    assert value(r, "dependencies/sub") == "data/a/b"
    assert value(r, "time") == 3.5
    assert value(r, "exit_code") == 0
    assert value(d, "description") == "the data"
    assert value(d, "kind") == "dataset"
    assert value(d, "data_size") == 1
    assert value(d, "no_such_field") is None
    assert value(r, "args").startswith("run --name exp")
    assert value(d, "/") == "x"


def test_running_run_reads_its_live_directory(repo):
    import os
    r = add_run(repo, "live", None, state="running")
    live = repo.path("runs", r)
    os.makedirs(live)
    with open(os.path.join(live, "stats.json"), "w") as f:
        f.write('{"step": 7}')
    assert Reader(repo).value(r, parse_genpath("/stats.json:step")) == 7


def test_graph_series_from_tsv(repo):
    runs = [add_run(repo, f"exp{i}", {"curve.tsv": f"epoch\tloss\tacc\n1\t{5 + i}\t0.1\n2\t{3 + i}\t0.2\n"})
            for i in range(2)]
    page = save(repo, "% display graph /curve.tsv y=loss title=Loss\n" + "".join(ref(r) + "\n" for r in runs))
    [graph] = page.blocks
    assert [s.label for s in graph.series] == ["exp0", "exp1"]
    assert graph.series[1].xs == (1.0, 2.0) and graph.series[1].ys == (6.0, 4.0)
    assert graph.xlabel == "epoch" and graph.ylabel == "loss" and graph.title == "Loss"
    assert graph.error is None


def test_image_is_loaded_only_for_embedding(repo):
    r = add_run(repo, "exp", {"plot.png": b"\x89PNG\r\n\x1a\nxx"})
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, "% display image /plot.png\n" + ref(r) + "\n", None)
    head, ws = repo.worksheet_head(wid)
    [img] = interpret.interpret(repo, ws, head, embed=True).blocks
    assert img.data == b"\x89PNG\r\n\x1a\nxx" and img.mime == "image/png"
    [img] = interpret.interpret(repo, ws, head, embed=False).blocks
    assert img.data is None


def test_missing_file_is_a_visible_problem_not_a_crash(repo):
    r = add_run(repo, "exp", {"a": "1"})
    page = save(repo, "% display image /nope.png\n" + ref(r) + "\n% display graph /nope.tsv\n" + ref(r) + "\n")
    assert page.blocks[0].error and "nope.png" in page.blocks[0].error
    assert page.blocks[1].error and not page.blocks[1].series


def test_search_directives_show_current_results(repo):
    add_dataset(repo, "alpha", "1", worksheet="")
    add_dataset(repo, "beta", "2", worksheet="")
    other = repo.new_worksheet("other", title="The other one")
    page = save(repo, "% display table dataset\n% search alpha\n% wsearch other\n")
    table, link = page.blocks
    assert [r.cells[1] for r in table.rows] == ["alpha"]
    assert isinstance(link, b.WorksheetLink) and link.worksheet == other and link.title == "The other one"


def test_worksheet_links_and_text_blocks(repo):
    other = repo.new_worksheet("other")
    page = save(repo, "line one\n\nline three\n{{other}}\n")
    assert page.blocks[0] == b.Markup("line one\n\nline three")
    assert page.blocks[1] == b.WorksheetLink(other, "other", "")


def test_search_counts_and_sums(repo):
    add_dataset(repo, "alpha", "12345", worksheet="")
    add_dataset(repo, "alps", "123", worksheet="")
    page = save(repo, "% search alp .count\n% search alp data_size=.sum\n")
    assert [(x.genpath, x.value) for x in page.blocks] == [("count", "2"), ("data_size=.sum", "8")]


def test_removed_worksheet_cannot_be_edited(repo):
    from cl.errors import CLError
    from cl.worksheets import ops
    other = repo.new_worksheet("other")
    ops.remove(repo, other)
    import pytest
    with pytest.raises(CLError, match="has been removed"):
        edit.save_text(repo, other, "text\n", None)


def test_bytes_and_seconds_without_a_post_processor_are_in_human_units(repo):
    """`% add memory peak_memory` showed 314572800; a post-processor given
    still wins (`%d` here)."""
    r = add_run(repo, "exp", {"f": "1"}, seconds=0.25, peak_memory=300 << 20)
    page = save(repo, "% schema s\n% add memory peak_memory\n% add time\n% add size data_size\n"
                      "% add raw peak_memory %d\n% display table s\n" + ref(r) + "\n")
    table = next(blk for blk in page.blocks if isinstance(blk, b.Table))
    assert table.rows[0].cells == ("300m", "250ms", "1", str(300 << 20))
