"""Receiving into a disk store: blobs too large to pack are written by the
Landing's threads while the receiving thread goes on, typed objects wait
for them (small objects go into a pack: tests/objects/test_pack.py).
What must still hold: every child is stored before its parent, a write that
fails is reported and its parent is not stored, and the threads end."""

import os
import threading

import pytest

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.store import read_object
from cl.objects.types import MODE_FILE, Tree, TreeEntry
from cl.objects.loose import Landing
from cl.objects.pack import PACKED_BELOW
from cl.remote.receive import Receiver

from .helpers import disk_store


def blobs(n: int) -> dict:
    out = {}
    for i in range(n):
        data = (f"blob {i}\n".encode() * (i % 7 + 1)).ljust(PACKED_BELOW + i, b".")  # stored loose
        out[hash_bytes(data)] = data
    return out


def tree_bytes(entries: dict) -> tuple:
    tree = Tree(tuple(sorted((TreeEntry(f"f{oid[:12]}", MODE_FILE, len(data), oid)
                              for oid, data in entries.items()), key=lambda e: e.name)))
    data = encoding.encode(tree.to_map())
    return hash_bytes(data), data


@pytest.fixture(params=["unnamed", "renamed"])
def store(request, tmp_path):
    """A disk store writing small objects as unnamed files linked into
    place, and one whose file system refused that (tmp/ and a rename)."""
    store = disk_store(tmp_path)
    if request.param == "unnamed" and not store.unnamed:
        pytest.skip("no O_TMPFILE on this system")
    store.unnamed = request.param == "unnamed"
    return store


def test_blobs_are_stored_before_the_tree_naming_them(store):
    many = blobs(5 * Landing.BATCH_OBJECTS + 3)  # several batches and a partial one
    tid, tdata = tree_bytes(many)
    threads_before = threading.active_count()
    receiver = Receiver(store)
    receiver.blobs(list(many.items()))  # as a pack frame's come
    receiver.write(tid, tdata)
    receiver.close()
    assert threading.active_count() == threads_before
    for oid, data in many.items():
        assert store.read_bytes(oid) == data
    assert read_object(store, tid).entries[0].id in many
    # the tree was linked into place after the last of its blobs
    tree_time = os.stat(store.path(tid)).st_ctime_ns
    assert all(os.stat(store.path(oid)).st_ctime_ns <= tree_time for oid in many)


def test_a_failed_blob_write_is_raised_and_its_tree_not_stored(store):
    many = blobs(3 * Landing.BATCH_OBJECTS)
    doomed = sorted(many)[0]
    # a file where the blob's fan-out directory should be: its write fails
    os.makedirs(os.path.dirname(os.path.dirname(store.path(doomed))), exist_ok=True)
    with open(os.path.dirname(store.path(doomed)), "w") as f:
        f.write("in the way")
    tid, tdata = tree_bytes(many)
    threads_before = threading.active_count()
    receiver = Receiver(store)
    with pytest.raises(OSError):
        try:  # the failure shows at a later write or at the close, as the threads get to it
            for oid, data in many.items():
                receiver.blobs([(oid, data)])
            receiver.write(tid, tdata)
        finally:
            receiver.close()
    receiver.close()  # closing again (as an error path does) ends the threads, stores nothing more
    assert threading.active_count() == threads_before
    assert not store.has(tid)
