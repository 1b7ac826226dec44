"""Wire frames (docs/protocol.md §2): malformed frames are refused; a large
object crosses in chunks and reaches the store without being whole in
memory."""

import io

import pytest

from cl.objects.ids import hash_bytes
from cl.objects.store import MemoryStore
from cl.remote import frames
from cl.remote.frames import FrameReader, RemoteError, encode, read_objects

from .helpers import disk_store


def reader_of(*values: bytes) -> FrameReader:
    return FrameReader(io.BytesIO(b"".join(values)).read)


@pytest.mark.parametrize("frame", [
    encode(["o", b"short id", b"data"]),
    encode(["z", b"\0" * 32]),
    encode(["b", b"\0" * 32, -1]),
    encode({"not": "an object frame"}),
    encode(["c", b"a chunk with no object"]),
])
def test_malformed_frames_are_refused(frame):
    with pytest.raises(RemoteError):
        list(read_objects(reader_of(frame, frames.END)))


def test_truncated_stream_is_refused():
    whole = encode(["o", b"\1" * 32, b"x" * 100])
    with pytest.raises(RemoteError, match="closed"):
        list(read_objects(reader_of(whole[:50])))


def test_remote_error_frame_is_raised():
    with pytest.raises(RemoteError, match="disk full"):
        list(read_objects(reader_of(frames.error_frame("disk full"))))


def test_large_object_streams_in_chunks(tmp_path):
    source = MemoryStore()
    data = bytes(range(256)) * (5 * 4096 + 3)  # 5 MiB and a bit
    oid = source.write_bytes(data)
    wire = list(frames.object_frames(source, oid)) + [frames.END]
    reader = reader_of(*wire)
    sent = [reader.recv() for _ in range(1 + 6 + 1)]
    assert [f[0] for f in sent] == ["b"] + ["c"] * 6 + ["e"]
    assert all(len(f[1]) <= frames.CHUNK for f in sent[1:-1])

    class Watching(io.RawIOBase):
        """Feeds the wire bit by bit, remembering the largest read."""
        def __init__(self):
            self.data = io.BytesIO(b"".join(wire))
            self.largest = 0

        def read(self, n=-1):
            out = self.data.read(n)
            self.largest = max(self.largest, len(out))
            return out

    source_wire = Watching()
    store = disk_store(str(tmp_path / "dest"))
    seen = []
    for inc in read_objects(FrameReader(source_wire.read)):
        assert inc.data is None and inc.size == len(data)  # streamed, not whole
        got, size = store.write_stream(inc.stream, expected=inc.oid)
        seen.append(got)
    assert seen == [oid] == [hash_bytes(data)]
    assert store.read_bytes(oid) == data
    assert source_wire.largest <= frames.READ_SIZE


def test_tampered_chunk_stores_nothing(tmp_path):
    source = MemoryStore()
    data = b"\7" * (3 << 20)
    oid = source.write_bytes(data)
    wire = b"".join(frames.object_frames(source, oid)).replace(b"\7" * 64, b"\6" * 64, 1)
    store = disk_store(str(tmp_path / "dest"))
    from cl.errors import CorruptObject
    with pytest.raises(CorruptObject, match=f"0x{oid}"):
        for inc in read_objects(reader_of(wire, frames.END)):
            store.write_stream(inc.stream, expected=inc.oid)
    assert list(store.ids()) == []


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65535, 65536, frames.CHUNK])
def test_chunk_frame_is_the_msgpack_encoding(size):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert b"".join(frames.chunk_frame(data)) == encode(["c", data])


def test_pack_of_small_objects(tmp_path):
    """Small objects travel many to a frame; each comes out with its id."""
    source = MemoryStore()
    blobs = [f"object {i}\n".encode() * i for i in range(200)]
    ids = [source.write_bytes(b) for b in blobs]
    wire = list(frames.stream_frames(source, ids)) + [frames.END]
    assert len(wire) < len(ids) // 10
    got = [(inc.oid, inc.data) for inc in read_objects(reader_of(*wire))]
    assert got == list(zip(ids, blobs))


@pytest.mark.parametrize("frame", [
    encode(["p", [b"\0" * 32], [b"one", b"two"]]),
    encode(["p", [b"\0" * 32], ["not bytes"]]),
    encode(["p", [b"short"], [b"data"]]),
    encode(["p", b"\0" * 32, [b"data"]]),
    encode(["p", [b"\0" * 32] * 5 + ["\0" * 32], [b"data"] * 6]),
    encode(["p", [b"\0" * 32] * 5 + [b"\0" * 33], [b"data"] * 6]),
    encode(["p", [b"\0" * 32] * 6, [b"data"] * 5 + [6]]),
])
def test_malformed_packs_are_refused(frame):
    """A pack frame's ids and bytes are checked together; one bad among
    good ones is refused all the same."""
    with pytest.raises(RemoteError, match="malformed"):
        list(read_objects(reader_of(frame, frames.END)))


def test_a_pack_frame_object_over_the_limit_is_named():
    ids = [bytes([i]) * 32 for i in range(4)]
    frame = encode(["p", ids, [b"x", b"y", b"z" * 100, b"w"]])
    with pytest.raises(RemoteError, match=f"object 0x{ids[2].hex()} is 100 bytes"):
        list(read_objects(reader_of(frame, frames.END), max_object=99))
