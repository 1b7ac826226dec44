"""Wire frames (docs/protocol.md §2): msgpack values back to back over any
byte stream.  Requests and replies are maps; objects travel as tagged
arrays — small objects whole, many to a pack frame; a large one announced
with its size and followed by chunks — so a blob of any size crosses without
ever being whole in memory.  This and cl/objects/encoding.py are the only modules that touch
msgpack."""

from typing import Callable, Iterator

import msgpack

from cl.errors import CLError, ObjectMissing
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore

VERSION = 2
WHOLE_MAX = 1 << 20      # objects below this travel whole
PACK_BYTES = 1 << 18     # whole objects are gathered into a pack frame up to this size…
PACK_OBJECTS = 256       # …or this many (an interrupted transfer loses at most its last pack)
CHUNK = 1 << 20          # the size of each chunk of a large object
READ_SIZE = 1 << 20      # what a stream is asked for at once: the pipe to ssh holds 1 MiB
MAX_BUFFER = 8 << 20     # a frame larger than this is refused


class RemoteError(CLError):
    """The remote side failed, broke the protocol, or went away."""


class Closed(RemoteError):
    """The stream ended where a frame was expected."""


SAID_MAX = 300  # characters of a peer's message shown


def said(value) -> str:
    """What a peer says (an error, its stderr), as one printable line of
    at most SAID_MAX characters: a message from a remote never moves the
    cursor, sets a terminal title or starts a second line that looks like
    cl's own."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= SAID_MAX else text[:SAID_MAX] + "…"


def wire_id(oid: str) -> bytes:
    return bytes.fromhex(oid)


def wire_ids(oids: list[str]) -> list[bytes]:
    """`wire_id` of each of many ids (a get's, a have's), without a
    Python call per id."""
    return list(map(bytes.fromhex, oids))


def from_wire(raw) -> ObjectId:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise RemoteError(f"malformed object id in a frame: {raw!r:.80}")
    return ObjectId.of_digest(raw)


def ids_from_wire(raws: list) -> list[ObjectId]:
    """Raw ids from a frame (a pack frame's, a get's), checked together:
    a frame carries hundreds, a get thousands."""
    if raws and (set(map(type, raws)) != {bytes} or set(map(len, raws)) != {32}):
        for raw in raws:
            from_wire(raw)  # names the first malformed one
    return ObjectId.of_digests(raws)


def encode(value) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


END = encode(["e"])


def error_frame(message: str) -> bytes:
    return encode(["!", message])


class FrameReader:
    """Frames from a `read(n) -> bytes` callable (b"" at the end)."""

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                          max_buffer_size=MAX_BUFFER)
        self.out_of_step = False  # a request's frames could not be read to their end

    def recv(self):
        while True:
            try:
                return next(self._unpacker)
            except StopIteration:
                pass
            except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError,
                    TypeError) as exc:  # TypeError: a map or list as a map key
                raise RemoteError(f"malformed frame: {exc}") from None
            data = self._read(READ_SIZE)
            if not data:
                raise Closed("the connection closed in the middle of the conversation")
            try:
                self._unpacker.feed(data)
            except msgpack.BufferFull:
                raise RemoteError("a frame exceeds the size limit") from None

    def recv_map(self) -> dict:
        frame = self.recv()
        if isinstance(frame, list) and frame[:1] == ["!"] and len(frame) == 2:
            raise RemoteError(said(frame[1]))
        if not isinstance(frame, dict):
            raise RemoteError(f"expected a map frame, got {type(frame).__name__}")
        return frame


class ChunkStream:
    """A binary file-like object reading one large object's chunk frames.
    A read returns at most the rest of the current chunk (a short read, as
    a raw file may), and a whole chunk without copying it."""

    def __init__(self, reader: FrameReader, oid: ObjectId, size: int, on_chunk=None):
        self._reader = reader
        self._on_chunk = on_chunk  # called with (0, bytes) per chunk: progress
        self.oid = oid
        self.remaining = size
        self._chunk = b""
        self._pos = 0

    def _fill(self) -> bool:
        if self.remaining <= 0:
            return False
        frame = self._reader.recv()
        if isinstance(frame, list) and frame[:1] == ["!"] and len(frame) == 2:
            raise RemoteError(said(frame[1]))
        if not (isinstance(frame, list) and len(frame) == 2 and frame[0] == "c"
                and isinstance(frame[1], bytes)):
            raise RemoteError(f"expected a chunk of object {self.oid.display}")
        if len(frame[1]) > self.remaining:
            raise RemoteError(f"object {self.oid.display} is longer than announced")
        self.remaining -= len(frame[1])
        self._chunk, self._pos = frame[1], 0
        if self._on_chunk is not None:
            self._on_chunk(0, len(frame[1]))
        return True

    def peek(self) -> bytes:
        """The first bytes not yet read, without consuming them."""
        if self._pos >= len(self._chunk):
            self._fill()
        return self._chunk[self._pos:self._pos + 16]

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        if self._pos >= len(self._chunk) and not self._fill():
            return b""
        chunk, pos = self._chunk, self._pos
        if pos == 0 and len(chunk) <= n:
            self._pos = len(chunk)
            return chunk
        self._pos = min(len(chunk), pos + n)
        return chunk[pos:self._pos]

    def drain(self) -> None:
        while self._pos < len(self._chunk) or self._fill():
            self._chunk, self._pos = b"", 0


class PackFrame:
    """The objects of one pack frame, for a reader that takes them
    together: `oids[i]` names `datas[i]` (whole objects, not yet hashed)."""

    __slots__ = ("oids", "datas", "size")

    def __init__(self, oids: list[ObjectId], datas: list[bytes]):
        self.oids, self.datas = oids, datas
        self.size = sum(map(len, datas))

    def __len__(self) -> int:
        return len(self.oids)

    def objects(self) -> list[tuple[ObjectId, bytes]]:
        return list(zip(self.oids, self.datas))


class Incoming:
    """One object frame of a stream: `data` for a whole object, `stream`
    (a ChunkStream, to be read to its end before the next frame) for a large
    one, neither when the sender declared it `absent`."""

    __slots__ = ("oid", "size", "data", "stream", "absent")

    def __init__(self, oid, size, data=None, stream=None, absent=False):
        self.oid, self.size, self.data, self.stream, self.absent = oid, size, data, stream, absent


def too_large(oid: ObjectId, size: int, limit: int) -> RemoteError:
    return RemoteError(f"object {oid.display} is {size} bytes, more than the {limit} bytes "
                       "accepted (config sync.max_object_size)")


def read_objects(reader: FrameReader, max_object: int | None = None,
                 on_chunk=None, packs: bool = False) -> Iterator[Incoming | PackFrame]:
    """The object frames of a stream up to its `["e"]`.  An object larger
    than `max_object` bytes is refused as it is announced, before any of
    it is stored.  `on_chunk(0, n)` hears of each chunk of a large object
    as it is read (progress).  With `packs`, a pack frame's objects come
    as one PackFrame (to be verified and stored together), else one by one."""
    while True:
        frame = reader.recv()
        if not isinstance(frame, list) or not frame or not isinstance(frame[0], str):
            raise RemoteError("malformed object frame")
        tag = frame[0]
        if tag == "e" and len(frame) == 1:
            return
        if tag == "!" and len(frame) == 2:
            raise RemoteError(said(frame[1]))
        if tag == "p" and len(frame) == 3 and isinstance(frame[1], list) \
                and isinstance(frame[2], list) and len(frame[1]) == len(frame[2]):
            oids = ids_from_wire(frame[1])
            if frame[2] and set(map(type, frame[2])) != {bytes}:
                raise RemoteError("malformed object frame 'p'")
            if max_object is not None and frame[2] and max(map(len, frame[2])) > max_object:
                oid, data = next((o, d) for o, d in zip(oids, frame[2]) if len(d) > max_object)
                raise too_large(oid, len(data), max_object)
            if packs:
                yield PackFrame(oids, frame[2])
            else:
                for oid, data in zip(oids, frame[2]):
                    yield Incoming(oid, len(data), data=data)
        elif tag == "o" and len(frame) == 3 and isinstance(frame[2], bytes):
            oid = from_wire(frame[1])
            if max_object is not None and len(frame[2]) > max_object:
                raise too_large(oid, len(frame[2]), max_object)
            yield Incoming(oid, len(frame[2]), data=frame[2])
        elif tag == "b" and len(frame) == 3 and isinstance(frame[2], int) and frame[2] >= 0:
            oid = from_wire(frame[1])
            if max_object is not None and frame[2] > max_object:
                raise too_large(oid, frame[2], max_object)
            stream = ChunkStream(reader, oid, frame[2], on_chunk)
            yield Incoming(oid, frame[2], stream=stream)
            stream.drain()
            if stream.remaining:
                raise RemoteError(f"object {oid.display} ended early")
        elif tag == "x" and len(frame) == 2:
            yield Incoming(from_wire(frame[1]), 0, absent=True)
        else:
            raise RemoteError(f"malformed object frame {tag!r}")


def _bin_header(n: int) -> bytes:
    """msgpack's header of a bin of n bytes, the width packb would choose."""
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


_CHUNK_TAG = b"\x92\xa1c"  # a 2-element array, then the string "c"


def chunk_frame(data: bytes) -> tuple[bytes, bytes]:
    """`["c", data]` as (header, data): the same bytes as encode() gives,
    without copying a megabyte into a new buffer per chunk."""
    return _CHUNK_TAG + _bin_header(len(data)), data


def large_frames(store: ObjectStore, oid: str, size: int, meter=None) -> Iterator[bytes]:
    """A large object: `["b", id, size]`, then its chunks (each counted
    on `meter`, a cl.objects.progress.Meter, if given)."""
    yield encode(["b", wire_id(oid), size])
    sent = 0
    with store.open(oid, verify=False) as f:  # streamed: the receiver verifies
        while sent < size:
            chunk = f.read(min(CHUNK, size - sent))
            if not chunk:
                raise RemoteError(f"object {ObjectId(oid).display} shrank while being sent")
            sent += len(chunk)
            yield from chunk_frame(chunk)
            if meter is not None:
                meter.add(0, len(chunk))


def object_frames(store: ObjectStore, oid: str) -> Iterator[bytes]:
    """The encoded frames carrying one object from a store."""
    size = store.size(oid)
    if size < WHOLE_MAX:
        yield encode(["o", wire_id(oid), store.read_bytes(oid)])
    else:
        yield from large_frames(store, oid, size)


def absent_frame(oid: str) -> bytes:
    return encode(["x", wire_id(oid)])


def stream_frames(store: ObjectStore, order: list[str], absent=frozenset(),
                  missing_ok: bool = False, sizes=None, meter=None) -> Iterator[bytes]:
    """The frames carrying the objects of `order`, in that order: runs of
    small objects gathered into pack frames (one frame, not one each, is
    what makes many small objects cheap on both sides), each large one
    announced and chunked, those in `absent` — and with `missing_ok`, those
    the store lacks — declared absent.  `sizes`: sizes recorded for some
    objects, which spare a stat each when they are right.  `meter` (a
    cl.objects.progress.Meter) counts each object as its frame goes."""
    sizes = sizes or {}
    read_small = store.small_reader(len(order))
    ids: list[bytes] = []
    datas: list[bytes] = []
    size = 0
    for oid in order:
        gone = oid in absent
        data = None
        if not gone:
            try:
                data = read_small(oid, WHOLE_MAX, sizes.get(oid))
            except ObjectMissing:
                if not missing_ok:
                    raise
                gone = True
        if data is not None:
            ids.append(bytes.fromhex(oid))  # wire_id, without a call of ours per object
            datas.append(data)
            size += len(data)
            if meter is not None:
                meter.add(1, len(data))
            if size < PACK_BYTES and len(ids) < PACK_OBJECTS:
                continue
        if ids:
            yield encode(["p", ids, datas])
            ids, datas, size = [], [], 0
        if gone:
            yield absent_frame(oid)
            if meter is not None:
                meter.add(1, 0)
        elif data is None:
            yield from large_frames(store, oid, store.size(oid), meter)
            if meter is not None:
                meter.add(1, 0)
    if ids:
        yield encode(["p", ids, datas])
