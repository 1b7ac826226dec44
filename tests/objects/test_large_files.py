"""Large files and many files: the copy that is hashed while it is made,
its fallback, and the two threads that share a walk's files."""

import mmap
import os
import stat

import blake3
import pytest

from cl.errors import InputError
from cl.objects import ingest, store as store_module
from cl.objects.ids import hash_bytes
from cl.objects.ingest import IngestOptions, ingest_path
from cl.objects.store import SMALL, _copy_through_memory
from cl.objects.trees import read_tree, walk

from .helpers import build_files, object_count


def test_a_file_of_many_copy_chunks_is_hashed_as_stored(disk_store, tmp_path, monkeypatch):
    """The copy lands chunk by chunk and each chunk is hashed as it lands:
    the id is the b3sum of the stored bytes and of the source."""
    monkeypatch.setattr(store_module, "COPY_CHUNK", mmap.ALLOCATIONGRANULARITY)
    data = os.urandom(SMALL + 5 * mmap.ALLOCATIONGRANULARITY + 123)
    path = tmp_path / "big"
    path.write_bytes(data)
    oid, size = disk_store.write_file(str(path))
    assert (oid, size) == (blake3.blake3(data).hexdigest(), len(data))
    with open(disk_store.path(oid), "rb") as f:
        assert f.read() == data
    assert stat.S_IMODE(os.stat(disk_store.path(oid)).st_mode) == 0o444
    assert os.listdir(disk_store.tmp) == []


def test_the_last_copy_chunk_lands_in_tail_chunks(disk_store, tmp_path, monkeypatch):
    """A large file's last COPY_CHUNK is copied (and hashed) in smaller
    pieces, so little is left to hash once the copy ends; the id is still
    the b3sum of the stored bytes."""
    granule = mmap.ALLOCATIONGRANULARITY
    monkeypatch.setattr(store_module, "COPY_CHUNK", 4 * granule)
    monkeypatch.setattr(store_module, "TAIL_CHUNK", granule)
    asked = []
    real = os.copy_file_range

    def recording(src, dst, count, *args):
        asked.append(count)
        return real(src, dst, count, *args)

    monkeypatch.setattr(os, "copy_file_range", recording)
    data = os.urandom(SMALL + 3 * granule + 123)
    (tmp_path / "big").write_bytes(data)
    oid, size = disk_store.write_file(str(tmp_path / "big"))
    assert (oid, size) == (blake3.blake3(data).hexdigest(), len(data))
    with open(disk_store.path(oid), "rb") as f:
        assert f.read() == data
    # whole COPY_CHUNKs while more than one is left, then TAIL_CHUNKs to the end
    big = len(data) // (4 * granule) - (1 if len(data) % (4 * granule) == 0 else 0)
    assert set(asked[:big]) == {4 * granule} and set(asked[big:]) == {granule}
    assert len(asked[big:]) == 4 + 1  # the last COPY_CHUNK's bytes, and the call that finds the end


def test_the_copy_through_memory_hashes_what_it_writes(tmp_path):
    """Where copy_file_range cannot work, the fallback writes and hashes
    the same buffers; it starts over from the beginning of both files."""
    data = os.urandom(3 * SMALL + 7)
    (tmp_path / "src").write_bytes(data)
    src = os.open(tmp_path / "src", os.O_RDONLY)
    dst = os.open(tmp_path / "dst", os.O_RDWR | os.O_CREAT)
    try:
        os.write(dst, b"junk from a failed first attempt")
        os.lseek(src, 1000, os.SEEK_SET)
        hasher = blake3.blake3()
        assert _copy_through_memory(src, dst, hasher) == len(data)
    finally:
        os.close(src)
        os.close(dst)
    assert hasher.hexdigest() == hash_bytes(data)
    assert (tmp_path / "dst").read_bytes() == data


def test_same_large_file_twice_is_stored_once(disk_store, tmp_path):
    data = os.urandom(2 * SMALL)
    (tmp_path / "a").write_bytes(data)
    (tmp_path / "b").write_bytes(data)
    first = disk_store.write_file(str(tmp_path / "a"))
    assert disk_store.write_file(str(tmp_path / "b")) == first
    assert object_count(disk_store) == 1
    assert os.listdir(disk_store.tmp) == []


def test_files_of_every_size_over_both_threads(store, tmp_path):
    """More files than a batch, small and large mixed, in nested
    directories: each lands under its own name with its own bytes."""
    files = {f"d{d}": {f"f{i}": os.urandom((i * 7919) % (SMALL + SMALL // 2)) for i in range(3 * ingest.BATCH)}
             for d in range(3)}
    root = build_files(str(tmp_path / "src"), files)
    contents = ingest_path(store, root)
    seen = {path: c for path, c in walk(store, contents)}
    for d, names in files.items():
        for name, data in names.items():
            c = seen[f"{d}/{name}"]
            assert (c.id, c.size) == (hash_bytes(data), len(data))
    assert len(read_tree(store, contents.id).entries) == 3


def test_a_file_removed_during_the_ingest_stops_it(disk_store, tmp_path, monkeypatch):
    """A failure in either thread ends the whole ingest with one clear
    error and no tmp files left behind."""
    root = build_files(str(tmp_path / "src"), {f"f{i}": b"x" * i for i in range(4 * ingest.BATCH)})
    real_file = ingest._Ingest.file

    def remove_then_write(self, path):
        if path.endswith("/f40"):
            os.unlink(path)
        return real_file(self, path)

    monkeypatch.setattr(ingest._Ingest, "file", remove_then_write)
    with pytest.raises(InputError, match="f40' changed during the upload"):
        ingest_path(disk_store, root)
    assert os.listdir(disk_store.tmp) == []


def test_a_file_swapped_for_a_link_is_not_followed(disk_store, tmp_path, monkeypatch):
    """Between the walk and the write, a file replaced by a link to a file
    outside the upload is refused, never read through the link."""
    root = build_files(str(tmp_path / "src"), {"a": b"a", "b": b"b"})
    (tmp_path / "secret").write_bytes(b"outside the upload")
    real_file = ingest._Ingest.file

    def swap_then_write(self, path):
        if path.endswith("/b") and not os.path.islink(path):
            os.unlink(path)
            os.symlink(tmp_path / "secret", path)
        return real_file(self, path)

    monkeypatch.setattr(ingest._Ingest, "file", swap_then_write)
    with pytest.raises(InputError, match="changed during the upload"):
        ingest_path(disk_store, root)
    # with -L the link is followed, as asked
    contents = ingest_path(disk_store, root, IngestOptions(follow_links=True))
    assert dict(walk(disk_store, contents))["b"].id == hash_bytes(b"outside the upload")


def test_tmp_names_stay_apart_across_fork(disk_store):
    """Tmp files are named by pid and a counter: a forked child, which
    inherits the counter, still names its own."""
    parent_name, fd = disk_store._tmp_file()
    os.close(fd)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            name, child_fd = disk_store._tmp_file()
            os.close(child_fd)
            os.write(write_end, name.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    child_name = os.read(read_end, 4096).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert f"obj-{pid}-" in os.path.basename(child_name)
    assert f"obj-{os.getpid()}-" in os.path.basename(parent_name)
