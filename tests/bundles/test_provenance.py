"""`cl ancestors` / `cl descendants` as a library: the graph from the index
and its nested-list, JSON, DOT and Mermaid forms."""

import json

import pytest

from cl.bundles import provenance as pv
from cl.bundles.maintenance import reindex
from cl.objects.value import replace
from cl.repo import Repository

from .provenance_support import add_run, add_upload


@pytest.fixture
def repo(tmp_path):
    r = Repository.init(str(tmp_path / "proj"))
    yield r
    r.close()


def s(bid) -> str:
    return bid.short


def test_the_tasks_example(repo):
    cnn = add_upload(repo, "cnn.py")
    mnist = add_upload(repo, "mnist")
    exp2 = add_run(repo, "exp2", [("cnn.py", cnn), ("data", mnist)],
                   command="python cnn.py data/train.dat data/test.dat")
    text = pv.tree_text(pv.graph(repo, exp2, pv.ANCESTORS))
    assert text == (f"- exp2({s(exp2)})\n"
                    f"  - cnn.py: cnn.py({s(cnn)})\n"
                    f"  - data: mnist({s(mnist)})")


@pytest.fixture
def diamond(repo):
    """mnist -> prep -> train -> eval, and eval also reads mnist and prep."""
    code = add_upload(repo, "code")
    mnist = add_upload(repo, "mnist")
    prep = add_run(repo, "prep", [("data", mnist, "train"), ("code", code)])
    train = add_run(repo, "train", [("data", prep), ("code", code)])
    ev = add_run(repo, "eval", [("data", mnist), ("model", train), ("prep", prep)])
    return dict(code=code, mnist=mnist, prep=prep, train=train, eval=ev)


def test_nested_ancestors_print_repeats_once_as_see_above(repo, diamond):
    d = diamond
    text = pv.tree_text(pv.graph(repo, d["eval"], pv.ANCESTORS))
    assert text.splitlines() == [
        f"- eval({s(d['eval'])})",
        f"  - data: mnist({s(d['mnist'])})",
        f"  - model: train({s(d['train'])})",
        f"    - code: code({s(d['code'])})",
        f"    - data: prep({s(d['prep'])})",
        f"      - code: code({s(d['code'])}) (see above)",
        f"      - data: mnist({s(d['mnist'])})/train (see above)",
        f"  - prep: prep({s(d['prep'])}) (see above)",
    ]


def test_descendants_nested_with_keys(repo, diamond):
    d = diamond
    text = pv.tree_text(pv.graph(repo, d["mnist"], pv.DESCENDANTS))
    assert text.splitlines() == [
        f"- mnist({s(d['mnist'])})",
        f"  - data: prep({s(d['prep'])})",
        f"    - data: train({s(d['train'])})",
        f"      - model: eval({s(d['eval'])})",
        f"    - prep: eval({s(d['eval'])}) (see above)",
        f"  - data: eval({s(d['eval'])}) (see above)",
    ]


def test_depth_cuts_and_marks_what_it_left_out(repo, diamond):
    d = diamond
    g = pv.graph(repo, d["eval"], pv.ANCESTORS, depth=1)
    assert g.cut == {d["train"], d["prep"]}
    assert pv.tree_text(g).splitlines() == [
        f"- eval({s(d['eval'])})",
        f"  - data: mnist({s(d['mnist'])})",
        f"  - model: train({s(d['train'])}) ...",
        f"  - prep: prep({s(d['prep'])}) ...",
    ]
    assert pv.tree_text(pv.graph(repo, d["eval"], pv.ANCESTORS, depth=0)) == f"- eval({s(d['eval'])}) ..."
    upload = pv.graph(repo, d["mnist"], pv.ANCESTORS, depth=0)
    assert pv.tree_text(upload) == f"- mnist({s(d['mnist'])})"


def test_a_bundle_first_met_at_the_depth_limit_is_expanded_higher_up(repo):
    a = add_upload(repo, "a")
    b = add_run(repo, "b", [("x", a)])
    c = add_run(repo, "c", [("x", b)])
    top = add_run(repo, "top", [("1", c), ("2", b)])
    lines = pv.tree_text(pv.graph(repo, top, pv.ANCESTORS, depth=2)).splitlines()
    assert lines == [
        f"- top({s(top)})",
        f"  - 1: c({s(c)})",
        f"    - x: b({s(b)}) ...",
        f"  - 2: b({s(b)})",
        f"    - x: a({s(a)})",
    ]


def test_a_bundle_without_relatives_is_one_line(repo):
    a = add_upload(repo, "alone")
    assert pv.tree_text(pv.graph(repo, a, pv.ANCESTORS)) == f"- alone({s(a)})"
    assert pv.tree_text(pv.graph(repo, a, pv.DESCENDANTS)) == f"- alone({s(a)})"


def test_deep_chains_stop_indenting_and_show_the_level(repo, monkeypatch):
    ids = [add_upload(repo, "c0")]
    for i in range(1, pv.MAX_INDENT + 4):
        ids.append(add_run(repo, f"c{i}", [("in", ids[-1])]))
    lines = pv.tree_text(pv.graph(repo, ids[-1], pv.ANCESTORS)).splitlines()
    assert len(lines) == len(ids)
    deepest = len(ids) - 1
    assert lines[-1] == "  " * pv.MAX_INDENT + f"- [{deepest}] in: c0({s(ids[0])})"
    assert lines[pv.MAX_INDENT].startswith("  " * pv.MAX_INDENT + "- in: ")
    assert max(len(line) for line in lines) < 2 * pv.MAX_INDENT + 40
    # what the commands print (the integer-keyed walk), by either read
    from cl.index import provenance as q
    monkeypatch.setattr(q, "SCAN_FRACTION", 10**9)
    for scan in (True, False):
        monkeypatch.setattr(q, "SCAN_MIN", 1 if scan else 10**9)
        for root, direction in ((ids[-1], pv.ANCESTORS), (ids[0], pv.DESCENDANTS)):
            assert pv.graph_text_of(repo, root, direction) == pv.tree_text(pv.graph(repo, root, direction))
    assert pv.graph_text_of(repo, ids[-1], pv.ANCESTORS).splitlines() == lines


def test_deleted_descendants_are_left_out_and_deleted_ancestors_marked(repo, diamond):
    d = diamond
    repo.update_state(d["eval"], lambda st: replace(st, deleted=True))
    down = pv.graph(repo, d["mnist"], pv.DESCENDANTS)
    assert d["eval"] not in down.nodes
    assert set(down.nodes) == {d["mnist"], d["prep"], d["train"]}
    repo.update_state(d["prep"], lambda st: replace(st, deleted=True))
    text = pv.tree_text(pv.graph(repo, d["train"], pv.ANCESTORS))
    assert f"- data: prep({s(d['prep'])}) (deleted)" in text


def test_an_edge_to_a_bundle_this_repository_lacks_is_marked_missing(repo):
    a = add_upload(repo, "a")
    run = add_run(repo, "r", [("in", a)])
    with repo.db.transaction():
        repo.db.execute("DELETE FROM bundles WHERE id = ?", (a,))
    g = pv.graph(repo, run, pv.ANCESTORS)
    assert g.nodes[a].missing
    assert pv.tree_text(g).splitlines()[1] == f"  - in: ?({s(a)}) (missing)"


def test_json_gives_nodes_levels_and_keyed_edges(repo, diamond):
    d = diamond
    doc = json.loads(pv.json_text(pv.graph(repo, d["eval"], pv.ANCESTORS)))
    assert doc["root"] == d["eval"].display and doc["direction"] == "ancestors"
    levels = {n["id"]: n["level"] for n in doc["nodes"]}
    assert levels == {d["eval"].display: 0, d["mnist"].display: 1, d["train"].display: 1,
                      d["prep"].display: 1, d["code"].display: 2}
    names = {n["id"]: n["name"] for n in doc["nodes"]}
    assert names[d["train"].display] == "train"
    edges = {(e["parent"], e["child"], e["key"], e["path"]) for e in doc["edges"]}
    assert (d["mnist"].display, d["prep"].display, "data", "train") in edges
    assert len(edges) == 7


def test_dot_and_mermaid_name_every_node_and_keyed_edge(repo, diamond):
    d = diamond
    g = pv.graph(repo, d["eval"], pv.ANCESTORS)
    dot = pv.dot_text(g)
    assert dot.startswith("digraph ancestors {") and dot.endswith("}")
    assert f'"{d["mnist"].display}" -> "{d["prep"].display}" [label="data (train)"];' in dot
    assert f'"{d["eval"].display}" [label="eval\\n{s(d["eval"])}", style=bold];' in dot
    assert dot.count(" -> ") == 7
    mer = pv.mermaid_text(g)
    assert mer.splitlines()[0] == "flowchart LR"
    assert f'n0["eval {s(d["eval"])}"]' in mer
    assert mer.count(" --> ") + mer.count(" -->|") == 7
    assert '-->|"model"| n0' in mer


def test_quotes_in_names_are_escaped(repo):
    a = add_upload(repo, 'say"hi')
    r = add_run(repo, "r", [("in", a)])
    g = pv.graph(repo, r, pv.ANCESTORS)
    assert 'label="say\\"hi\\n' in pv.dot_text(g)
    assert '["say#quot;hi ' in pv.mermaid_text(g)


def test_same_answers_after_reindex(repo, diamond):
    d = diamond
    before = {(b, direction): (pv.tree_text(pv.graph(repo, b, direction)), pv.json_text(pv.graph(repo, b, direction)))
              for b in d.values() for direction in (pv.ANCESTORS, pv.DESCENDANTS)}
    reindex(repo)
    after = {(b, direction): (pv.tree_text(pv.graph(repo, b, direction)), pv.json_text(pv.graph(repo, b, direction)))
             for b in d.values() for direction in (pv.ANCESTORS, pv.DESCENDANTS)}
    assert after == before


def test_descendants_do_not_pass_through_a_deleted_bundle(repo, diamond):
    """`cl rm --force` can delete a bundle others depend on: what is reached
    only through it is no longer a descendant, as Index.dependents sees it."""
    d = diamond
    repo.update_state(d["prep"], lambda st: replace(st, deleted=True))
    g = pv.graph(repo, d["mnist"], pv.DESCENDANTS)
    assert set(g.nodes) == {d["mnist"], d["eval"]}
    assert [(e.parent, e.child) for e in g.edges] == [(d["mnist"], d["eval"])]
    shallow = pv.graph(repo, d["mnist"], pv.DESCENDANTS, depth=5)
    assert set(shallow.nodes) == set(g.nodes)


@pytest.mark.parametrize("scan", [True, False])
def test_a_list_read_while_another_process_adds_a_bundle_is_one_snapshot(repo, monkeypatch, scan):
    """The nested list of a whole closure is read in several statements;
    a bundle another connection indexes between them must be in all of
    them or in none (here, none: it came after the first)."""
    from cl.index import provenance as q
    monkeypatch.setattr(q, "SCAN_MIN", 1 if scan else 10**9)
    monkeypatch.setattr(q, "SCAN_FRACTION", 10**9)
    top = add_upload(repo, "top")
    mid = add_run(repo, "mid", [("in", top)])
    other = Repository(repo.root)
    late = []
    real = repo.db.execute

    def execute(sql, params=()):
        cursor = real(sql, params)
        if not late and "FROM nodes" in sql and "CASE" in sql:  # the first read of the closure's heads
            late.append(add_run(other, "late", [("in", top)]))
        return cursor

    monkeypatch.setattr(repo.db, "execute", execute)
    try:
        text = pv.graph_text_of(repo, top, pv.DESCENDANTS)
    finally:
        other.close()
    assert late
    assert text == f"- top({s(top)})\n  - in: mid({s(mid)})"
