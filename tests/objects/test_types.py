"""Strict decoding of the object types (docs/format.md, "Object types"):
a missing, unknown or mistyped field is a FormatError naming the field."""

import dataclasses
import os
import pickle

import pytest

from cl.errors import CorruptObject
from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.store import MemoryStore, decode_object, read_object, write_object
from cl.objects.types import (MODE_DIR, MODE_FILE, TYPES, Bundle, FormatError, Item, State,
                              Tree, TreeEntry, children)

from .golden_values import build

BUILT = [v for _, v in build() if not isinstance(v, bytes)]
SAMPLES = {}
for _v in BUILT:  # one value per type, preferring the one with most fields set
    SAMPLES.setdefault(_v.TYPE, _v)
SAMPLES["bundle"] = next(v for v in BUILT if isinstance(v, Bundle) and v.kind == "run")
SAMPLES["state"] = next(v for v in BUILT if isinstance(v, State) and v.result)
ID = "ab" * 32


def _fields(type_name):
    return [k for k in SAMPLES[type_name].to_map() if k != "type"]


def _wrong(value):
    """A value of another msgpack type than `value`."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return "12"
    if isinstance(value, str):
        return 12
    if isinstance(value, (list, dict)):
        return "x"
    return [1]  # None: an optional field; a list is none of str/int/map/id


CASES = [(t, f) for t in sorted(TYPES) for f in _fields(t)]


@pytest.mark.parametrize("type_name,field", CASES)
def test_missing_field_is_named(type_name, field):
    """[F10] every field is required; a missing one is named."""
    m = SAMPLES[type_name].to_map()
    del m[field]
    with pytest.raises(FormatError, match=field):
        TYPES[type_name].from_map(m)


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_unknown_field_is_named(type_name):
    """[F10] unknown fields are refused, never ignored."""
    m = SAMPLES[type_name].to_map()
    m["zz_extra"] = 1
    with pytest.raises(FormatError, match="zz_extra"):
        TYPES[type_name].from_map(m)


@pytest.mark.parametrize("type_name,field", CASES)
def test_mistyped_field_is_named(type_name, field):
    """[F10] each field has one type; another is refused, naming the field."""
    m = SAMPLES[type_name].to_map()
    m[field] = _wrong(m[field])
    with pytest.raises(FormatError, match=field):
        TYPES[type_name].from_map(m)


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_wrong_type_tag(type_name):
    other = next(t for t in TYPES if t != type_name)
    m = SAMPLES[type_name].to_map()
    m["type"] = other
    with pytest.raises(FormatError, match="type"):
        TYPES[type_name].from_map(m)


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_round_trip(type_name):
    value = SAMPLES[type_name]
    assert TYPES[type_name].from_map(value.to_map()) == value


@pytest.mark.parametrize("type_name,field", CASES)
def test_values_are_frozen(type_name, field):
    """Every field of every type refuses assignment and deletion (the map
    keys are the field names)."""
    value = SAMPLES[type_name]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(value, field)
    assert getattr(value, field) == getattr(TYPES[type_name].from_map(value.to_map()), field)


# --- nested fields ------------------------------------------------------------

NESTED = [
    ("bundle", lambda m: m.__setitem__("contents", {"mode": MODE_FILE, "size": 1}), "contents"),
    ("bundle", lambda m: m["dependencies"][0].pop("path"), "dependency"),
    ("bundle", lambda m: m["dependencies"][0].__setitem__("bundle", "nope"), "dependency bundle"),
    ("bundle", lambda m: m["dependencies"][0].__setitem__("key", 3), "dependency key"),
    ("bundle", lambda m: m.__setitem__("dependencies", [5]), "dependency"),
    ("bundle", lambda m: m.__setitem__("kind", "movie"), "kind"),
    ("bundle", lambda m: m.__setitem__("contents", {"mode": 0o777, "size": 1, "id": ID}),
     "contents"),
    ("bundle", lambda m: m.__setitem__("contents", {"mode": MODE_FILE, "size": "1", "id": ID}),
     "contents size"),
    ("result", lambda m: m["contents"].__setitem__("id", "0x" + ID), "contents id"),
    ("state", lambda m: m.__setitem__("state", "sleeping"), "state"),
    ("state", lambda m: m.__setitem__("parents", ["nope"]), "parents"),
    ("state", lambda m: m.__setitem__("bundle", ID.upper()), "bundle"),
    ("state", lambda m: m.__setitem__("deleted", 0), "deleted"),
    ("result", lambda m: m.__setitem__("exit_code", True), "exit_code"),
    ("worksheet", lambda m: m.__setitem__("tags", ["a", 1]), "tags"),
    ("worksheet", lambda m: m["items"].append(["movie", "x"]), "item kind"),
    ("worksheet", lambda m: m["items"].append(["markup"]), "item"),
    ("worksheet", lambda m: m["items"].append(["markup", 5]), "item value"),
    ("worksheet", lambda m: m["items"].append(["bundle", "not-an-id"]), "bundle item"),
    ("tree", lambda m: m["entries"].append("x"), "tree entry"),
    ("tree", lambda m: m["entries"][0].__setitem__(1, "644"), "entry mode"),
    ("tree", lambda m: m["entries"][0].__setitem__(2, -1), "negative size"),
    ("tree", lambda m: m["entries"][0].__setitem__(3, "nope"), "entry id"),
    ("tree", lambda m: m["entries"][0].__setitem__(1, 0o100600), "unknown mode"),
]


@pytest.mark.parametrize("type_name,change,named", NESTED, ids=[c[2] for c in NESTED])
def test_nested_field_errors(type_name, change, named):
    """[F10] fields inside fields are checked too, and named."""
    m = SAMPLES[type_name].to_map()
    change(m)
    with pytest.raises(FormatError, match=named):
        TYPES[type_name].from_map(m)


# --- trees ---------------------------------------------------------------------

def _entry(name, size=1):
    return TreeEntry(name, MODE_FILE, size, ID)


@pytest.mark.parametrize("name", [".", "..", "a/b", "", "/", "a\0b"])
def test_tree_refuses_bad_names(name):
    """[F12] no `.`, `..`, empty names or names with `/` (or NUL)."""
    with pytest.raises(FormatError, match="invalid name"):
        Tree((_entry(name),))
    m = {"type": "tree", "entries": [[name, MODE_FILE, 1, ID]]}
    with pytest.raises(FormatError, match="invalid name"):
        Tree.from_map(m)


@pytest.mark.parametrize("names", [["b", "a"], ["a", "a"], ["a", "B"], ["é", "z"]])
def test_tree_refuses_unsorted_or_duplicate_entries(names):
    """[F12] entries sorted by name (code point order), names unique."""
    m = {"type": "tree", "entries": [[n, MODE_FILE, 1, ID] for n in names]}
    with pytest.raises(FormatError, match="sorted"):
        Tree.from_map(m)


def test_tree_sort_is_by_code_point():
    """[F12] "B" < "a" < "z" < "é": code points, not a locale."""
    tree = Tree(tuple(_entry(n) for n in ["B", "a", "z", "é"]))
    assert [e.name for e in Tree.from_map(tree.to_map()).entries] == ["B", "a", "z", "é"]


ORDINARY = [[f"f{i:03d}", MODE_FILE, i, ("%02x" % i) * 32] for i in range(200)]


@pytest.mark.parametrize("at", [0, 150, 199])
@pytest.mark.parametrize("fault,named", [
    (lambda e: e.__setitem__(1, True), "mode"),
    (lambda e: e.__setitem__(1, 0o100600), "unknown mode"),
    (lambda e: e.__setitem__(1, float(MODE_FILE)), "mode"),
    (lambda e: e.__setitem__(2, -1), "negative size"),
    (lambda e: e.__setitem__(2, False), "size"),
    (lambda e: e.__setitem__(2, 1.0), "size"),
    (lambda e: e.__setitem__(3, "AB" * 32), "entry id"),
    (lambda e: e.__setitem__(3, "ab" * 31), "entry id"),
    (lambda e: e.__setitem__(3, b"\xab" * 32), "entry id"),
    (lambda e: e.__setitem__(0, "a/b"), "invalid name"),
    (lambda e: e.pop(), r"\[name, mode, size, id\]"),
])
def test_tree_names_one_bad_entry_among_many(fault, named, at):
    """A tree's entries are checked a column at a time; one bad entry
    anywhere among ordinary ones is still refused, and named as the
    entry-by-entry check names it."""
    entries = [list(e) for e in ORDINARY]
    fault(entries[at])
    with pytest.raises(FormatError, match=named):
        Tree.from_map({"type": "tree", "entries": entries})


def test_decoded_tree_is_the_tree_built_from_entries():
    """Decoding keeps columns and makes the entries when asked: equal,
    hashed, pickled, looked up and encoded as a tree built from entries."""
    built = Tree(tuple(TreeEntry(n, mode, size, ID if i % 2 else oid)
                       for i, (n, mode, size, oid) in enumerate(ORDINARY)))
    decoded = Tree.from_map(built.to_map())
    assert decoded == built and hash(decoded) == hash(built)
    assert decoded.entries == built.entries and decoded.ids == built.ids
    assert decoded.get("f150") == built.entries[150] and decoded.get("nope") is None
    assert decoded.size == sum(range(200)) and decoded.to_map() == built.to_map()
    assert pickle.loads(pickle.dumps(decoded)) == built
    assert repr(decoded) == repr(built)
    assert Tree.from_map({"type": "tree", "entries": []}) == Tree(())


def test_tree_with_a_name_that_is_not_utf8_decodes():
    """[F20] a name held as bin (not UTF-8) takes the entry-by-entry way."""
    built = Tree((_entry("a"), _entry(os.fsdecode(b"b\xff")), _entry("c")))
    decoded = Tree.from_map(encoding.decode(encoding.encode(built.to_map())))
    assert decoded == built and decoded.names[1] == os.fsdecode(b"b\xff")


def test_tree_size_is_total_of_entries():
    tree = Tree((_entry("a", 3), TreeEntry("d", MODE_DIR, 10, ID)))
    assert tree.size == 13


# --- decoding from the store --------------------------------------------------

def test_format_errors_surface_as_corrupt_object_naming_it():
    """[F10] through the store, a bad map is a CorruptObject naming the object."""
    m = SAMPLES["state"].to_map()
    m["deleted"] = 0
    data = encoding.encode(m)
    oid = hash_bytes(data)
    with pytest.raises(CorruptObject) as info:
        decode_object(oid, data)
    assert info.value.object_id == oid
    assert oid in str(info.value) and "deleted" in str(info.value)


def test_untyped_and_unknown_type_maps_are_corrupt():
    """[F3] a typed object is a map whose "type" names a known type."""
    for m in ({"a": 1}, {"type": "movie"}):
        data = encoding.encode(m)
        with pytest.raises(CorruptObject, match="not a typed object"):
            decode_object(hash_bytes(data), data)


def test_expected_type_is_checked():
    store = MemoryStore()
    oid = write_object(store, SAMPLES["tree"])
    with pytest.raises(CorruptObject, match="expected a bundle"):
        read_object(store, oid, Bundle)


def test_bundle_items_must_be_ids():
    """[F10][F11] a worksheet's bundle items are object ids (they are children)."""
    with pytest.raises(FormatError, match="bundle item"):
        Item("bundle", "sort-run")
    assert Item("worksheet", "fedcba9876543210fedcba9876543210").value
    ws = SAMPLES["worksheet"]
    assert set(children(ws)) == {i.value for i in ws.items if i.kind == "bundle"}


def test_children_of_every_type():
    """[F11] children() lists exactly the ids each type names."""
    values = dict(build())
    run, result = values["bundle-run"], values["result"]
    assert children(values["tree-root"]) == [e.id for e in values["tree-root"].entries]
    assert set(children(values["bundle-dataset"])) == {values["bundle-dataset"].contents.id}
    assert children(run) == [run.dependencies[0].bundle]
    assert set(children(result)) == {result.bundle, result.contents.id}
    ready = values["state-ready"]
    assert set(children(ready)) == {ready.bundle, *ready.parents, ready.result}
    assert children(values["state-created"]) == [values["state-created"].bundle]
