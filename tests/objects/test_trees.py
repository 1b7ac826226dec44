"""Paths inside contents: split_path, lookup, walk, reachable."""

import pytest

from cl.errors import PathEscape
from cl.objects.ingest import ingest_path
from cl.objects.trees import NotInBundle, lookup, reachable, split_path, walk
from cl.objects.types import MODE_DIR, MODE_FILE, MODE_LINK

from .helpers import build_files, object_count


@pytest.mark.parametrize("path,parts", [
    ("", []), (".", []), ("/", []), ("a", ["a"]), ("a/b", ["a", "b"]), ("a//b/", ["a", "b"]),
    ("./a/./b", ["a", "b"]), ("a/../b", ["b"]), ("a/b/..", ["a"]), ("/a/b", ["a", "b"]),
])
def test_split_path(path, parts):
    assert split_path(path) == parts


@pytest.mark.parametrize("path", ["..", "../x", "x/../../etc", "a/b/../../..", "/../etc",
                                  "./../x", "a/../../a"])
def test_split_path_refuses_escapes(path):
    with pytest.raises(PathEscape) as info:
        split_path(path)
    assert info.value.path.lstrip("/") == path.lstrip("/")


@pytest.fixture
def tree(store, tmp_path):
    root = build_files(str(tmp_path / "src"), {
        "a.txt": b"a", "d": {"e": {"f.txt": b"ffff"}}, "l": ("link", "d")})
    return ingest_path(store, root)


def test_lookup(store, tree):
    assert lookup(store, tree, "") == tree
    assert lookup(store, tree, "d/e/f.txt").size == 4
    assert lookup(store, tree, "d/e/f.txt").mode == MODE_FILE
    assert lookup(store, tree, "/d/./e/../e").mode == MODE_DIR
    assert lookup(store, tree, "l").mode == MODE_LINK


def test_lookup_refuses_escape(store, tree):
    with pytest.raises(PathEscape):
        lookup(store, tree, "x/../../etc")
    with pytest.raises(PathEscape):
        lookup(store, tree, "d/../../a.txt")


@pytest.mark.parametrize("path,problem", [
    ("missing", "no such file"), ("d/missing", "no such file"),
    ("a.txt/x", "not a directory"), ("l/e", "not a directory"),  # links are not followed
])
def test_lookup_errors(store, tree, path, problem):
    with pytest.raises(NotInBundle, match=problem):
        lookup(store, tree, path)


def test_walk_parents_first(store, tree):
    paths = [p for p, _ in walk(store, tree)]
    assert paths == ["", "a.txt", "d", "d/e", "d/e/f.txt", "l"]


def test_reachable_lists_every_object_once(store, tree):
    ids = list(reachable(store, tree))
    assert len(ids) == len(set(ids)) == object_count(store)
