"""Sparse files keep their holes: in the store, in link and copy checkouts
and in `cl download` (st_blocks tells), with the same id as the bytes
read back (holes read as zeros)."""

import os

import blake3
import pytest

from cl.objects.checkout import download, materialize
from cl.objects.ingest import ingest_path
from tests.conftest import run_cl

APPARENT = 2 << 30  # 2 GiB of which 8 KiB hold data
DATA = b"x" * 4096


def _sparse(path) -> str:
    with open(path, "wb") as f:
        f.write(DATA)  # data at the start,
        f.seek(1 << 30)
        f.write(DATA)  # in the middle,
        f.truncate(APPARENT)  # and a hole at the end
    if os.stat(path).st_blocks * 512 >= 1 << 20:
        pytest.skip("this file system does not make holes")
    return str(path)


def _allocated(path) -> int:
    return os.stat(path).st_blocks * 512


def _b3(path) -> str:
    h = blake3.blake3()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def test_store_and_checkouts_keep_holes(disk_store, tmp_path):
    src = _sparse(tmp_path / "sparse.bin")
    contents = ingest_path(disk_store, src)
    assert contents.size == APPARENT
    assert contents.id == _b3(src)  # the id of the bytes, holes as zeros
    stored = disk_store.path(contents.id)
    assert os.path.getsize(stored) == APPARENT and _allocated(stored) < (1 << 20)
    dest = tmp_path / "copy.bin"
    download(disk_store, contents, str(dest))
    assert os.path.getsize(dest) == APPARENT and _allocated(dest) < (1 << 20)
    assert _b3(dest) == contents.id
    materialize(disk_store, contents, str(tmp_path / "link.bin"), "link")
    assert _allocated(tmp_path / "link.bin") < (1 << 20)


def test_upload_and_download_keep_holes(project, tmp_path):
    src = _sparse(project / "sparse.bin")
    oid = run_cl(["upload", src], project).stdout.strip()
    objects = project / ".codalab" / "objects"
    stored = [p for p in objects.glob("??/*") if os.path.getsize(p) == APPARENT]
    assert len(stored) == 1 and _allocated(stored[0]) < (1 << 20)
    run_cl(["download", oid, "-o", tmp_path / "out.bin"], project)
    assert _allocated(tmp_path / "out.bin") < (1 << 20)
    assert _b3(tmp_path / "out.bin") == _b3(src)


def test_streams_of_zeros_are_stored_as_holes(disk_store):
    """What comes as a stream (an archive member, a received blob) has no
    holes to find: chunks of zeros become holes instead."""
    import io
    data = DATA + bytes(64 << 20) + DATA + bytes(32 << 20)
    oid, size = disk_store.write_stream(io.BytesIO(data))
    assert size == len(data) and oid == blake3.blake3(data).hexdigest()
    path = disk_store.path(oid)
    assert os.path.getsize(path) == len(data) and _allocated(path) < (32 << 20)
    with open(path, "rb") as f:
        assert f.read() == data
