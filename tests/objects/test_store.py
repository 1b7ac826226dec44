"""The object store contract, run against DiskStore and MemoryStore
(the `store` fixture), plus what only the disk layout promises."""

import io
import os
import stat

import blake3
import pytest

from cl.errors import CorruptObject, ObjectMissing
from cl.objects.ids import hash_bytes
from cl.objects.store import CHUNK, SMALL, DiskStore, read_object, verify_blob, write_object
from cl.objects.types import Tree, TreeEntry, MODE_FILE

from .helpers import corrupt, object_count

MISSING = "00" * 32


class ShortReads(io.RawIOBase):
    """A stream that, like a pipe or a socket, returns fewer bytes than asked."""

    def __init__(self, data: bytes, most: int = 1000):
        self.data, self.pos, self.most = data, 0, most

    def readable(self):
        return True

    def readinto(self, buf):
        out = self.data[self.pos:self.pos + min(len(buf), self.most)]
        buf[:len(out)] = out
        self.pos += len(out)
        return len(out)


def test_write_read_has_size(store):
    """[F1] an object is named by the blake3 of its exact bytes."""
    data = b"some bytes\n"
    oid = store.write_bytes(data)
    assert oid == blake3.blake3(data).hexdigest()
    assert store.has(oid)
    assert store.read_bytes(oid) == data
    assert store.size(oid) == len(data)
    with store.open(oid) as f:
        assert f.read() == data
    assert list(store.ids()) == [oid]


def test_missing_objects(store):
    assert not store.has(MISSING)
    for op in (store.read_bytes, store.size, store.open):
        with pytest.raises(ObjectMissing) as info:
            op(MISSING)
        assert info.value.object_id == MISSING and MISSING in str(info.value)


def test_empty_object(store):
    oid = store.write_bytes(b"")
    assert oid == blake3.blake3(b"").hexdigest()
    assert store.read_bytes(oid) == b"" and store.size(oid) == 0


def test_ids_lists_every_object_once(store):
    written = {store.write_bytes(f"object {i}".encode()) for i in range(40)}
    listed = list(store.ids())
    assert len(listed) == len(set(listed)) == 40
    assert set(listed) == written


def test_delete(store):
    keep, gone = store.write_bytes(b"keep"), store.write_bytes(b"gone")
    store.delete(gone)
    assert not store.has(gone) and store.has(keep)
    assert set(store.ids()) == {keep}
    store.delete(gone)  # deleting an absent object is not an error
    with pytest.raises(ObjectMissing):
        store.read_bytes(gone)


def test_dedup(store):
    """[F16] writing the same bytes twice stores them once."""
    a = store.write_bytes(b"twice")
    b, size = store.write_stream(io.BytesIO(b"twice"))
    c = store.write_bytes(bytearray(b"twice"))
    assert a == b == c and size == 5
    assert object_count(store) == 1


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, CHUNK + 12345])
def test_write_stream_hashes_exactly_the_bytes(store, size):
    """[F1] streams of every size around the store's buffer boundaries."""
    data = os.urandom(size)
    oid, n = store.write_stream(io.BytesIO(data))
    assert n == size
    assert oid == blake3.blake3(data).hexdigest()
    assert store.read_bytes(oid) == data


def test_large_stream_over_8_mib(store):
    """[F1] > 8 MiB streams hash equal to blake3 of the data, stored once."""
    data = os.urandom(9 * (1 << 20) + 17)
    oid, n = store.write_stream(io.BytesIO(data), expected=blake3.blake3(data).hexdigest())
    assert (oid, n) == (blake3.blake3(data).hexdigest(), len(data))
    assert store.size(oid) == len(data)
    assert verify_blob(store, oid)
    again, _ = store.write_stream(io.BytesIO(data))
    assert again == oid and object_count(store) == 1


@pytest.mark.parametrize("size", [5000, SMALL + 5000, 3 * SMALL])
def test_short_reads_are_not_the_end(store, size):
    """A stream that returns short reads is read to its real end."""
    data = os.urandom(size)
    oid, n = store.write_stream(ShortReads(data))
    assert n == size and oid == blake3.blake3(data).hexdigest()
    assert store.read_bytes(oid) == data


@pytest.mark.parametrize("size", [10, 2 * SMALL])
def test_write_stream_expected_mismatch_stores_nothing(store, size, tmp_path):
    """[F17] a stream whose bytes do not hash to `expected` is refused whole."""
    before = set(store.ids())
    data = os.urandom(size)
    claimed = "ab" * 32
    with pytest.raises(CorruptObject) as info:
        store.write_stream(io.BytesIO(data), expected=claimed)
    assert info.value.object_id == claimed and claimed in str(info.value)
    assert set(store.ids()) == before
    assert not store.has(blake3.blake3(data).hexdigest())
    if isinstance(store, DiskStore):
        assert os.listdir(store.tmp) == []


def test_write_stream_expected_match(store):
    data = b"expected bytes"
    oid, _ = store.write_stream(io.BytesIO(data), expected=hash_bytes(data))
    assert store.read_bytes(oid) == data


def test_write_file(store, tmp_path):
    for size in (0, 10, SMALL + 3):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        oid, n = store.write_file(str(path))
        assert (oid, n) == (blake3.blake3(data).hexdigest(), size)


def test_read_object_of_corrupted_object(store):
    """[F18] reading a typed object whose bytes changed names the object."""
    tree = Tree((TreeEntry("a", MODE_FILE, 1, store.write_bytes(b"a")),))
    oid = write_object(store, tree)
    assert read_object(store, oid) == tree
    corrupt(store, oid, store.read_bytes(oid)[:-1] + b"x")
    with pytest.raises(CorruptObject) as info:
        read_object(store, oid)
    assert info.value.object_id == oid and oid in str(info.value)


def test_verify_blob_detects_corruption(store):
    oid = store.write_bytes(b"precious data")
    assert verify_blob(store, oid)
    corrupt(store, oid, b"precious dat4")
    assert not verify_blob(store, oid)


# --- the disk layout -------------------------------------------------------------

def test_disk_layout_and_read_only_files(disk_store):
    """[F19] objects live at objects/ab/cdef…, read-only (0444)."""
    small = disk_store.write_bytes(b"small")
    big, _ = disk_store.write_stream(io.BytesIO(os.urandom(2 * SMALL)))
    for oid in (small, big):
        path = os.path.join(disk_store.root, oid[:2], oid[2:])
        assert disk_store.path(oid) == path
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o444, oct(mode)
    assert os.listdir(disk_store.tmp) == []


def test_a_new_repository_makes_fan_out_directories_as_objects_need_them(tmp_path):
    """[F19] `cl init` makes no fan-out directory (git's way): a question
    about objects a new repository lacks reads none, and each write makes
    the one it needs, loose or through a batch's threads."""
    from cl.repo import Repository
    store = Repository.init(str(tmp_path / "hub"), bare=True).store
    assert [n for n in os.listdir(store.root) if len(n) == 2] == []
    asked = [hash_bytes(b"%d" % i) for i in range(1000)]
    with store.writing():
        assert store.is_empty() and store.has_many(asked) == set()
        one = store.write_bytes(b"one")
        same_fan = [oid for oid in asked if oid[:2] == one[:2]]
        assert store.has_many(asked + [one]) == {one} and same_fan  # its fan-out directory is read; none other exists
        big = os.urandom(64 << 10)  # above what a batch packs: written loose by the Landing's threads
        with store.batch() as batch:
            batch.write_many([(hash_bytes(big), big)])
    assert sorted(n for n in os.listdir(store.root) if len(n) == 2) == sorted({one[:2], hash_bytes(big)[:2]})
    assert store.read_bytes(one) == b"one" and store.read_bytes(hash_bytes(big)) == big
    assert not store.is_empty()


@pytest.mark.parametrize("unnamed", [True, False])
def test_disk_writes_are_never_partial_objects(disk_store, unnamed):
    """[F19] a crash leaves at most files in tmp/, never a partial object:
    stray tmp files are invisible to the store.  A small object is an
    unnamed file linked into place whole, which leaves nothing behind and
    needs no tmp/; where the file system cannot do that, and for large
    objects, bytes go through tmp/."""
    if unnamed and not disk_store.unnamed:
        pytest.skip("no O_TMPFILE on this system")
    disk_store.unnamed = unnamed
    stray = os.path.join(disk_store.tmp, "obj-123-partial")
    with open(stray, "wb") as f:
        f.write(b"half an obj")
    os.makedirs(os.path.join(disk_store.root, "zz"), exist_ok=True)
    open(os.path.join(disk_store.root, "zz", "junk"), "w").close()
    os.makedirs(os.path.join(disk_store.root, "ab"), exist_ok=True)
    open(os.path.join(disk_store.root, "ab", "short"), "w").close()
    oid = disk_store.write_bytes(b"real")
    assert list(disk_store.ids()) == [oid]
    assert stat.S_IMODE(os.stat(disk_store.path(oid)).st_mode) == 0o444
    os.unlink(stray)
    os.rmdir(disk_store.tmp)
    if unnamed:
        small = disk_store.write_bytes(b"no tmp needed")
        assert disk_store.read_bytes(small) == b"no tmp needed"
        disk_store.write_verified(small, b"no tmp needed")  # the name taken: deduplicated
        assert disk_store.read_bytes(small) == b"no tmp needed"
    else:
        with pytest.raises(OSError):
            disk_store.write_bytes(b"never stored")
        assert not disk_store.has(hash_bytes(b"never stored"))
    with pytest.raises(OSError):
        disk_store.write_stream(io.BytesIO(os.urandom(2 * SMALL)))
    assert sorted(disk_store.ids()) == sorted([oid, small] if unnamed else [oid])


def test_disk_store_survives_reopen(disk_store):
    oid = disk_store.write_bytes(b"persisted")
    again = DiskStore(disk_store.root, disk_store.tmp)
    assert again.read_bytes(oid) == b"persisted"


# --- bulk operations and the gc lock (the contract, both stores) --------------------


def test_stored_lists_ids_sizes_and_times(store):
    import time
    before = time.time_ns()
    a = store.write_bytes(b"a")
    b, _ = store.write_stream(io.BytesIO(b"b" * (2 * SMALL)))
    listed = {s.id: s for s in store.stored()}
    assert set(listed) == {a, b} == set(store.ids())
    assert listed[a].size == 1 and listed[b].size == 2 * SMALL
    assert all(s.mtime_ns >= before - 10**9 for s in listed.values())  # file system time granularity


def test_has_many(store):
    ids = [store.write_bytes(b"%d" % i) for i in range(300)]
    asked = ids[::2] + [MISSING, "11" * 32]
    assert store.has_many(asked) == set(ids[::2])
    assert store.has_many([]) == set()


def test_read_small(store):
    oid = store.write_bytes(b"x" * 100)
    assert store.read_small(oid, 101) == b"x" * 100
    assert store.read_small(oid, 100) is None
    assert store.read_small(oid, 1000, size=10) == b"x" * 100  # a wrong hint costs reads, not bytes
    assert store.read_small(oid, 1000, size=5000) is None
    with pytest.raises(ObjectMissing):
        store.read_small(MISSING, 1000)


def test_batch_writer_stores_everything_by_close(store):
    many = {hash_bytes(b"obj %d" % i): b"obj %d" % i for i in range(200)}
    big = os.urandom(3 * SMALL)
    with store.batch() as batch:
        for oid, data in many.items():
            batch.write(oid, data)
        batch.flush()
        assert store.has_many(many) == set(many)
        batch.write_now(hash_bytes(b"now"), b"now")
        batch.stream(hash_bytes(big), io.BytesIO(big))
    assert store.read_bytes(hash_bytes(big)) == big
    assert store.has(hash_bytes(b"now"))
    with store.batch() as batch:
        with pytest.raises(CorruptObject):
            batch.stream(hash_bytes(b"other"), io.BytesIO(big))
    assert not store.has(hash_bytes(b"other"))


def test_link_into_or_copy_to(store, tmp_path):
    data = b"linked bytes\n"
    oid = store.write_bytes(data)
    dest = tmp_path / "link"
    if store.link_into(oid, str(dest)):
        assert dest.read_bytes() == data
        assert stat.S_IMODE(dest.stat().st_mode) == 0o444
    else:
        assert not dest.exists()
    store.copy_to(oid, str(tmp_path / "copy"), 0o640)
    assert (tmp_path / "copy").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "copy").stat().st_mode) == 0o640
    with pytest.raises(ObjectMissing):
        store.link_into(MISSING, str(tmp_path / "none"))
        store.copy_to(MISSING, str(tmp_path / "none"), 0o644)


@pytest.mark.parametrize("size", [100, 2 * SMALL])
def test_damaged_objects_are_not_handed_out_and_a_rewrite_repairs(store, tmp_path, size):
    data = os.urandom(size)
    oid = store.write_bytes(data) if size < SMALL else store.write_stream(io.BytesIO(data))[0]
    corrupt(store, oid, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptObject, match=oid):
        store.open(oid).read()
    with store.open(oid, verify=False) as f:
        assert f.read() != data
    assert not store.verify(oid)
    with pytest.raises(CorruptObject, match=oid):
        store.copy_to(oid, str(tmp_path / "copy"), 0o644)
    assert not (tmp_path / "copy").exists()
    if size < SMALL:
        store.write_bytes(data)
    else:
        store.write_stream(io.BytesIO(data))
    assert store.verify(oid) and store.read_bytes(oid) == data


def test_a_write_span_makes_collecting_wait(store):
    """gc's `collecting()` waits for every open write span (here another
    process's for the disk store: one process shares one hold)."""
    import threading
    waited = threading.Event()
    done = threading.Event()
    holder = _hold_span_elsewhere(store)
    try:
        def collect():
            with store.collecting(waiting=waited.set):
                done.set()
        t = threading.Thread(target=collect)
        t.start()
        waited.wait()
        assert not done.is_set()
    finally:
        holder()
    t.join()
    assert done.is_set()


def test_a_write_outside_a_span_holds_until_close(store):
    import threading
    store.write_bytes(b"outside any span")
    waited = threading.Event()
    if isinstance(store, DiskStore):  # gc in the writing process would wait on itself
        with pytest.raises(RuntimeError):
            with store.collecting():
                pass
        store.close()
        with store.collecting(waiting=waited.set):
            pass
    else:
        t = threading.Thread(target=lambda: store.collecting(waiting=waited.set).__enter__())
        t.start()
        waited.wait()
        store.close()
        t.join()
    with store.writing():
        store.write_bytes(b"inside")  # spans nest with nothing left held
    store.close()


def _hold_span_elsewhere(store):
    """Open a write span outside this thread (memory) or process (disk);
    returns the function that ends it."""
    import subprocess
    import sys
    import threading
    if not isinstance(store, DiskStore):
        held, release = threading.Event(), threading.Event()

        def hold():
            with store.writing():
                held.set()
                release.wait()
        t = threading.Thread(target=hold)
        t.start()
        held.wait()
        return lambda: (release.set(), t.join())
    code = ("import sys; from cl.objects.store import DiskStore\n"
            f"s = DiskStore({store.root!r}, {store.tmp!r})\n"
            "with s.writing():\n    print('held', flush=True); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline() == "held\n"
    return lambda: (proc.stdin.close(), proc.wait())


def test_decode_object_names_an_unhashable_type_field():
    """Found by tests/fuzz/test_gcsafe.py: {"type": []} raised TypeError."""
    from cl.objects import encoding
    from cl.objects.store import decode_object
    data = encoding.encode({"type": []})
    with pytest.raises(CorruptObject, match="not a typed object"):
        decode_object(hash_bytes(data), data)
