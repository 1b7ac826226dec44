"""A removed bundle stays removed (issue 15): after `cl rm U`, a `cl wadd`
or `cl cp` from a directory remote that still lists U does not bring U
back half-way — `cl ls` (and `-u`) and `cl info` never disagree."""

import pytest

from tests.cli.test_errors import one_line_error, snapshot


@pytest.fixture
def clone(tmp_path, cl):
    """A clone of a directory remote whose worksheet lists a.txt and b.txt."""
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init"], origin)
    for name in ("a.txt", "b.txt"):
        (origin / name).write_text(name + "\n")
        cl(["upload", name], origin)
    path = tmp_path / "clone"
    cl(["clone", origin, path], tmp_path)
    return path


def listed(cl, path) -> list[str]:
    return cl(["ls", "-u"], path).stdout.split()


def knows(cl, path, bid) -> bool:
    return cl(["info", "-f", "uuid", bid], path, check=False).returncode == 0


def test_wadd_from_a_remote_still_listing_a_removed_bundle(clone, cl):
    a, b = listed(cl, clone)
    cl(["rm", a], clone)
    assert not knows(cl, clone, a)
    out = cl(["wadd", "origin::origin", "."], clone).stdout
    assert "left out" in out and a[:10] in out, out
    ids = listed(cl, clone)
    assert a not in ids and ids.count(b) == 2
    for bid in ids:
        assert knows(cl, clone, bid)
    table = cl(["ls"], clone).stdout
    assert a[:10] not in table and a not in cl(["ls", "--json"], clone).stdout


def test_cp_of_a_removed_bundle_is_refused_and_changes_nothing(clone, cl):
    a, _ = listed(cl, clone)
    cl(["rm", a], clone)
    before = snapshot(clone)
    done = cl(["cp", f"origin::{a}", "."], clone, check=False)
    assert "was removed here" in one_line_error(done)
    assert snapshot(clone) == before
    assert a not in listed(cl, clone)


def test_ls_never_lists_what_info_does_not_know(clone, cl, tmp_path):
    """Whatever way a removed bundle's id gets onto a worksheet (here the
    text form, saved with its full id), the listing leaves it out."""
    a, b = listed(cl, clone)
    text = cl(["print", "-r"], clone).stdout
    cl(["rm", a], clone)
    (tmp_path / "old.ws").write_text(text)
    cl(["wedit", "-f", tmp_path / "old.ws"], clone, check=False)
    for bid in listed(cl, clone):
        assert knows(cl, clone, bid)
    assert a[:10] not in cl(["ls"], clone).stdout
