"""Checkout: contents materialised as files, by hard link or by copy."""

import os
import stat

import pytest

from cl.errors import InputError
from cl.objects.checkout import download, materialize, remove_tree
from cl.objects.ids import hash_bytes
from cl.objects.ingest import ingest_path

from .helpers import build_files

SAMPLE = {
    "a.txt": b"alpha\n",
    "run.sh": ("exec", b"#!/bin/sh\necho run\n"),
    "sub": {"b.txt": b"beta\n", "empty": {}},
    "link": ("link", "a.txt"),
}


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _same_files(a: str, b: str) -> None:
    """The two trees hold the same names, bytes, links and exec bits."""
    for dirpath, dirnames, filenames in os.walk(a):
        rel = os.path.relpath(dirpath, a)
        other = os.path.join(b, rel)
        assert sorted(dirnames + filenames) == sorted(os.listdir(other)), rel
        for name in filenames + dirnames:
            p, q = os.path.join(dirpath, name), os.path.join(other, name)
            assert os.path.islink(p) == os.path.islink(q), name
            if os.path.islink(p):
                assert os.readlink(p) == os.readlink(q)
            elif os.path.isfile(p):
                with open(p, "rb") as f, open(q, "rb") as g:
                    assert f.read() == g.read(), name
                assert bool(_mode(p) & 0o100) == bool(_mode(q) & 0o100), name


def stored_id(store, data):
    """The id of bytes that must be in the store."""
    oid = hash_bytes(data)
    assert store.has(oid)
    return oid


@pytest.fixture
def source(tmp_path):
    return build_files(str(tmp_path / "src"), SAMPLE)


def test_link_checkout_hard_links_read_only_objects(disk_store, source, tmp_path):
    contents = ingest_path(disk_store, source)
    dest = str(tmp_path / "co")
    materialize(disk_store, contents, dest, "link")
    try:
        _same_files(source, dest)
        a = os.path.join(dest, "a.txt")
        obj = disk_store.path(stored_id(disk_store, b"alpha\n"))
        assert os.stat(a).st_ino == os.stat(obj).st_ino
        assert _mode(a) == 0o444
        # one inode cannot carry two modes: exec files are copies, 0555
        sh = os.path.join(dest, "run.sh")
        assert _mode(sh) == 0o555
        assert os.stat(sh).st_ino != os.stat(disk_store.path(stored_id(
            disk_store, b"#!/bin/sh\necho run\n"))).st_ino
        assert _mode(dest) == 0o555 and _mode(os.path.join(dest, "sub")) == 0o555
        assert os.readlink(os.path.join(dest, "link")) == "a.txt"
        if os.geteuid() != 0:  # root writes through any mode
            with pytest.raises(PermissionError):
                open(a, "ab")
    finally:
        remove_tree(dest)
    assert not os.path.lexists(dest)
    assert disk_store.read_bytes(stored_id(disk_store, b"alpha\n")) == b"alpha\n"


def test_link_checkout_from_memory_store_copies_read_only(store, source, tmp_path):
    contents = ingest_path(store, source)
    dest = str(tmp_path / "co")
    materialize(store, contents, dest, "link")
    try:
        _same_files(source, dest)
        assert _mode(os.path.join(dest, "a.txt")) == 0o444
        assert _mode(os.path.join(dest, "run.sh")) == 0o555
    finally:
        remove_tree(dest)


def test_copy_checkout_gives_writable_files(store, source, tmp_path):
    contents = ingest_path(store, source)
    dest = str(tmp_path / "co")
    materialize(store, contents, dest, "copy")
    _same_files(source, dest)
    a = os.path.join(dest, "a.txt")
    assert _mode(a) == 0o644 and _mode(os.path.join(dest, "run.sh")) == 0o755
    if hasattr(store, "path"):  # the disk store: the copy is not a link to the object
        obj = store.path(stored_id(store, b"alpha\n"))
        assert os.stat(a).st_ino != os.stat(obj).st_ino
    with open(a, "ab") as f:
        f.write(b"more")
    assert store.read_bytes(stored_id(store, b"alpha\n")) == b"alpha\n"


def test_checkout_of_single_file_and_link(store, source, tmp_path):
    f = ingest_path(store, os.path.join(source, "a.txt"))
    materialize(store, f, str(tmp_path / "f"), "copy")
    assert (tmp_path / "f").read_bytes() == b"alpha\n"
    link = ingest_path(store, os.path.join(source, "link"))
    materialize(store, link, str(tmp_path / "l"), "link")
    assert os.readlink(tmp_path / "l") == "a.txt"


def test_download_refuses_to_overwrite(store, source, tmp_path):
    contents = ingest_path(store, source)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "precious").write_bytes(b"mine")
    with pytest.raises(InputError, match="already exists"):
        download(store, contents, str(dest))
    assert os.listdir(dest) == ["precious"] and (dest / "precious").read_bytes() == b"mine"
    assert not [n for n in os.listdir(tmp_path) if ".cl-tmp" in n]


def test_download_with_force_replaces(store, source, tmp_path):
    contents = ingest_path(store, source)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "precious").write_bytes(b"mine")
    download(store, contents, str(dest), force=True)
    _same_files(source, str(dest))
    assert not [n for n in os.listdir(tmp_path) if ".cl-tmp" in n]


def test_download_new_path(store, source, tmp_path):
    contents = ingest_path(store, source)
    download(store, contents, str(tmp_path / "fresh"))
    _same_files(source, str(tmp_path / "fresh"))
    assert _mode(str(tmp_path / "fresh" / "a.txt")) == 0o644
