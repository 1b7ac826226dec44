"""Bounded fuzzing of what this lane decodes: chunked worksheet commits and
their item trees ([F21]) as a peer might send them.  Any map decodes to a
value or raises FormatError; any tree of chunks a commit points at reads
back as exactly `count` items or is refused as corrupt, never another
exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import encoding
from cl.objects.store import MemoryStore, read_object, write_object
from cl.objects.types import CHUNK_ITEMS, FormatError, Item, ItemChunk, ItemIndex, Worksheet, WorksheetCommit

SETTINGS = settings(max_examples=150, deadline=None)
ID = "ab" * 32
values = st.one_of(st.none(), st.booleans(), st.integers(-3, 70), st.text(max_size=4), st.just(ID),
                   st.lists(st.one_of(st.just(ID), st.lists(st.text(max_size=3), max_size=3)), max_size=3))
KEYS = ["worksheet", "parents", "time", "author", "message", "name", "title", "tags", "chunks", "count",
        "tail", "deleted", "items", "level", "children", "type"]


@SETTINGS
@given(st.sampled_from(["worksheet2", "items", "itemindex"]), st.dictionaries(st.sampled_from(KEYS), values))
def test_any_map_decodes_or_is_a_format_error(type_name, m):
    from cl.objects.types import TYPES
    m = {**m, "type": type_name}
    try:
        TYPES[type_name].from_map(m)
    except FormatError:
        pass


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3)), min_size=1, max_size=6),
       st.integers(0, 5))
def test_any_item_tree_reads_back_or_is_corrupt(shape, count_leaves):
    """Random index nodes over real leaves, with a random claimed count."""
    store = MemoryStore()
    leaf = write_object(store, ItemChunk(items=tuple(Item("markup", str(i)) for i in range(CHUNK_ITEMS))))
    nodes = [leaf]
    for level, width in shape:
        children = tuple(nodes[-1:] * width)
        nodes.append(leaf if level == 0 else write_object(store, ItemIndex(level=level, children=children)))
    commit = write_object(store, Worksheet(worksheet="w", parents=(), time=1, author="a", message="m",
                                           name="n"))
    bad = WorksheetCommit(worksheet="w", parents=(commit,), time=2, author="a", message="m", name="n",
                          chunks=nodes[-1] if count_leaves else None, count=count_leaves * CHUNK_ITEMS)
    oid = store.write_bytes(encoding.encode(bad.to_map()))
    try:
        ws = read_object(store, oid, Worksheet)
    except (CorruptObject, ObjectMissing):
        return
    assert len(ws.items) == count_leaves * CHUNK_ITEMS
