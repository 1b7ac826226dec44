"""Directories far deeper than Python's recursion limit (1000): ingest,
tree reads, lookups, checkouts (copy and link) and removal walk with a
stack of their own, so depth is bounded by the file system (the longest
path the kernel takes, PATH_MAX), not by Python."""

import os
import subprocess
import sys
import tempfile

import pytest

from cl.objects.checkout import download, materialize, remove_tree
from cl.objects.ingest import ingest_path
from cl.objects.trees import lookup, reachable, walk
from cl.objects.types import MODE_LINK


def _deep(root: str, depth: int) -> str:
    """`root/d/d/.../d/f` with `depth` directories, the file at the bottom."""
    path = root
    os.mkdir(path)
    for _ in range(depth):
        path = os.path.join(path, "d")
        os.mkdir(path)
    with open(os.path.join(path, "f"), "w") as f:
        f.write("bottom\n")
    return "/".join(["d"] * depth + ["f"])


@pytest.fixture
def short_tmp():
    """A short base path: 2000 levels of `d/` are 4000 of the kernel's
    4096 bytes per path."""
    where = tempfile.mkdtemp(prefix="cl", dir="/tmp")
    yield where
    subprocess.run(["rm", "-rf", where], check=True)  # GNU rm: any depth


@pytest.mark.parametrize("depth", [500, 2000])
def test_deep_tree_round_trip(disk_store, short_tmp, depth):
    assert depth > sys.getrecursionlimit() or depth == 500
    rel = _deep(os.path.join(short_tmp, "s"), depth)
    contents = ingest_path(disk_store, os.path.join(short_tmp, "s"))
    assert contents.size == len("bottom\n")
    paths = [p for p, _ in walk(disk_store, contents)]
    assert paths[-1] == rel and len(paths) == depth + 2
    assert len(set(reachable(disk_store, contents))) == depth + 2  # every tree and the blob
    assert disk_store.read_bytes(lookup(disk_store, contents, rel).id) == b"bottom\n"
    for how in ("copy", "link"):
        dest = os.path.join(short_tmp, how[0])
        materialize(disk_store, contents, dest, how)
        with open(os.path.join(dest, rel)) as f:
            assert f.read() == "bottom\n"
        remove_tree(dest)
        assert not os.path.lexists(dest)
    download(disk_store, contents, os.path.join(short_tmp, "o"))
    with open(os.path.join(short_tmp, "o", rel)) as f:
        assert f.read() == "bottom\n"


def test_paths_longer_than_the_kernel_takes(disk_store, short_tmp):
    """6000 bytes of path (1500 levels of `ddd/`), past PATH_MAX: ingest,
    checkouts and removal walk by descriptors, never by whole paths."""
    os.mkdir(os.path.join(short_tmp, "deep"))
    fd = os.open(os.path.join(short_tmp, "deep"), os.O_RDONLY)
    try:
        for _ in range(1500):
            os.mkdir("ddd", dir_fd=fd)
            nxt = os.open("ddd", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("deepest\n")
        os.symlink("f", "l", dir_fd=fd)
    finally:
        os.close(fd)
    contents = ingest_path(disk_store, os.path.join(short_tmp, "deep"))
    rel = "/".join(["ddd"] * 1500)
    assert disk_store.read_bytes(lookup(disk_store, contents, rel + "/f").id) == b"deepest\n"
    assert lookup(disk_store, contents, rel + "/l").mode == MODE_LINK
    for how in ("copy", "link"):
        dest = os.path.join(short_tmp, how)
        materialize(disk_store, contents, dest, how)
        remove_tree(dest)
        assert not os.path.lexists(dest)
    remove_tree(os.path.join(short_tmp, "deep"))
    assert os.listdir(short_tmp) == []
