"""Property tests over random DAGs built in a real repository: the index's
closure queries agree with a brute-force walk, and the nested list prints
every edge of the closure exactly once."""

import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles import provenance as pv
from cl.objects.types import Bundle, Dependency
from cl.objects.value import replace
from cl.repo import new_nonce, now_ns
from cl.repo import Repository

from .provenance_support import add_run, add_upload, brute_ancestors, brute_descendants, build_dag


@st.composite
def dags(draw, max_nodes=12):
    n = draw(st.integers(1, max_nodes))
    parents = []
    for i in range(n):
        if i == 0:
            parents.append([])
            continue
        parents.append(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))))
    return parents


@pytest.fixture(scope="module")
def shared_repo():
    """One repository for all examples: each example's DAG is new bundles
    unconnected to earlier examples', so their closures do not mix."""
    d = tempfile.mkdtemp(prefix="cl-prov-")
    repo = Repository.init(d)
    yield repo
    repo.close()
    shutil.rmtree(d, ignore_errors=True)


def within(parents, i, depth, up):
    """Brute force: bundles at most `depth` edges away from i."""
    nxt = (lambda x: parents[x]) if up else (lambda x: [j for j in range(len(parents)) if x in parents[j]])
    seen = {i}
    frontier = [i]
    for _ in range(depth):
        frontier = [y for x in frontier for y in nxt(x) if y not in seen and not seen.add(y)]
    return seen - {i}


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(parents=dags(), data=st.data())
def test_closures_agree_with_a_brute_force_walk(shared_repo, parents, data):
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    index = {bid: i for i, bid in enumerate(ids)}
    for i, bid in enumerate(ids):
        up = pv.graph(repo, bid, pv.ANCESTORS)
        down = pv.graph(repo, bid, pv.DESCENDANTS)
        assert {index[b] for b in up.nodes} - {i} == brute_ancestors(parents, i)
        assert {index[b] for b in down.nodes} - {i} == brute_descendants(parents, i)
        assert {(index[e.parent], index[e.child]) for e in up.edges} == \
            {(p, c) for c in brute_ancestors(parents, i) | {i} for p in parents[c]}
    i = data.draw(st.integers(0, len(ids) - 1))
    depth = data.draw(st.integers(0, 4))
    for direction, up in ((pv.ANCESTORS, True), (pv.DESCENDANTS, False)):
        g = pv.graph(repo, ids[i], direction, depth)
        assert {index[b] for b in g.nodes} - {i} == within(parents, i, depth, up)


@SETTINGS
@given(parents=dags())
def test_the_nested_list_prints_each_edge_once_and_each_bundle_in_full_once(shared_repo, parents):
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    for direction in (pv.ANCESTORS, pv.DESCENDANTS):
        g = pv.graph(repo, ids[-1] if direction == pv.ANCESTORS else ids[0], direction)
        lines = pv.tree(g)
        assert len(lines) == 1 + len(g.edges)
        full = [line.node.id for line in lines if not line.repeat]
        assert sorted(full) == sorted(g.nodes)
        expanded_before = set()
        for line in lines:
            if line.repeat:
                assert line.node.id in expanded_before
            expanded_before.add(line.node.id)
        assert len(pv.tree_text(g).splitlines()) == len(lines)


@SETTINGS
@given(parents=dags(), data=st.data())
def test_descendants_follow_live_bundles_as_index_dependents_does(shared_repo, parents, data):
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    dead = data.draw(st.sets(st.integers(1, len(ids) - 1), max_size=3)) if len(ids) > 1 else set()
    for i in dead:
        repo.update_state(ids[i], lambda s: replace(s, deleted=True))
    for bid in (b for i, b in enumerate(ids) if i not in dead):
        seen, todo = {bid}, [bid]
        while todo:
            for child, _key in repo.index.dependents(todo.pop()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        assert set(pv.graph(repo, bid, pv.DESCENDANTS).nodes) == seen
        assert set(pv.graph(repo, bid, pv.DESCENDANTS, depth=len(ids)).nodes) == seen


def _add_edge(repo, child, key, parent, path):
    """An edge the index holds as `put_bundle` would have written it, in
    both the id-keyed and the integer-keyed tables."""
    with repo.db.transaction():
        repo.db.execute("INSERT OR REPLACE INTO deps (child, key, parent, path) VALUES (?, ?, ?, ?)",
                        (child, key, parent, path))
        repo.db.executemany("INSERT OR IGNORE INTO nodes (id) VALUES (?)", [(child,), (parent,)])
        repo.db.execute("INSERT OR REPLACE INTO edges (c, key, p, path) SELECT"
                        " (SELECT n FROM nodes WHERE id = ?), ?, (SELECT n FROM nodes WHERE id = ?), ?",
                        (child, key, parent, path))


def _forms(g):
    return pv.tree_text(g), pv.json_text(g), pv.dot_text(g), pv.mermaid_text(g), pv.tree(g)


@SETTINGS
@given(parents=dags(max_nodes=14), data=st.data())
def test_the_scan_gives_what_the_recursive_query_gives(shared_repo, parents, data, monkeypatch):
    """A closure read by scanning the whole edge table (the way for large
    closures) equals the recursive query's, edge for edge in the same order,
    and every printed form is the same, also with deleted bundles and a
    dependency this repository lacks."""
    from cl.index import provenance as q
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    dead = data.draw(st.sets(st.integers(0, len(ids) - 1), max_size=2))
    for i in dead:
        repo.update_state(ids[i], lambda s: replace(s, deleted=True))
    if data.draw(st.booleans()):  # a run whose dependency is not in this repository
        stranger = "f" * 63 + format(len(ids) % 16, "x")
        _add_edge(repo, ids[-1], "zz", stranger, "sub/dir")
    for bid in ids:
        for up in (True, False):
            assert q.closure_by_scan(repo.db, bid, up)[:3] == q.closure_by_query(repo.db, bid, up)[:3]
    for scan in (False, True):
        monkeypatch.setattr(q, "SCAN_MIN", 1 if scan else 10**9)
        monkeypatch.setattr(q, "SCAN_FRACTION", 10**9)
        forms = {(bid, d): _forms(pv.graph(repo, bid, d)) for bid in ids for d in (pv.ANCESTORS, pv.DESCENDANTS)}
        if scan:
            assert forms == by_query
        by_query = forms


@SETTINGS
@given(parents=dags(max_nodes=14), data=st.data())
def test_the_integer_keyed_list_is_the_graphs_nested_list(shared_repo, parents, data, monkeypatch):
    """The nested list of a whole closure read from the integer-keyed
    tables (what `cl ancestors`/`cl descendants` print) is byte for byte
    the nested list of the graph, by scan and by recursive query, with
    deleted bundles, paths, a dependency this repository lacks, and a
    bundle numbered (as someone's dependency) before it was indexed."""
    from cl.index import provenance as q
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    dead = data.draw(st.sets(st.integers(0, len(ids) - 1), max_size=3))
    for i in dead:
        repo.update_state(ids[i], lambda s: replace(s, deleted=True))
    if data.draw(st.booleans()):  # a run whose dependency is not in this repository
        stranger = "e" * 63 + format(len(ids) % 16, "x")
        _add_edge(repo, ids[-1], "zz", stranger, "sub/dir")
    if data.draw(st.booleans()):
        # x is numbered (named as a dependency) before y is indexed and
        # indexed after it: numbers and creation order disagree
        x = Bundle(kind="run", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                   metadata={"name": "x", "description": "", "tags": []}, command="x",
                   dependencies=(Dependency("kx", ids[0]),), request={"image": "python:3.11"})
        xid = repo.write(x)
        _add_edge(repo, add_upload(repo, "z", worksheet=""), "early", xid, "")
        add_run(repo, "y", [("ky", ids[0])], worksheet="")
        repo.add_bundle(x, state="created", worksheet="")
    for scan in (False, True):
        monkeypatch.setattr(q, "SCAN_MIN", 1 if scan else 10**9)
        monkeypatch.setattr(q, "SCAN_FRACTION", 10**9)
        for bid in ids:
            for direction in (pv.ANCESTORS, pv.DESCENDANTS):
                up = direction == pv.ANCESTORS
                assert pv.lines_text(q.lines(repo.db, bid, up)) == pv.tree_text(pv.graph(repo, bid, direction))
                assert pv.graph_text_of(repo, bid, direction) == pv.tree_text(pv.graph(repo, bid, direction))
