"""The derived index: bundles, dependency edges, worksheets and their items."""

import itertools

import pytest

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.types import Bundle, Contents, Dependency, Item, State, Worksheet, MODE_FILE
from cl.objects.value import replace
from cl.refs.db import Database
from cl.index.index import Index

T0 = 1_700_000_000_000_000_000
_n = itertools.count()
BUNDLES: dict = {}  # every bundle indexed by these tests, by id


@pytest.fixture
def index(tmp_path):
    db = Database(str(tmp_path / "repo.db"))
    yield Index(db)
    db.close()


def _id(obj):
    return hash_bytes(encoding.encode(obj.to_map()))


def add(index, name, kind="dataset", state="ready", deps=(), tags=(), size=10, **flags):
    """Index a bundle as the repository would; returns its id."""
    n = next(_n)
    contents = None if kind == "run" else Contents(MODE_FILE, size, hash_bytes(b"%d" % n))
    bundle = Bundle(kind=kind, created=T0 + n, creator="alice", nonce=f"{n:032x}",
                    metadata={"name": name, "description": f"about {name}", "tags": list(tags)},
                    contents=contents, command="true" if kind == "run" else None,
                    dependencies=tuple(Dependency(k, p, path) for k, p, path in deps))
    bid = _id(bundle)
    BUNDLES[bid] = bundle
    st = State(bundle=bid, parents=(), time=T0 + n, author="alice",
               metadata=dict(bundle.metadata), state=state, **flags)
    with index.db.transaction():
        index.put_bundle(bid, bundle, _id(st), st, size if contents else None)
    return bid


def restate(index, bid, change):
    """Index a new head state for an indexed bundle."""
    row = index.bundle(bid, include_deleted=True)
    old = State(bundle=bid, parents=(), time=row.updated, author="alice", metadata=row.meta,
                state=row.state)
    new = replace(change(old), parents=(row.head,), time=row.updated + 1)
    with index.db.transaction():
        index.put_bundle(bid, BUNDLES[bid], _id(new), new, row.data_size)
    return new


def put_ws(index, name, items=(), wid=None, deleted=False):
    wid = wid or f"{next(_n):032x}"
    ws = Worksheet(worksheet=wid, parents=(), time=T0 + next(_n), author="alice", message="m",
                   name=name, items=tuple(Item(k, v) for k, v in items), deleted=deleted)
    with index.db.transaction():
        index.put_worksheet(_id(ws), ws)
    return wid


def test_put_bundle_row(index):
    bid = add(index, "data", tags=["a", "b"], size=42)
    row = index.bundle(bid)
    assert (row.id, row.kind, row.name, row.state, row.data_size) == (bid, "dataset", "data",
                                                                      "ready", 42)
    assert row.tag_list == ["a", "b"]
    assert row.meta == {"name": "data", "description": "about data", "tags": ["a", "b"]}
    assert index.bundle("ff" * 32) is None


def test_seq_is_stable_across_updates(index):
    a, b = add(index, "a"), add(index, "b")
    seq = index.bundle(a).seq
    restate(index, a, lambda s: replace(s, metadata={**s.metadata, "name": "a2"}))
    row = index.bundle(a)
    assert row.seq == seq and row.name == "a2" and index.bundle(b).seq > seq
    assert [r.id for r in index.query()] == [a, b]


def test_by_prefix(index):
    ids = [add(index, f"b{i}") for i in range(20)]
    for bid in ids:
        assert bid in [r.id for r in index.by_prefix(bid[:4])]
        assert [r.id for r in index.by_prefix(bid)] == [bid]
    first = ids[0][0]
    assert {r.id for r in index.by_prefix(first)} == {b for b in ids if b.startswith(first)}
    assert index.by_prefix("") and len(index.by_prefix("", limit=5)) == 5


def test_by_name_exact_and_like(index):
    ids = {n: add(index, n) for n in ["sort", "sort-run", "Sort", "resort", "so_t", "sxrt"]}
    assert [r.id for r in index.by_name("sort")] == [ids["sort"]]
    assert [r.name for r in index.by_name("sort%", pattern=True)] == ["sort", "sort-run"]
    # LIKE is case-sensitive: "Sort" does not match "sort%"
    assert [r.name for r in index.by_name("S%", pattern=True)] == ["Sort"]
    assert [r.name for r in index.by_name("%sort", pattern=True)] == ["sort", "resort"]
    assert [r.name for r in index.by_name("s_rt", pattern=True)] == ["sort", "sxrt"]
    assert index.by_name("SORT") == [] and index.by_name("nothing%", pattern=True) == []


def test_deleted_bundles_are_hidden(index):
    keep, gone = add(index, "keep"), add(index, "gone")
    restate(index, gone, lambda s: replace(s, deleted=True))
    assert index.bundle(gone) is None and index.bundle(gone, include_deleted=True).deleted == 1
    assert index.by_name("gone") == [] and [r.id for r in index.by_prefix(gone)] == []
    assert index.live_ids() == [keep]
    assert {h[0] for h in index.all_heads()} == {keep, gone}


def test_dependencies_and_dependents(index):
    a, b = add(index, "a"), add(index, "b")
    r1 = add(index, "r1", kind="run", state="created", deps=[("in", a, ""), ("aux", b, "x/y")])
    r2 = add(index, "r2", kind="run", state="created", deps=[(".", a, "sub")])
    assert index.dependencies(r1) == [("aux", b, "x/y"), ("in", a, "")]
    assert index.dependents(a) == [(r1, "in"), (r2, ".")]
    assert index.dependents(b) == [(r1, "aux")]
    assert index.dependents(r1) == []
    restate(index, r2, lambda s: replace(s, deleted=True))
    assert index.dependents(a) == [(r1, "in")]
    assert index.dependents(a, include_deleted=True) == [(r1, "in"), (r2, ".")]
    # re-indexing a bundle's new state keeps its edges
    restate(index, r1, lambda s: replace(s, state="ready"))
    assert index.dependencies(r1) == [("aux", b, "x/y"), ("in", a, "")]


def test_counts_by_state_and_count(index):
    add(index, "a"), add(index, "b")
    add(index, "r", kind="run", state="created")
    r = add(index, "s", kind="run", state="running")
    gone = add(index, "g", state="failed")
    restate(index, gone, lambda s: replace(s, deleted=True))
    assert index.counts_by_state() == {"ready": 2, "created": 1, "running": 1}
    restate(index, r, lambda s: replace(s, state="ready"))
    assert index.counts_by_state() == {"ready": 3, "created": 1}
    assert index.count() == 4 and index.count("kind = ?", ("run",)) == 2


def test_worksheets_and_items(index):
    a, b = add(index, "a"), add(index, "b")
    wid = put_ws(index, "main", [("markup", "hi"), ("bundle", a), ("directive", "display table"),
                                 ("bundle", b), ("bundle", a)])
    ws = index.worksheet(wid)
    assert (ws["name"], ws["deleted"], ws["tags"]) == ("main", 0, [])
    assert index.worksheet_bundles(wid) == [a, b, a]
    assert index.host_worksheets(a) == [wid]
    # a new commit replaces the items
    put_ws(index, "main", [("bundle", b)], wid=wid)
    assert index.worksheet_bundles(wid) == [b]
    assert index.host_worksheets(a) == []
    assert [w["wid"] for w in index.worksheets("main")] == [wid]


def test_worksheet_name_queries(index):
    w1, w2 = put_ws(index, "exp-one"), put_ws(index, "Exp-two")
    gone = put_ws(index, "exp-gone", deleted=True)
    assert [w["wid"] for w in index.worksheets("exp%", pattern=True)] == [w1]
    assert [w["wid"] for w in index.worksheets("exp%", pattern=True, include_deleted=True)] == [w1, gone]
    assert [w["wid"] for w in index.worksheets()] == [w1, w2]
    assert index.worksheet("00" * 16) is None


def test_floating(index):
    on, off, gone_ws_only = add(index, "on"), add(index, "off"), add(index, "ghost")
    deleted = add(index, "deleted")
    restate(index, deleted, lambda s: replace(s, deleted=True))
    put_ws(index, "live", [("bundle", on)])
    put_ws(index, "dead", [("bundle", gone_ws_only)], deleted=True)
    assert index.floating() == {off, gone_ws_only}


def test_index_survives_reopen_and_clear(tmp_path):
    path = str(tmp_path / "repo.db")
    db = Database(path)
    idx = Index(db)
    bid = add(idx, "x")
    db.close()
    db = Database(path)
    idx = Index(db)  # reopening keeps rows, and LIKE stays case-sensitive
    assert idx.bundle(bid).name == "x"
    assert idx.by_name("X%", pattern=True) == []
    with db.transaction():
        idx.clear()
    assert idx.bundle(bid, include_deleted=True) is None and idx.live_ids() == []
    db.close()


def test_the_schema_check_knows_the_text_sqlite_keeps(tmp_path):
    """check_schema compares sqlite_master with EXPECTED_SQL, derived from
    the CREATE statements without asking SQLite (that would cost `cl ls` a
    millisecond): SQLite's own text must be exactly that."""
    from cl.index.index import EXPECTED_SQL, check_schema
    from cl.refs.store import SqliteRefStore
    db = Database(str(tmp_path / "repo.db"))
    SqliteRefStore(db)
    Index(db)
    stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
    assert stored == EXPECTED_SQL
    check_schema(db)  # a fresh index passes
    db.close()


@pytest.mark.parametrize("change, problem", [
    ("DROP TABLE refs", "'refs' is missing"),
    ("DROP INDEX bundles_name", "'bundles_name' is missing"),
    ("DROP TABLE deps; CREATE TABLE deps (child TEXT)", "'deps' is not as this version"),
    ("DELETE FROM meta", "schema version is unknown"),
])
def test_the_schema_check_names_what_is_wrong(tmp_path, change, problem):
    from cl.errors import IndexDamaged
    from cl.index.index import check_schema
    from cl.refs.store import SqliteRefStore
    db = Database(str(tmp_path / "repo.db"))
    SqliteRefStore(db)
    Index(db)
    db.executescript(change)
    with pytest.raises(IndexDamaged) as caught:
        check_schema(db)
    assert problem in caught.value.message and "cl reindex" in caught.value.hint
    db.close()
