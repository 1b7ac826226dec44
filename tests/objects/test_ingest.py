"""Ingest: files and directories on disk become blobs and trees."""

import os
import socket

import pytest

from cl.errors import InputError
from cl.objects.ids import hash_bytes
from cl.objects.ingest import IngestOptions, ingest_entries, ingest_path, text_contents
from cl.objects.trees import lookup, read_tree, walk
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK

from .helpers import OrderCheckingDiskStore, OrderCheckingMemoryStore, build_files, object_count

SAMPLE = {
    "a.txt": b"alpha\n",
    "run.sh": ("exec", b"#!/bin/sh\necho run\n"),
    "sub": {"b.txt": b"beta beta\n", "deeper": {"c.bin": bytes(range(256))}},
    "empty": {},
    "link-to-a": ("link", "a.txt"),
    "dangling": ("link", "nowhere/at/all"),
    "abs-link": ("link", "/etc/passwd"),
}


def test_files_exec_bits_and_links(store, tmp_path):
    root = build_files(str(tmp_path / "src"), SAMPLE)
    top = ingest_path(store, root)
    assert top.mode == MODE_DIR
    by_path = dict(walk(store, top))
    assert by_path["a.txt"].mode == MODE_FILE
    assert store.read_bytes(by_path["a.txt"].id) == b"alpha\n"
    assert by_path["run.sh"].mode == MODE_EXEC
    assert by_path["sub/deeper/c.bin"].id == hash_bytes(bytes(range(256)))
    assert by_path["empty"].mode == MODE_DIR and by_path["empty"].size == 0
    assert read_tree(store, by_path["empty"].id).entries == ()
    # symlinks are stored as links whose blob is the target, never followed
    for name, target in (("link-to-a", b"a.txt"), ("dangling", b"nowhere/at/all"),
                         ("abs-link", b"/etc/passwd")):
        assert by_path[name].mode == MODE_LINK
        assert store.read_bytes(by_path[name].id) == target
        assert by_path[name].size == len(target)


def test_directory_size_is_total_of_contents(store, tmp_path):
    """[F13] a directory's size is the total of its contents, recursively."""
    root = build_files(str(tmp_path / "src"), SAMPLE)
    top = ingest_path(store, root)
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            total += len(os.readlink(p)) if os.path.islink(p) else os.path.getsize(p)
    assert top.size == total
    for path, c in walk(store, top):
        if c.mode == MODE_DIR:
            assert c.size == sum(e.size for e in read_tree(store, c.id).entries), path


def test_single_file_and_single_link(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {"f": ("exec", b"x"), "l": ("link", "f")})
    f = ingest_path(store, os.path.join(root, "f"))
    assert (f.mode, f.size, f.id) == (MODE_EXEC, 1, hash_bytes(b"x"))
    link = ingest_path(store, os.path.join(root, "l"))
    assert link.mode == MODE_LINK and store.read_bytes(link.id) == b"f"
    followed = ingest_path(store, os.path.join(root, "l"), IngestOptions(follow_links=True))
    assert followed.mode == MODE_EXEC and followed.id == f.id


def test_follow_links(store, tmp_path):
    """-L: links are replaced by what they point at."""
    outside = build_files(str(tmp_path / "outside"), {"o.txt": b"outside\n"})
    root = build_files(str(tmp_path / "src"), {"a.txt": b"alpha\n", "l": ("link", "a.txt"),
                                               "d": ("link", outside)})
    top = ingest_path(store, root, IngestOptions(follow_links=True))
    by_path = dict(walk(store, top))
    assert by_path["l"].mode == MODE_FILE and by_path["l"].id == by_path["a.txt"].id
    assert by_path["d"].mode == MODE_DIR
    assert store.read_bytes(by_path["d/o.txt"].id) == b"outside\n"


def test_follow_links_broken_link_is_an_input_error(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {"l": ("link", "nowhere")})
    with pytest.raises(InputError, match="broken symbolic link"):
        ingest_path(store, root, IngestOptions(follow_links=True))


def test_follow_links_loop_is_an_input_error(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {"a": {"up": ("link", "..")}})
    with pytest.raises(InputError, match="symbolic link loop"):
        ingest_path(store, root, IngestOptions(follow_links=True))
    # without -L the same tree is fine: the link is stored as a link
    top = ingest_path(store, root)
    assert lookup(store, top, "a/up").mode == MODE_LINK


def test_exclude_patterns(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {
        "keep.txt": b"k", "drop.log": b"d", "cache": {"x": b"x"},
        "sub": {"keep.py": b"p", "drop.log": b"d", "cache": {"y": b"y"}, "only": b"o"}})
    opts = IngestOptions(exclude=("*.log", "cache", "sub/only"))
    names = {p for p, _ in walk(store, ingest_path(store, root, opts))}
    assert names == {"", "keep.txt", "sub", "sub/keep.py"}


def test_skip_names(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {"a": b"a", ".codalab": {"repo.db": b"x"}})
    opts = IngestOptions(skip_names=frozenset({".codalab"}))
    assert {p for p, _ in walk(store, ingest_path(store, root, opts))} == {"", "a"}


def test_sockets_and_fifos_are_skipped(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {"a.txt": b"a"})
    os.mkfifo(os.path.join(root, "fifo"))
    sock = socket.socket(socket.AF_UNIX)
    sock_path = os.path.join(root, "sock")
    try:
        sock.bind(sock_path)
        top = ingest_path(store, root)
    finally:
        sock.close()
    assert {p for p, _ in walk(store, top)} == {"", "a.txt"}
    with pytest.raises(InputError, match="not a regular file or directory"):
        ingest_path(store, os.path.join(root, "fifo"))


def test_missing_path(store, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        ingest_path(store, str(tmp_path / "absent"))


def test_same_data_twice_is_stored_once(store, tmp_path):
    """[F16] identical files, directories and re-ingests add no objects."""
    same = {"x.txt": b"same bytes\n", "y.txt": b"same bytes\n", "big": b"z" * 3_000_000}
    root = build_files(str(tmp_path / "src"), {"one": same, "two": same})
    top = ingest_path(store, root)
    # 2 distinct blobs + 1 inner tree (shared by one/ and two/) + the top tree
    assert object_count(store) == 4
    one, two = lookup(store, top, "one"), lookup(store, top, "two")
    assert one.id == two.id
    again = ingest_path(store, root)
    assert again == top and object_count(store) == 4
    copy = build_files(str(tmp_path / "copy"), same)
    assert ingest_path(store, copy).id == one.id and object_count(store) == 4


def test_ingest_is_deterministic_across_stores(tmp_path):
    """Equal file trees give equal ids, whatever the store or the order
    the directory happens to list its entries in."""
    from cl.objects.store import MemoryStore
    a = build_files(str(tmp_path / "a"), SAMPLE)
    b = build_files(str(tmp_path / "b"), dict(reversed(list(SAMPLE.items()))))
    assert ingest_path(MemoryStore(), a) == ingest_path(MemoryStore(), b)


@pytest.mark.parametrize("kind", ["disk", "memory"])
def test_ingest_writes_children_first(kind, tmp_path):
    """[F11] every tree is written after everything it names."""
    os.makedirs(tmp_path / "o")
    os.makedirs(tmp_path / "t")
    store = (OrderCheckingDiskStore(str(tmp_path / "o"), str(tmp_path / "t")) if kind == "disk"
             else OrderCheckingMemoryStore())
    root = build_files(str(tmp_path / "src"), SAMPLE)
    ingest_path(store, root)


def test_ingest_entries_and_text(store):
    a = text_contents(store, "hello\n")
    assert store.read_bytes(a.id) == b"hello\n"
    d = ingest_entries(store, {"b": a, "a": a})
    assert [e.name for e in read_tree(store, d.id).entries] == ["a", "b"]
    assert d.size == 12
    with pytest.raises(InputError, match="invalid name"):
        ingest_entries(store, {"x/y": a})



# --- threads: the ingest calls helpers only once files prove slow ---------------------


def _many_files(root: str, n: int = 600) -> str:
    return build_files(root, {f"d{i % 7}": {f"f{i:04d}.txt": f"file {i}\n".encode() * (i % 5 + 1)
                                           for i in range(i % 7, n, 7)} for i in range(7)})


@pytest.fixture
def helpers(monkeypatch):
    """The helper threads ingests started, kept (Background, recorded)."""
    from cl.objects import ingest
    started = []

    class Recorded(ingest.Background):
        def __init__(self, fn, *args):
            super().__init__(fn, *args)
            started.append(self._thread)

    monkeypatch.setattr(ingest, "Background", Recorded)
    return started


def test_helpers_store_what_one_thread_stores(tmp_path, monkeypatch, helpers):
    """With every file judged slow the helpers join after two windows and
    store what a lone thread stores; with none judged slow, none start."""
    from cl.objects import ingest
    from cl.objects.store import MemoryStore
    root = _many_files(str(tmp_path / "src"))
    monkeypatch.setattr(ingest, "SLOW_FILE", float("inf"))
    alone = ingest_path(MemoryStore(), root)
    assert helpers == []
    monkeypatch.setattr(ingest, "SLOW_FILE", 0.0)
    monkeypatch.setattr(ingest, "WINDOW", 32)
    store = MemoryStore()
    assert ingest_path(store, root) == alone
    assert len(helpers) == ingest.HELPERS
    files = [(p, c) for p, c in walk(store, alone) if c.mode == MODE_FILE]
    assert len(files) == 600
    for path, c in files:
        with open(os.path.join(root, path), "rb") as f:
            assert store.read_bytes(c.id) == f.read(), path


def test_a_failure_in_the_helpers_share_stops_the_ingest(disk_store, tmp_path, monkeypatch, helpers):
    """A file gone between the walk and its reading is an InputError
    however many threads are at work, and every thread has stopped."""
    from cl.objects import ingest
    monkeypatch.setattr(ingest, "SLOW_FILE", 0.0)
    monkeypatch.setattr(ingest, "WINDOW", 32)
    root = _many_files(str(tmp_path / "src"))
    with disk_store.batch() as sink:
        job = ingest._Ingest(disk_store, IngestOptions(), sink)
        job.walk(root)
        os.unlink(job.files[-1])
        with pytest.raises(InputError, match="changed during the upload"):
            job.write_files()
    assert len(helpers) == ingest.HELPERS
    assert not any(t.is_alive() for t in helpers)
