"""Storing objects as they arrive (docs/protocol.md §5): every object is
re-hashed and a mismatch stores nothing and names the object; a typed object
is stored only when its children already are (the connectivity invariant,
children-first ordering); a large blob goes from the wire to the store in
chunks, never whole in memory."""

import io
from concurrent.futures import ThreadPoolExecutor

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


class Receiver:
    """Stores a stream of objects, writing small blobs on a few threads
    (file creation dominates many small objects; the threads overlap it)
    and everything else in order.  Before a typed object is checked and
    written, every blob before it is on disk: children first still holds."""

    WORKERS = 4
    BATCH = 64       # blobs per task: fewer futures and lock hand-offs per object
    PENDING = 8      # tasks in flight before waiting

    def __init__(self, store: ObjectStore):
        self.store = store
        self.absent: set = set()
        self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="cl-receive")
        self._pending: list = []
        self._batch: list = []

    def drain(self) -> None:
        self._submit()
        pending, self._pending = self._pending, []
        failure = None
        for future in pending:
            try:
                future.result()
            except BaseException as exc:  # the first failure is raised once all have ended
                failure = failure or exc
        if failure is not None:
            raise failure

    def _write(self, batch) -> None:
        failure = None
        for oid, data in batch:
            try:
                verify(oid, data)
                self.store.write_bytes(data)
            except BaseException as exc:  # the others are still written; the first failure is raised
                failure = failure or exc
        if failure is not None:
            raise failure

    def _submit(self) -> None:
        if self._batch:
            self._pending.append(self._pool.submit(self._write, self._batch))
            self._batch = []

    def blob(self, oid: ObjectId, data: bytes) -> None:
        """A small blob, verified and written in the background (a mismatch
        is raised by the next drain, and stores nothing)."""
        self._batch.append((oid, data))
        if len(self._batch) >= self.BATCH:
            self._submit()
            if len(self._pending) >= self.PENDING:
                self.drain()

    def take(self, inc: Incoming) -> None:
        if inc.absent:
            self.absent.add(inc.oid)
            return
        data = whole_bytes(inc)
        if data is None:
            self.drain()
            self.store.write_stream(inc.stream, expected=inc.oid)
            return
        if len(data) < (1 << 20) and not encoding.looks_like_map(data[:1]):
            self.blob(inc.oid, data)
            return
        verify(inc.oid, data)
        obj = typed(inc.oid, data)
        if obj is None and len(data) < (1 << 20):
            self.blob(inc.oid, data)
            return
        self.drain()
        if obj is not None:
            check_children(self.store, inc.oid, obj, self.absent)
        if len(data) < (1 << 20):
            self.store.write_bytes(data)
        else:
            self.store.write_stream(io.BytesIO(data), expected=inc.oid)

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)
