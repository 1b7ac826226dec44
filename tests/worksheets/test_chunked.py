"""Chunked worksheet commits ([F21], cl/objects/itemlists.py): appending
writes a bounded number of bytes however long the worksheet is, the tree
built one append at a time is the canonical one, old `worksheet` commits
stay readable under their ids, and fsck, gc, reindex and the markup round
trip see every item."""

import os

import pytest

from cl.objects import encoding, itemlists
from cl.objects.store import MemoryStore, read_object, write_object
from cl.objects.types import CHUNK_ITEMS, INDEX_FANOUT, Item, ItemChunk, Worksheet, WorksheetCommit
from cl.objects.value import replace
from cl.repo import Repository
from cl.worksheets import edit, ops


def _ws(items, parents=()):
    return Worksheet(worksheet="0" * 32, parents=parents, time=1, author="t", message="m",
                     name="w", items=tuple(items))


def _note(n):
    return Item("markup", f"note {n}")


def test_tree_grown_one_append_at_a_time_is_the_canonical_tree():
    """Past one leaf, one index level and a second index level's first
    spine: the incremental root equals the root built from scratch."""
    store = MemoryStore()
    read = lambda oid: read_object(store, oid)  # noqa: E731
    parent = ()
    c, f = CHUNK_ITEMS, INDEX_FANOUT
    wanted = {0, 1, c - 1, c, c + 1, 2 * c, 2 * c + 1, c * f - 1, c * f, c * (f + 1), c * (f + 1) + 1,
              c * (f + 2)}
    items = []
    for n in range(CHUNK_ITEMS * (INDEX_FANOUT + 2) + 2):
        items.append(_note(n))
        itemlists._known.clear()  # read the parent's tree from the store, not from memory
        commit = write_object(store, _ws(items, parent))
        parent = (commit,)
        if n + 1 in wanted:
            raw = read(commit)
            count = len(items) - len(items) % CHUNK_ITEMS
            fresh = MemoryStore()
            assert raw.chunks == itemlists.build_tree(items[:count], lambda o: write_object(fresh, o))
            assert read_object(store, commit, Worksheet).items == tuple(items)


def _objects_size(repo) -> int:
    root = os.path.join(repo.root, "objects")
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)


def test_bytes_written_per_append_stay_bounded(repo):
    """Appending to a worksheet of ~1,100 items writes no more than to one of
    ~100: at most the commit, one leaf and the tree's right spine."""
    wid = repo.current_worksheet()
    sizes = []
    for n in range(1_100):
        before = _objects_size(repo)
        ops.add_items(repo, wid, [_note(n)], "note")
        sizes.append(_objects_size(repo) - before)
    early, late = max(sizes[64:160]), max(sizes[-96:])
    bound = 2_000 + CHUNK_ITEMS * 40 + 2 * INDEX_FANOUT * 70  # commit + leaf + two spine nodes
    assert late <= bound and early <= bound, (early, late)
    # the old format wrote every item again: 1,000 notes alone are > 12 kB
    assert late < len(encoding.encode([[i.kind, i.value] for i in map(_note, range(1_000))]))
    assert repo.worksheet_head(wid)[1].items == tuple(map(_note, range(1_100)))


def test_an_old_worksheet_commit_keeps_its_id_and_the_next_commit_is_chunked(repo):
    wid = repo.current_worksheet()
    head, ws = repo.worksheet_head(wid)
    old = replace(ws, parents=(head,), items=tuple(map(_note, range(40))), message="old format",
                  time=ws.time + 1)
    old_id = repo.store.write_bytes(encoding.encode(old.to_map()))
    repo.set_worksheet_head(wid, head, old_id)
    assert repo.worksheet_head(wid) == (old_id, old)
    new = ops.add_items(repo, wid, [_note(40)], "note")
    raw = repo.read(new)
    assert isinstance(raw, WorksheetCommit) and raw.parents == (old_id,) and raw.count == 41 - 41 % CHUNK_ITEMS
    assert repo.read(new, Worksheet).items == tuple(map(_note, range(41)))
    assert repo.read(old_id, Worksheet) == old
    assert [v.worksheet.message for v in ops.history(repo, wid)][-2:] == ["old format", "note"]


def test_fsck_gc_and_reindex_keep_every_chunk(repo):
    from cl.bundles import maintenance
    wid = repo.current_worksheet()
    for n in range(0, 100, 10):
        ops.add_items(repo, wid, [_note(k) for k in range(n, n + 10)], "notes")
    assert maintenance.fsck(repo).problems == []
    maintenance.gc(repo, grace_seconds=0)
    assert maintenance.fsck(repo).problems == []
    maintenance.reindex(repo)
    assert repo.worksheet_head(wid)[1].items == tuple(map(_note, range(100)))
    rows = repo.db.execute("SELECT count(*) FROM ws_items WHERE wid = ?", (wid,)).fetchone()
    assert rows[0] == 100
    text = edit.text_form(repo, repo.worksheet_head(wid)[1])
    assert edit.save_text(repo, wid, text, None)[0] is None  # the round trip changes nothing


def test_a_missing_chunk_is_an_fsck_problem(repo):
    from cl.bundles import maintenance
    wid = repo.current_worksheet()
    ops.add_items(repo, wid, list(map(_note, range(CHUNK_ITEMS + 1))), "notes")
    raw = repo.read(repo.worksheet_head(wid)[0])
    assert isinstance(repo.read(raw.chunks), ItemChunk)
    os.unlink(repo.store.path(raw.chunks))
    problems = maintenance.fsck(repo).problems
    assert any(f"0x{raw.chunks}" in p for p in problems), problems


def test_a_malformed_tree_is_refused_on_read(repo):
    from cl.errors import CorruptObject
    wid = repo.current_worksheet()
    head, ws = repo.worksheet_head(wid)
    leaf = repo.write(ItemChunk(items=tuple(map(_note, range(CHUNK_ITEMS)))))
    bad = WorksheetCommit(worksheet=ws.worksheet, parents=(head,), time=2, author="t", message="m",
                          name=ws.name, chunks=leaf, count=2 * CHUNK_ITEMS)
    oid = repo.write(bad)
    with pytest.raises(CorruptObject, match="is not an item index of level 1"):
        repo.read(oid, Worksheet)


@pytest.fixture
def repo(tmp_path):
    r = Repository.init(str(tmp_path / "proj"), worksheet="main")
    yield r
    r.close()


@pytest.mark.parametrize("batch", [1, CHUNK_ITEMS - 1, CHUNK_ITEMS + 3, CHUNK_ITEMS * INDEX_FANOUT + 5])
def test_an_append_reads_no_item_and_commits_what_a_rewrite_would(repo, monkeypatch, batch):
    """`cl add` appends to the head's tail and tree without reading the
    items already there, so the 10,000th append costs what the first does;
    the commit's tree and tail are those of the whole list written afresh,
    and the index lists every item in order."""
    wid = repo.current_worksheet()
    before = [_note(n) for n in range(CHUNK_ITEMS * 3 + 2)]
    ops.add_items(repo, wid, before, "start")
    added = [_note(f"new {n}") for n in range(batch)]

    def no_reading(*_args):
        raise AssertionError("an append read the items already there")

    with monkeypatch.context() as m:
        m.setattr(itemlists, "tree_items", no_reading)
        m.setattr(itemlists, "items_of", no_reading)
        cid = ops.add_items(repo, wid, added, "more")
    got = repo.read(cid)
    itemlists._known.clear()
    afresh = repo.read(repo.write(replace(repo.read(cid, Worksheet), parents=())))
    assert (got.chunks, got.count, got.tail) == (afresh.chunks, afresh.count, afresh.tail)
    assert repo.read(cid, Worksheet).items == tuple(before + added)
    assert [(r[1], r[2]) for r in repo.db.execute(
        "SELECT pos, kind, value FROM ws_items WHERE wid = ? ORDER BY pos", (wid,))] == \
        [(i.kind, i.value) for i in repo.read(cid, Worksheet).items]
