"""Directories far deeper than Python's recursion limit (1000): ingest,
tree reads, lookups, checkouts (copy and link) and removal walk with a
stack of their own, so depth is bounded by the file system (the longest
path the kernel takes, PATH_MAX), not by Python."""

import os
import subprocess
import sys
import tempfile

import pytest

from cl.errors import InputError
from cl.objects.checkout import download, materialize, remove_tree
from cl.objects.ingest import ingest_path
from cl.objects.trees import lookup, reachable, walk


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


def test_a_path_longer_than_the_kernel_takes_is_a_clean_error(disk_store, short_tmp):
    """Deeper than PATH_MAX allows: one InputError, not an OSError from
    somewhere inside (directories made relative to their parent's fd)."""
    fd = os.open(short_tmp, os.O_RDONLY)
    try:
        os.mkdir("deep", dir_fd=fd)
        for _ in range(1500):
            nxt = os.open("deep" if _ == 0 else "ddd", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
            os.mkdir("ddd", dir_fd=fd)
    finally:
        os.close(fd)
    with pytest.raises(InputError, match="too long"):
        ingest_path(disk_store, os.path.join(short_tmp, "deep"))
