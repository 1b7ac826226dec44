"""`Value` (cl/objects/value.py) behaves as a frozen dataclass would:
equality and hashing over the fields and only within one class, a repr
naming the fields, no assignment, copies and pickles that compare equal,
and `replace` as `dataclasses.replace`: a changed copy, checks run again."""

import copy
import dataclasses
import pickle

import pytest

from cl.bundles.specs import Target
from cl.objects.ids import hash_bytes
from cl.objects.types import (MODE_FILE, Bundle, Contents, Dependency, FormatError, Item, State, TreeEntry,
                              Worksheet)
from cl.objects.value import replace

OID = hash_bytes(b"x")


def test_equality_and_hash_follow_the_fields():
    a, b = Dependency("k", OID, "p"), Dependency("k", OID, "p")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Dependency("k", OID) and a != ("k", OID, "p")
    assert Contents(MODE_FILE, 1, OID) != TreeEntry("f", MODE_FILE, 1, OID)  # another class


def test_repr_names_the_fields():
    assert repr(Dependency("k", OID)) == f"Dependency(key='k', bundle={OID!r}, path='')"
    assert repr(Target(OID)) == f"Target(bundle={OID!r}, path='')"


@pytest.mark.parametrize("value", [TreeEntry("f", MODE_FILE, 1, OID), Item("markup", "x"),
                                   Bundle("dataset", 1, "me", "n", {"name": "a"}),
                                   State(OID, (), 1, "me", {"name": "a"}, "ready"),
                                   Worksheet("w" * 32, (), 1, "me", "made", "ws")])
def test_frozen_and_copyable(value):
    name = value.__slots__[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, name, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(value, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.unknown = 1
    assert copy.copy(value) == value == copy.deepcopy(value) == pickle.loads(pickle.dumps(value))


def test_defaults_are_fresh_maps():
    a, b = Bundle("dataset", 1, "me", "n", {}), Bundle("dataset", 1, "me", "n", {})
    assert a.request == a.options == {} and a.request is not b.request


def test_replace_makes_a_changed_copy_through_init():
    state = State(OID, (), 1, "me", {"name": "a"}, "ready")
    done = replace(state, state="failed", result=OID)
    assert (done.state, done.result, done.bundle, done.metadata) == ("failed", OID, OID, {"name": "a"})
    assert state.state == "ready" and state.result is None
    assert replace(state) == state
    with pytest.raises(FormatError):
        replace(state, state="no such state")  # State's own check runs again
    with pytest.raises(TypeError, match="no field 'colour'"):
        replace(state, colour="red")
    ws = Worksheet("w" * 32, (), 1, "me", "made", "ws")
    assert replace(ws, items=(Item("markup", "x"),)).items == (Item("markup", "x"),)


def test_records_bind_arguments_as_a_signature_would():
    """A Record's generic __init__: positional or by name, defaults, and
    the TypeErrors a hand-written __init__ would give."""
    assert Dependency("k", OID) == Dependency(key="k", bundle=OID) == Dependency("k", bundle=OID, path="")
    with pytest.raises(TypeError, match="missing 'bundle'"):
        Dependency("k")
    with pytest.raises(TypeError, match="no field 'nope'"):
        Dependency("k", OID, nope=1)
    with pytest.raises(TypeError, match="two values for 'key'"):
        Dependency("k", OID, key="j")
    with pytest.raises(TypeError, match="takes 3 fields"):
        Dependency("k", OID, "", "extra")
    state = State(OID, (), 1, "a", {}, "ready")
    assert state.deleted is False and state.result is None
    with pytest.raises(FormatError, match="unknown bundle state"):
        State(OID, (), 1, "a", {}, "asleep")


def test_a_record_must_list_its_slots_from_its_fields():
    from cl.objects.value import Field, Record
    with pytest.raises(TypeError, match="tuple\\(FIELDS\\)"):
        class Broken(Record):
            FIELDS = {"a": Field(None), "b": Field(None)}
            __slots__ = ("b", "a")
