"""Names that are not valid UTF-8 ([F20]): stored as msgpack bin, held in
Python as `str` with the undecodable bytes as surrogate escapes (what
`os.fsdecode` gives), sorted by their bytes, and given back byte for byte
by checkouts.  Names that are valid UTF-8 keep their str encoding, so no
existing id changes."""

import os

import pytest

from cl.objects import encoding
from cl.objects.checkout import download, materialize
from cl.objects.ingest import ingest_path
from cl.objects.trees import lookup, walk
from cl.objects.types import MODE_FILE, FormatError, Tree, TreeEntry, name_bytes

ID = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def _entry(name):
    return TreeEntry(name, MODE_FILE, 0, ID)


def test_a_non_utf8_name_is_bin_and_a_utf8_name_stays_str():
    """[F20] bin exactly where the bytes are not UTF-8."""
    latin1 = os.fsdecode(b"caf\xe9.txt")
    tree = Tree((_entry("café.txt"), _entry(latin1)))
    m = tree.to_map()
    assert [e[0] for e in m["entries"]] == ["café.txt", b"caf\xe9.txt"]
    data = encoding.encode(m)
    assert Tree.from_map(encoding.decode(data)) == tree


def test_bin_that_is_valid_utf8_is_refused():
    """[F20] one name, one encoding: valid UTF-8 as bin is not canonical."""
    m = {"type": "tree", "entries": [[b"abc", MODE_FILE, 0, ID]]}
    with pytest.raises(FormatError, match="bin"):
        Tree.from_map(m)


def test_a_name_that_hides_utf8_in_escapes_is_refused():
    """[F20] "\\udcc3\\udca9" would be the bytes of "é": not canonical."""
    with pytest.raises(FormatError, match="invalid name"):
        Tree((_entry("\udcc3\udca9"),))
    with pytest.raises(FormatError, match="invalid name"):
        Tree((_entry("\ud800"),))  # a surrogate that stands for no byte


def test_entries_sort_by_bytes():
    """[F12] [F20] order is that of the names' bytes, which for UTF-8 names
    is code point order, and puts b"\\xff" after "\\uff21" (bytes ef bc a1)
    although U+DCFF < U+FF21."""
    ff, wide = os.fsdecode(b"\xff"), "\uff21"
    tree = Tree((_entry(wide), _entry(ff)))
    assert [e.name for e in Tree.from_map(tree.to_map()).entries] == [wide, ff]
    with pytest.raises(FormatError, match="sorted"):
        Tree((_entry(ff), _entry(wide)))
    assert name_bytes(ff) == b"\xff"


def _make(root: bytes) -> None:
    os.makedirs(os.path.join(root, b"d\xfe"))
    with open(os.path.join(root, b"d\xfe", b"f\xff.txt"), "wb") as f:
        f.write(b"latin\n")
    with open(os.path.join(root, "ok-é.txt".encode()), "wb") as f:
        f.write(b"utf8\n")
    os.symlink(b"d\xfe/f\xff.txt", os.path.join(root, b"l\xfd"))


def _listing(root: bytes) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


@pytest.mark.parametrize("how", ["copy", "link"])
def test_ingest_and_checkout_round_trip_the_bytes(disk_store, tmp_path, how):
    """[F20] real files named with invalid UTF-8 bytes: stored, found by
    path, and checked out under the very same bytes."""
    src = os.fsencode(tmp_path / "src")
    os.mkdir(src)
    _make(src)
    contents = ingest_path(disk_store, os.fsdecode(src))
    paths = {p for p, _ in walk(disk_store, contents)}
    assert os.fsdecode(b"d\xfe/f\xff.txt") in paths
    found = lookup(disk_store, contents, os.fsdecode(b"d\xfe/f\xff.txt"))
    assert disk_store.read_bytes(found.id) == b"latin\n"
    dest = os.fsencode(tmp_path / "out")
    if how == "copy":
        download(disk_store, contents, os.fsdecode(dest))
    else:
        materialize(disk_store, contents, os.fsdecode(dest), "link")
    assert _listing(dest) == _listing(src)


def test_ingest_sorts_by_bytes(disk_store, tmp_path):
    """[F12] a directory holding b"\\xff" and "\\uff21" (bytes ef bc a1)
    is stored in byte order."""
    src = tmp_path / "src"
    src.mkdir()
    for name in (b"\xff", "\uff21".encode(), b"a"):
        with open(os.path.join(os.fsencode(src), name), "wb") as f:
            f.write(name)
    contents = ingest_path(disk_store, str(src))
    names = [p for p, _ in walk(disk_store, contents)][1:]
    assert names == ["a", "\uff21", os.fsdecode(b"\xff")]


def test_text_that_is_not_utf8_is_a_clean_error():
    """Text fields (not names) stay str: a surrogate in one is refused with
    an EncodingError (a CLError), never a traceback from msgpack."""
    from cl.errors import CLError
    with pytest.raises(CLError, match="UTF-8"):
        encoding.encode({"name": os.fsdecode(b"x\xff")})
