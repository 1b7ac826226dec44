"""Merge rules (cl/refs/merge.py, docs/protocol.md §7) as properties:
symmetric, nothing either side added is lost, fast-forwards and
identical changes merge cleanly, and a state's finished run outcome wins."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cl.objects.types import Item, State, Worksheet
from cl.objects.value import replace
from cl.refs.merge import CONFLICT_END, CONFLICT_MIDDLE, merge_items, merge_states, merge_worksheets

ITEMS = st.lists(st.builds(Item, st.sampled_from(["markup", "directive"]),
                           st.sampled_from(list("abcdefg"))), max_size=8)
ID_A, ID_B = "a" * 64, "b" * 64


def ws(items, time=1, name="w", title=""):
    return Worksheet(worksheet="w1", parents=(), time=time, author="t", message="m", name=name,
                     title=title, items=tuple(items))


@settings(max_examples=300, deadline=None)
@given(ITEMS, ITEMS, ITEMS)
def test_items_merge_is_symmetric_and_keeps_additions(base, a, b):
    ab = merge_worksheets(ws(base), (ID_A, ws(a, 2)), (ID_B, ws(b, 3)))
    ba = merge_worksheets(ws(base), (ID_B, ws(b, 3)), (ID_A, ws(a, 2)))
    assert ab == ba
    for added in (set(a) | set(b)) - set(base):
        assert added in ab.items


@settings(max_examples=200, deadline=None)
@given(ITEMS, ITEMS)
def test_one_sided_and_identical_changes_merge_cleanly(base, a):
    assert merge_items(base, base, a, "A", "B") == tuple(a)
    assert merge_items(base, a, base, "A", "B") == tuple(a)
    assert merge_items(base, a, a, "A", "B") == tuple(a)


def test_conflict_keeps_both_sides_visibly():
    base = [Item("markup", "x")]
    merged = merge_items(base, [Item("markup", "from a")], [Item("markup", "from b")], "A", "B")
    assert [i.value for i in merged] == ["<<<<<<< conflict: A | B", "from a", CONFLICT_MIDDLE,
                                         "from b", CONFLICT_END]


def test_worksheet_fields_last_writer_wins_only_when_both_changed():
    base = ws([], name="w", title="t")
    a = replace(base, title="from a", time=5)
    b = replace(base, name="renamed", time=3)
    merged = merge_worksheets(base, (ID_A, a), (ID_B, b))
    assert (merged.name, merged.title) == ("renamed", "from a")
    assert merged.parents == (ID_A, ID_B) and merged.time == 5


def state(time=1, **fields):
    values = dict(bundle="c" * 64, parents=(), time=time, author="t", metadata={"name": "r"},
                  state="created")
    values.update(fields)
    return State(**values)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "description", "x"]), st.sampled_from(["1", "2"])),
       st.dictionaries(st.sampled_from(["name", "description", "x"]), st.sampled_from(["1", "3"])),
       st.integers(1, 5), st.integers(1, 5))
def test_state_merge_is_symmetric_field_by_field(meta_a, meta_b, ta, tb):
    base = state(metadata={"name": "1"})
    a, b = state(ta, metadata=meta_a), state(tb, metadata=meta_b)
    ab = merge_states(base, (ID_A, a), (ID_B, b))
    assert ab == merge_states(base, (ID_B, b), (ID_A, a))
    for key in set(meta_a) | set(meta_b):
        if meta_a.get(key) == base.metadata.get(key):
            assert ab.metadata.get(key) == meta_b.get(key)
        elif meta_b.get(key) == base.metadata.get(key):
            assert ab.metadata.get(key) == meta_a.get(key)


def test_finished_result_beats_a_later_unfinished_edit():
    base = state()
    done = state(2, state="ready", result="d" * 64)
    renamed = state(9, metadata={"name": "renamed"})
    merged = merge_states(base, (ID_A, done), (ID_B, renamed))
    assert (merged.state, merged.result, merged.metadata) == ("ready", "d" * 64, {"name": "renamed"})


NOTES = st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=4), max_size=6, unique=True)


@settings(max_examples=300, deadline=None)
@given(NOTES, NOTES, NOTES, st.integers(1, 9), st.integers(1, 9))
def test_concurrent_appends_never_conflict_and_never_lose_an_item(base, a_new, b_new, ta, tb):
    """Two clones each append notes to one worksheet: the merge holds the
    base, then both sets of notes (the older side's first), and no markers."""
    base_items = [Item("markup", f"base {v}") for v in base]
    a_items = [Item("markup", f"a {v}") for v in a_new]
    b_items = [Item("markup", f"b {v}") for v in b_new]
    a = ws(base_items + a_items, ta)
    b = ws(base_items + b_items, tb)
    merged = merge_worksheets(ws(base_items), (ID_A, a), (ID_B, b))
    assert merged == merge_worksheets(ws(base_items), (ID_B, b), (ID_A, a))
    older_first = (a_items + b_items) if (ta, ID_A) < (tb, ID_B) else (b_items + a_items)
    assert list(merged.items) == base_items + older_first
    assert not any(i.value.startswith("<<<<<<<") for i in merged.items)


def test_appends_at_one_place_between_items_do_not_conflict():
    x, y = Item("markup", "x"), Item("markup", "y")
    merged = merge_items([x, y], [x, Item("markup", "from a"), y], [x, Item("markup", "from b"), y],
                         "A", "B")
    assert [i.value for i in merged] == ["x", "from a", "from b", "y"]


def test_changing_one_existing_item_differently_still_conflicts():
    x, y = Item("markup", "x"), Item("markup", "y")
    merged = merge_items([x, y], [x, Item("markup", "y by a")], [x, Item("markup", "y by b")],
                         "A", "B")
    assert [i.value for i in merged][1] == "<<<<<<< conflict: A | B"
