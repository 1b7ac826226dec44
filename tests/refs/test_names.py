"""Ref names (cl/refs/names.py): one grammar, held by both ref stores on
every update, so a name such as `worksheets/../../x` from a peer or a bug
is never stored."""

import pytest

from cl.refs.names import BadRefName, check_name, synced

A = "aa" * 32

GOOD = ["HEAD", f"bundles/{A}", "worksheets/w1", "worksheets/" + "f" * 32,
        "server/tokens/alice", "remotes/origin/worksheets/w1", "r", "remotes/café/x"]
BAD = ["", "/", "a//b", "a/", "/a", ".", "..", "worksheets/../../x", "worksheets/..",
       "bundles/x", f"bundles/{A}/x", "worksheets/a b", "worksheets/", "a/.hidden",
       "x" * 256, "tab\tname", "new\nline", "back\\\\slash", "worksheets/" + "w" * 129]


@pytest.mark.parametrize("name", GOOD)
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", BAD + [None, 5, b"HEAD"])
def test_bad_names(name):
    with pytest.raises(BadRefName):
        check_name(name)
    assert not synced(name)


@pytest.mark.parametrize("name", BAD)
def test_stores_refuse_bad_names(refs, name):
    with pytest.raises(BadRefName):
        refs.set_if_equals(name, None, A)
    assert refs.items() == []
