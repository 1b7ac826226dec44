"""Bounded fuzzing of the archive readers and of tree names (issue 13
items 11, 13, 17, 18): random bytes named .tar, .tar.gz, .tar.bz2,
.tar.xz or .zip, damaged real archives, and well-formed archives with
hostile member names and link targets each give a tree or one CLError,
never another exception, and nothing is ever written outside the store
(the archive's own directory is left exactly as it was)."""

import io
import os
import tarfile
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles.archives import Limits, ingest_archive
from cl.errors import CLError
from cl.objects import encoding
from cl.objects.store import MemoryStore
from cl.objects.trees import walk
from cl.objects.types import MODE_DIR, MODE_LINK, FormatError, Tree, valid_name

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SUFFIXES = [".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".zip"]
LIMITS = Limits(max_expansion=100, max_unpacked_bytes=8 << 20)

hostile_parts = st.sampled_from(["..", ".", "", "a", "b", "/", "//", "\\", "..\\..", "\x00", "é",
                                 os.fsdecode(b"\xff"), os.fsdecode(b"\xc3"), "\udcc3\udca9",
                                 "x" * 300, " ", "~", "-", "/etc/passwd", "C:", "a/../..", "./"])
hostile_names = st.lists(hostile_parts, min_size=0, max_size=5).map("/".join)


def _directory_state(path) -> dict:
    """Every name under `path` (bytes, not through links) with its size."""
    out = {}
    for root, dirs, files in os.walk(os.fsencode(path)):
        for name in dirs + files:
            full = os.path.join(root, name)
            out[full] = os.lstat(full).st_size
    return out


def _check(store, archive: str) -> None:
    """A tree of valid names, or one CLError; the archive's directory is
    left as it was."""
    where = os.path.dirname(archive)
    before = _directory_state(where)
    try:
        contents = ingest_archive(store, archive, LIMITS)
    except CLError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert contents.mode == MODE_DIR
        for path, c in walk(store, contents):
            assert all(valid_name(p) for p in path.split("/")) if path else True
            if c.mode == MODE_LINK:
                store.read_bytes(c.id)
    assert _directory_state(where) == before


@pytest.fixture
def place(tmp_path):
    """A fresh archive path per example."""
    counter = iter(range(10**9))
    return lambda suffix: str(tmp_path / f"a{next(counter)}{suffix}")


@SETTINGS
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(place, data, suffix):
    path = place(suffix)
    with open(path, "wb") as f:
        f.write(data)
    _check(MemoryStore(), path)


def _tar_bytes(members, compression: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}", format=tarfile.GNU_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        for name, kind, link, data in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.mode = 0o4755 if data[:1] == b"x" else 0o644
            if kind == tarfile.REGTYPE:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def _zip_bytes(members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, kind, link, data in members:
            info = zipfile.ZipInfo(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            if kind == tarfile.SYMTYPE:
                info.create_system = 3
                info.external_attr = 0o120777 << 16
                data = link.encode("utf-8", "surrogateescape")
            elif kind == tarfile.DIRTYPE:
                info.filename += "/"
            z.writestr(info, data)
    return buf.getvalue()


members = st.lists(st.tuples(
    hostile_names,
    st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
                     tarfile.CHRTYPE, tarfile.FIFOTYPE]),
    hostile_names,
    st.binary(max_size=64)), max_size=6)


@SETTINGS
@given(members=members, suffix=st.sampled_from(SUFFIXES))
def test_hostile_names_and_links(place, members, suffix):
    path = place(suffix)
    if suffix == ".zip":
        data = _zip_bytes(members)
    else:
        data = _tar_bytes(members, {".tar": "", ".tar.gz": "gz", ".tar.bz2": "bz2",
                                    ".tar.xz": "xz"}[suffix])
    with open(path, "wb") as f:
        f.write(data)
    _check(MemoryStore(), path)


@SETTINGS
@given(members=members, suffix=st.sampled_from(SUFFIXES), cuts=st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    truncate=st.booleans())
def test_damaged_archives(place, members, suffix, cuts, truncate):
    if suffix == ".zip":
        data = bytearray(_zip_bytes(members))
    else:
        data = bytearray(_tar_bytes(members, {".tar": "", ".tar.gz": "gz", ".tar.bz2": "bz2",
                                              ".tar.xz": "xz"}[suffix]))
    for where, byte in cuts:
        if data:
            data[where % len(data)] = byte
    if truncate and data:
        del data[cuts[0][0] % len(data):]
    path = place(suffix)
    with open(path, "wb") as f:
        f.write(bytes(data))
    _check(MemoryStore(), path)


@SETTINGS
@given(names=st.lists(st.one_of(st.text(max_size=8), st.binary(max_size=8)), max_size=6))
def test_tree_names_decode_strictly(names):
    """Any str or bin names: a FormatError, or a tree that encodes back to
    the same bytes ([F12], [F20])."""
    oid = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    m = {"type": "tree", "entries": [[n, 0o100644, 0, oid] for n in names]}
    try:
        data = encoding.encode(m)
    except CLError:
        return  # a str that is not UTF-8 is no msgpack str
    try:
        tree = Tree.from_map(encoding.decode(data))
    except FormatError:
        return
    assert encoding.encode(tree.to_map()) == data
