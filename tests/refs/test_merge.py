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
