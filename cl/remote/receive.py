"""Storing objects as they arrive (docs/protocol.md §5): every object is
re-hashed and a mismatch stores nothing and names the object; a typed object
is stored only when its children already are (the connectivity invariant,
children-first ordering); a large blob goes from the wire to the store in
chunks, never whole in memory.

Small blobs go to the store's batch writer (`store.batch()`: a disk
store packs blobs under 16 KiB and typed objects under 1 MiB, and publishes the pack when the receive
ends, cl/objects/packing.py; larger ones are written by threads while this
thread parses and verifies the next objects).  Typed objects wait in
memory and are written in arrival order once every blob before them is
stored (at the end of the stream, or when TYPED_HELD bytes of them wait), so
a child is still always stored before its parent."""

import io

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import encoding
from cl.objects.ids import ObjectId, hash_bytes, hashes_to
from cl.objects.store import ObjectStore, decode_object
from cl.objects.types import Tree
from cl.remote.frames import Incoming, PackFrame, RemoteError
from cl.remote.graph import contents_id, edges, recorded_sizes

TYPED_MAX = 64 << 20  # a typed object (a tree of ~600k entries) larger than this is taken as a blob
WHOLE = 1 << 20       # objects below this are written from memory
TYPED_HELD = 16 << 20  # typed objects waiting for the blobs before them are written past this
KNOWN_MAX = 1 << 20   # ids remembered as stored (to skip a stat when a parent names them)


def whole_bytes(inc: Incoming) -> bytes | None:
    """The object's bytes when it may be a typed object (small, or large
    but starting like a msgpack map); None for a blob to be streamed."""
    if inc.data is not None:
        return inc.data
    if inc.size <= TYPED_MAX and encoding.looks_like_map(inc.stream.peek()):
        return inc.stream.read()
    return None


def verify(oid: ObjectId, data: bytes) -> None:
    if not hashes_to(data, oid):
        raise CorruptObject(oid, f"received bytes hash to 0x{hash_bytes(data)}; nothing was stored")


_MAP_FIRST = [encoding.looks_like_map(bytes([b])) for b in range(256)]  # by a first byte


def typed(oid: ObjectId, data: bytes):
    """The decoded typed object, or None when the (verified) bytes are a blob."""
    if not data or not _MAP_FIRST[data[0]]:  # most received objects are blobs: asked per object
        return None
    try:
        return decode_object(oid, data)
    except CorruptObject:
        return None


def check_children(store: ObjectStore, oid: ObjectId, obj, absent: set, known=None) -> None:
    """Refuse a typed object whose children are not stored yet, or which
    records a size other than a child's: a blob's length, a received
    subtree's Tree.size.  Only its contents may be missing, and only when
    the sender declared them absent.  `known`: id -> size (None: not
    known) of objects already seen stored, not asked of the store again."""
    known = known or {}
    if isinstance(obj, Tree) and list(map(known.get, obj.ids)) == list(obj.sizes):
        return  # every child seen stored, with the size the tree records (a received tree's usual case)
    allowed = contents_id(obj)
    recorded = recorded_sizes(obj)
    for child, is_typed, _ in edges(obj):
        size = known.get(child, _MISSING)
        if size is _MISSING:
            size = _stored_size(store, child, is_typed and child != allowed)
        if size is _MISSING:
            if child == allowed and child in absent:
                continue
            raise RemoteError(f"object {oid.display} arrived before its child {child.display}; "
                              "it was not stored")
        want = recorded.get(child)
        if size is not None and want is not None and size != want:
            raise RemoteError(f"object {oid.display} records {want} bytes for {child.display}, "
                              f"which has {size}; it was not stored")


_MISSING = object()


def _stored_size(store: ObjectStore, oid: ObjectId, is_typed: bool):
    """A stored blob's length, None for a stored typed object (its size
    would need reading it), _MISSING when the store lacks it."""
    if is_typed:
        return None if store.has(oid) else _MISSING
    try:
        return store.size(oid)
    except ObjectMissing:
        return _MISSING


class Receiver:
    """Stores a stream of objects in arrival order: small blobs verified and
    written at once, large ones streamed, typed objects checked for their
    children first.  Remembers what it stored so that a tree's check does
    not stat the blobs that arrived just before it."""

    def __init__(self, store: ObjectStore):
        self.store = store
        self.absent: set = set()
        self.known: dict = {}  # id -> size (None: not known) of what is stored
        self._landing = store.batch()
        self._held: list[tuple[ObjectId, bytes]] = []
        self._held_bytes = 0
        self._closed = False

    def _stored(self, objects: list[tuple[ObjectId, int | None]]) -> None:
        """Remember objects as stored: (id, size; None: not known) each."""
        if len(self.known) + len(objects) > KNOWN_MAX:
            # a bound on memory; a forgotten id is only asked of the store,
            # so what the batch holds (a pack not yet published) is published first
            self._landing.flush()
            self.known.clear()
        self.known.update(objects)

    def write(self, oid: ObjectId, data: bytes, size: int | None = None) -> None:
        """Store the verified bytes of a typed object, after every object
        before it (its children may be among them).  `size`: the size a
        parent may record for it (a tree's Tree.size)."""
        self._held.append((oid, data))
        self._held_bytes += len(data)
        if self._held_bytes >= TYPED_HELD:
            self._write_held()
        self._stored([(oid, size)])

    def _write_held(self) -> None:
        self._landing.order()  # every blob before them is stored before them
        for oid, data in self._held:
            self._write_now(oid, data)
        self._held, self._held_bytes = [], 0

    def _write_now(self, oid: ObjectId, data: bytes) -> None:
        if len(data) < WHOLE:
            self._landing.write_now(oid, data)
        else:
            self._landing.flush()  # written loose: what it names must be visible first
            self.store.write_stream(io.BytesIO(data), expected=oid)

    def blobs(self, objects: list[tuple[ObjectId, bytes]], absent: bool = False) -> None:
        """Small blobs, (id, bytes) each: all verified, then written
        together (a mismatch stores none of them).  `absent`: the caller
        found them missing from the store (BatchWriter.write_many)."""
        for oid, data in objects:
            verify(oid, data)
        self._store_blobs(objects, absent)

    def _store_blobs(self, objects: list[tuple[ObjectId, bytes]], absent: bool = False) -> None:
        self._landing.write_many(objects, absent)
        self._stored([(oid, len(data)) for oid, data in objects])

    def stream(self, inc: Incoming) -> None:
        """A large blob, from the wire to the store in chunks."""
        self._landing.stream(inc.oid, inc.stream)
        self._stored([(inc.oid, inc.size)])

    def take(self, inc: Incoming | PackFrame) -> None:
        """One object of a put, or a pack frame's: what it is is learnt
        from its bytes."""
        if isinstance(inc, PackFrame):
            self._whole(inc.objects())
            return
        data = inc.data
        if data is None:
            if inc.absent:
                self.absent.add(inc.oid)
                return
            data = whole_bytes(inc)
            if data is None:
                self.stream(inc)
                return
        self._whole([(inc.oid, data)])

    def _whole(self, objects: list[tuple[ObjectId, bytes]]) -> None:
        """Whole objects, all verified before any is stored; the blobs
        between typed objects written together."""
        for oid, data in objects:
            verify(oid, data)
        blobs = []
        for oid, data in objects:
            obj = typed(oid, data)
            if obj is None:
                blobs.append((oid, data))
                continue
            self._store_blobs(blobs)
            blobs = []
            check_children(self.store, oid, obj, self.absent, self.known)
            self.write(oid, data, obj.size if isinstance(obj, Tree) else None)
        self._store_blobs(blobs)

    def close(self) -> None:
        """Store what waits, and stop the batch writer's threads; once."""
        if not self._closed:
            self._closed = True
            try:
                self._write_held()
            finally:
                self._landing.close()
