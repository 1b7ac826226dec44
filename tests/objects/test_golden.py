"""Golden vectors (docs/format.md, "Test vectors"): the exact bytes and id of
one value of every object type.  If any of these fails, the format changed
and every id ever stored changes with it -- add a new type instead."""

import json
import os

import pytest

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.store import MemoryStore, decode_object, read_object, write_object
from cl.objects.types import TYPES, Worksheet

from .golden_values import ENCODING_EXAMPLES, NON_CANONICAL, build
from .helpers import b3sum

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "docs", "format.md")

with open(os.path.join(HERE, "golden_vectors.json")) as f:
    VECTORS = json.load(f)

OBJECTS = {v["name"]: v for v in VECTORS["objects"]}
BUILT = dict(build())


def _unplain(value):
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        return {k: _unplain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


def test_every_type_has_a_vector():
    """[F15] golden vectors exist for blobs and every typed object."""
    assert {v["type"] for v in VECTORS["objects"]} == {"blob", *TYPES}
    assert list(OBJECTS) == [name for name, _ in build()]


@pytest.mark.parametrize("name", list(OBJECTS))
def test_vector_bytes_and_id(name):
    """[F15] the constructors still produce exactly the published bytes."""
    vector, value = OBJECTS[name], BUILT[name]
    data = value if isinstance(value, bytes) else encoding.encode(value.to_map())
    assert data.hex() == vector["hex"]
    assert hash_bytes(data) == vector["id"]


@pytest.mark.parametrize("name", [n for n, v in OBJECTS.items() if v["type"] != "blob"])
def test_vector_decodes_to_the_value(name):
    """[F15] the published bytes decode to the published map and value."""
    vector = OBJECTS[name]
    data = bytes.fromhex(vector["hex"])
    assert encoding.decode(data) == _unplain(vector["map"])
    obj = decode_object(vector["id"], data)
    assert type(obj) is TYPES[vector["type"]]
    assert obj == BUILT[name]
    assert encoding.encode(obj.to_map()) == data


@pytest.mark.parametrize("name", [n for n, v in OBJECTS.items() if v["type"] == "blob"])
def test_blob_vector_matches_b3sum(name, tmp_path):
    """[F2] a blob's id is b3sum of its bytes."""
    path = tmp_path / "blob"
    path.write_bytes(bytes.fromhex(OBJECTS[name]["hex"]))
    assert b3sum(str(path)) == OBJECTS[name]["id"]


def test_vectors_form_a_connected_store():
    """[F11] written in the published order, every vector names only
    vectors written before it."""
    store = MemoryStore()
    for name, value in build():
        if isinstance(value, bytes):
            oid = store.write_bytes(value)
        elif isinstance(value, Worksheet):  # written as chunked commits since [F21]
            oid = store.write_bytes(encoding.encode(value.to_map()))
            assert read_object(store, oid) == value
        else:
            oid = write_object(store, value)
            assert read_object(store, oid) == value
        assert oid == OBJECTS[name]["id"]


@pytest.mark.parametrize("example", VECTORS["encoding"], ids=lambda e: e["rule"])
def test_encoding_examples(example):
    """[F4][F5][F6] canonical encodings of plain values."""
    built = dict(ENCODING_EXAMPLES)[example["rule"]]
    assert _unplain(example["value"]) == built
    assert encoding.encode(built).hex() == example["hex"]
    assert encoding.decode(bytes.fromhex(example["hex"])) == built


@pytest.mark.parametrize("example", VECTORS["non_canonical"], ids=lambda e: e["rule"])
def test_non_canonical_examples_are_rejected(example):
    """[F9] a decoder rejects every non-canonical example."""
    assert (example["rule"], example["hex"]) in NON_CANONICAL
    with pytest.raises(ValueError):
        encoding.decode(bytes.fromhex(example["hex"]))


def test_doc_publishes_the_same_vectors():
    """The spec shows the bytes and ids this test checks."""
    with open(DOC) as f:
        doc = f.read()
    flat = doc.replace("\n", "")
    for v in VECTORS["objects"]:
        assert v["id"] in doc, v["name"]
        assert v["hex"] in flat, v["name"]
    for e in VECTORS["encoding"] + VECTORS["non_canonical"]:
        assert e["hex"] in flat, e["rule"]
