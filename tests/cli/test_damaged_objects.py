"""A damaged blob is never handed out silently, and a re-upload of the
same file repairs it (docs/design.md, "Garbage collection and concurrent
writers", on reads and deduplication)."""

import os

import pytest

from cl.objects.ids import hash_bytes
from tests.conftest import tree

SMALL = b"the small file\n" * 10
LARGE = bytes(range(256)) * (8 << 10)  # 2 MiB: stored through tmp/ and a rename


def object_path(project, data: bytes):
    oid = hash_bytes(data)
    return oid, project / ".codalab" / "objects" / oid[:2] / oid[2:]


def damage(path):
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: the size stays
    path.write_bytes(bytes(data))
    path.chmod(0o444)


@pytest.fixture
def damaged(project, cl):
    tree(project, {"d": {"small.txt": SMALL, "large.bin": LARGE}})
    cl(["upload", "d", "-n", "data"], project)
    for data in (SMALL, LARGE):
        damage(object_path(project, data)[1])
    return project


@pytest.mark.parametrize("name", ["small.txt", "large.bin"])
def test_cat_and_download_refuse_a_damaged_blob(damaged, cl, name):
    oid, _ = object_path(damaged, SMALL if name == "small.txt" else LARGE)
    done = cl(["download", f"data/{name}", "-o", "got"], damaged, check=False)
    assert done.returncode == 1
    assert done.stderr == f"cl: object 0x{oid} is corrupt: its bytes do not hash to its id\n"
    assert not os.path.lexists(damaged / "got")
    done = cl(["download", "data", "-o", "all"], damaged, check=False)
    assert done.returncode == 1 and "is corrupt" in done.stderr
    assert not os.path.lexists(damaged / "all")
    if name == "small.txt":  # read whole and checked before anything is printed
        done = cl(["cat", f"data/{name}"], damaged, check=False)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr == f"cl: object 0x{oid} is corrupt: its bytes do not hash to its id\n"


def test_a_reupload_repairs_damaged_blobs(damaged, cl):
    cl(["upload", "d", "-n", "again"], damaged)
    assert cl(["fsck"], damaged, check=False).stdout == ""
    assert cl(["cat", "data/small.txt"], damaged).stdout.encode() == SMALL
    cl(["download", "data", "-o", "got"], damaged)
    assert (damaged / "got" / "large.bin").read_bytes() == LARGE
    for data in (SMALL, LARGE):
        path = object_path(damaged, data)[1]
        assert path.read_bytes() == data and (path.stat().st_mode & 0o777) == 0o444


def test_a_reupload_repairs_an_object_replaced_by_a_fifo(project, cl):
    tree(project, {"f.txt": SMALL})
    cl(["upload", "f.txt"], project)
    _, path = object_path(project, SMALL)
    path.unlink()
    os.mkfifo(path)
    done = cl(["cat", "f.txt"], project, check=False, timeout=120)
    assert done.returncode == 1 and "is not a regular file" in done.stderr
    cl(["upload", "f.txt", "-n", "again"], project, timeout=120)
    assert path.read_bytes() == SMALL
    assert cl(["fsck"], project).stdout == ""
