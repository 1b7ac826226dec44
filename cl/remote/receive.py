"""Storing objects as they arrive (docs/protocol.md §5): every object is
re-hashed and a mismatch stores nothing and names the object; a typed object
is stored only when its children already are (the connectivity invariant,
children-first ordering); a large blob goes from the wire to the store in
chunks, never whole in memory."""

import io

from cl.errors import CorruptObject
from cl.objects import encoding
from cl.objects.ids import ObjectId, hash_bytes
from cl.objects.store import ObjectStore, decode_object
from cl.objects.types import children
from cl.remote.frames import Incoming, RemoteError
from cl.remote.graph import contents_id

TYPED_MAX = 64 << 20  # a typed object (a tree of ~600k entries) larger than this is taken as a blob


def whole_bytes(inc: Incoming) -> bytes | None:
    """The object's bytes when it may be a typed object (small, or large
    but starting like a msgpack map); None for a blob to be streamed."""
    if inc.data is not None:
        return inc.data
    if inc.size <= TYPED_MAX and encoding.looks_like_map(inc.stream.peek()):
        return inc.stream.read()
    return None


def verify(oid: ObjectId, data: bytes) -> None:
    got = hash_bytes(data)
    if got != oid:
        raise CorruptObject(oid, f"received bytes hash to 0x{got}; nothing was stored")


def typed(oid: ObjectId, data: bytes):
    """The decoded typed object, or None when the (verified) bytes are a blob."""
    if not encoding.looks_like_map(data[:1]):
        return None
    try:
        return decode_object(oid, data)
    except CorruptObject:
        return None


def check_children(store: ObjectStore, oid: ObjectId, obj, absent: set) -> None:
    """Refuse a typed object whose children are not stored yet.  Only its
    contents may be missing, and only when the sender declared them absent."""
    allowed = contents_id(obj)
    for child in children(obj):
        if store.has(child):
            continue
        if child == allowed and child in absent:
            continue
        raise RemoteError(f"object {oid.display} arrived before its child {child.display}; "
                          "it was not stored")


def store_incoming(store: ObjectStore, inc: Incoming, absent: set) -> None:
    """Store one object received in a `put` stream."""
    if inc.absent:
        absent.add(inc.oid)
        return
    data = whole_bytes(inc)
    if data is None:
        store.write_stream(inc.stream, expected=inc.oid)
        return
    verify(inc.oid, data)
    obj = typed(inc.oid, data)
    if obj is not None:
        check_children(store, inc.oid, obj, absent)
    if len(data) < (1 << 20):
        store.write_bytes(data)
    else:
        store.write_stream(io.BytesIO(data), expected=inc.oid)
