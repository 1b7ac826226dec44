"""Wire frames (docs/protocol.md §2): msgpack values back to back over any
byte stream.  Requests and replies are maps; objects travel as tagged
arrays — a whole small object, or a large one announced with its size and
followed by chunks — so a blob of any size crosses without ever being whole
in memory.  This and cl/objects/encoding.py are the only modules that touch
msgpack."""

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import msgpack

from cl.errors import CLError
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore

VERSION = 1
WHOLE_MAX = 1 << 20      # objects below this travel in one frame
CHUNK = 1 << 20          # the size of each chunk of a large object
READ_SIZE = 1 << 18
MAX_BUFFER = 8 << 20     # a frame larger than this is refused


class RemoteError(CLError):
    """The remote side failed, broke the protocol, or went away."""


class Closed(RemoteError):
    """The stream ended where a frame was expected."""


def wire_id(oid: str) -> bytes:
    return bytes.fromhex(oid)


def from_wire(raw) -> ObjectId:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise RemoteError(f"malformed object id in a frame: {raw!r:.80}")
    return ObjectId(raw.hex())


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

    def recv(self):
        while True:
            try:
                return next(self._unpacker)
            except StopIteration:
                pass
            except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
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
            raise RemoteError(str(frame[1]))
        if not isinstance(frame, dict):
            raise RemoteError(f"expected a map frame, got {type(frame).__name__}")
        return frame


class ChunkStream:
    """A binary file-like object reading one large object's chunk frames."""

    def __init__(self, reader: FrameReader, oid: ObjectId, size: int):
        self._reader = reader
        self.oid = oid
        self.remaining = size
        self._buf = memoryview(b"")

    def _fill(self) -> bool:
        if self.remaining <= 0:
            return False
        frame = self._reader.recv()
        if isinstance(frame, list) and frame[:1] == ["!"] and len(frame) == 2:
            raise RemoteError(str(frame[1]))
        if not (isinstance(frame, list) and len(frame) == 2 and frame[0] == "c"
                and isinstance(frame[1], bytes)):
            raise RemoteError(f"expected a chunk of object {self.oid.display}")
        if len(frame[1]) > self.remaining:
            raise RemoteError(f"object {self.oid.display} is longer than announced")
        self.remaining -= len(frame[1])
        self._buf = memoryview(frame[1])
        return True

    def peek(self) -> bytes:
        """The first bytes not yet read, without consuming them."""
        if not self._buf:
            self._fill()
        return bytes(self._buf[:16])

    def read(self, n: int = -1) -> bytes:
        out = []
        want = n if n >= 0 else float("inf")
        got = 0
        while got < want:
            if not self._buf and not self._fill():
                break
            take = self._buf[: int(min(want - got, len(self._buf)))]
            self._buf = self._buf[len(take):]
            out.append(bytes(take))
            got += len(take)
        return b"".join(out)

    def drain(self) -> None:
        while self._buf or self._fill():
            self._buf = memoryview(b"")


class Incoming:
    """One object frame of a stream: `data` for a whole object, `stream`
    (a ChunkStream, to be read to its end before the next frame) for a large
    one, neither when the sender declared it `absent`."""

    __slots__ = ("oid", "size", "data", "stream", "absent")

    def __init__(self, oid, size, data=None, stream=None, absent=False):
        self.oid, self.size, self.data, self.stream, self.absent = oid, size, data, stream, absent


def read_objects(reader: FrameReader) -> Iterator[Incoming]:
    """The object frames of a stream up to its `["e"]`."""
    while True:
        frame = reader.recv()
        if not isinstance(frame, list) or not frame or not isinstance(frame[0], str):
            raise RemoteError("malformed object frame")
        tag = frame[0]
        if tag == "e" and len(frame) == 1:
            return
        if tag == "!" and len(frame) == 2:
            raise RemoteError(str(frame[1]))
        if tag == "o" and len(frame) == 3 and isinstance(frame[2], bytes):
            yield Incoming(from_wire(frame[1]), len(frame[2]), data=frame[2])
        elif tag == "b" and len(frame) == 3 and isinstance(frame[2], int) and frame[2] >= 0:
            oid = from_wire(frame[1])
            stream = ChunkStream(reader, oid, frame[2])
            yield Incoming(oid, frame[2], stream=stream)
            stream.drain()
            if stream.remaining:
                raise RemoteError(f"object {oid.display} ended early")
        elif tag == "x" and len(frame) == 2:
            yield Incoming(from_wire(frame[1]), 0, absent=True)
        else:
            raise RemoteError(f"malformed object frame {tag!r}")


def load_small(store: ObjectStore, oid: str) -> bytes | None:
    """An object's bytes if it travels whole, else None (it will stream)."""
    if store.size(oid) < WHOLE_MAX:
        return store.read_bytes(oid)
    return None


def object_frames(store: ObjectStore, oid: str, data: bytes | None = None) -> Iterator[bytes]:
    """The encoded frames carrying one object from a store (`data`: its
    bytes, already read)."""
    if data is not None:
        yield encode(["o", wire_id(oid), data])
        return
    size = store.size(oid)
    if size < WHOLE_MAX:
        yield encode(["o", wire_id(oid), store.read_bytes(oid)])
        return
    yield encode(["b", wire_id(oid), size])
    sent = 0
    with store.open(oid) as f:
        while sent < size:
            chunk = f.read(min(CHUNK, size - sent))
            if not chunk:
                raise RemoteError(f"object {ObjectId(oid).display} shrank while being sent")
            sent += len(chunk)
            yield encode(["c", chunk])


def absent_frame(oid: str) -> bytes:
    return encode(["x", wire_id(oid)])


def read_ahead(store: ObjectStore, order: list[str], skip: set, batch: int = 64):
    """(id, bytes or None) in order, small objects read a batch ahead on a
    few threads: opening many small files one by one is the sender's cost."""
    if len(order) < batch:
        for oid in order:
            yield oid, None
        return
    def load(ids):
        return [None if oid in skip else load_small(store, oid) for oid in ids]

    depth = 4  # batches in flight: the reads of several overlap
    with ThreadPoolExecutor(depth, thread_name_prefix="cl-send") as pool:
        batches = [order[i:i + batch] for i in range(0, len(order), batch)]
        ahead = [pool.submit(load, ids) for ids in batches[:depth]]
        for i, ids in enumerate(batches):
            data = ahead[i].result()
            ahead[i] = None
            if i + depth < len(batches):
                ahead.append(pool.submit(load, batches[i + depth]))
            yield from zip(ids, data)
