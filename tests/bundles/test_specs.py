"""Bundle specs (DESIGN §6): ids and prefixes, names and `%` patterns,
`^`/`^N`/`foo^N`, ranges, `ws//spec`, `spec/sub/path`, and the errors for
unknown, ambiguous and malformed specs — resolved through the library on a
real repository, plus the same specs typed at the real `cl`."""

import os

import pytest

from cl.bundles.names import metadata
from cl.bundles.specs import (Target, expand, resolve_bundle, resolve_bundles, resolve_target,
                              resolve_worksheet)
from cl.bundles.upload import UploadRequest, upload
from cl.errors import PathEscape, SpecError
from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.ingest import text_contents
from cl.objects.types import Bundle, Item
from cl.objects.value import replace
from cl.repo import Repository, new_nonce, now_ns
from cl.worksheets.ops import add_items


@pytest.fixture
def repo(tmp_path):
    r = Repository.init(str(tmp_path / "proj"))
    yield r
    r.close()


def add(repo, name, text=None, worksheet=None):
    return upload(repo, UploadRequest(text=text if text is not None else f"{name}\n", name=name,
                                      worksheet=worksheet))


def colliding_bundles(repo, digits=4):
    """Two bundle values whose ids share their first `digits` hex digits
    (found by trying nonces; nothing is written)."""
    contents = text_contents(repo.store, "same\n")
    seen = {}
    for i in range(200_000):
        b = Bundle(kind="dataset", created=now_ns(), creator="t", nonce=new_nonce(),
                   metadata=metadata(f"c{i}"), contents=contents)
        bid = hash_bytes(encoding.encode(b.to_map()))
        if bid[:digits] in seen:
            return seen[bid[:digits]], b
        seen[bid[:digits]] = b
    raise AssertionError("no collision found")


# --- ids ----------------------------------------------------------------------


def test_full_id_and_prefixes(repo):
    bid = add(repo, "a")
    add(repo, "b")
    assert resolve_bundle(repo, bid.display) == bid
    assert resolve_bundle(repo, "0x" + bid[:4]) == bid
    assert resolve_bundle(repo, "0x" + bid[:12]) == bid
    assert resolve_bundle(repo, "0x" + bid[:12].upper()) == bid


def test_prefix_needs_four_digits(repo):
    bid = add(repo, "a")
    with pytest.raises(SpecError, match="at least 4 hex digits"):
        resolve_bundle(repo, "0x" + bid[:3])


def test_non_hex_id_is_malformed(repo):
    add(repo, "a")
    with pytest.raises(SpecError, match="malformed"):
        resolve_bundle(repo, "0xzzzz")


def test_unknown_id(repo):
    bid = add(repo, "a")
    other = "0" if bid[0] != "0" else "1"
    with pytest.raises(SpecError, match="no bundle matches"):
        resolve_bundle(repo, "0x" + other * 8)


def test_ambiguous_prefix_lists_candidates(repo):
    first, second = colliding_bundles(repo)
    a = repo.add_bundle(first)
    b = repo.add_bundle(second)
    assert a[:4] == b[:4] and a != b
    with pytest.raises(SpecError) as err:
        resolve_bundle(repo, "0x" + a[:4])
    assert "ambiguous" in str(err.value)
    assert sorted(err.value.candidates) == sorted(
        [f"0x{a[:12]}({first.metadata['name']})", f"0x{b[:12]}({second.metadata['name']})"])
    # a longer prefix decides
    n = next(i for i in range(4, 64) if a[i] != b[i]) + 1
    assert resolve_bundle(repo, "0x" + a[:n]) == a


# --- names and patterns -------------------------------------------------------


def test_name_picks_newest(repo):
    old = add(repo, "data", "old\n")
    new = add(repo, "data", "new\n")
    assert resolve_bundle(repo, "data") == new
    assert old != new


def test_name_prefers_current_worksheet_over_newer(repo):
    other = repo.new_worksheet("other")
    here = add(repo, "data")
    newer_elsewhere = add(repo, "data", worksheet=other)
    floating = add(repo, "data", worksheet="")
    assert resolve_bundle(repo, "data") == here
    # on the other worksheet its own bundle wins
    assert resolve_bundle(repo, "other//data") == newer_elsewhere
    assert floating not in (here, newer_elsewhere)


def test_name_not_on_worksheet_still_found(repo):
    floating = add(repo, "lonely", worksheet="")
    assert resolve_bundle(repo, "lonely") == floating


def test_percent_patterns(repo):
    add(repo, "train-a")
    tb = add(repo, "train-b")
    add(repo, "test-a")
    assert resolve_bundle(repo, "train%") == tb
    assert resolve_bundle(repo, "%-a") != tb
    assert repo.index.bundle(resolve_bundle(repo, "%-a")).name == "test-a"
    with pytest.raises(SpecError, match="no bundle matches"):
        resolve_bundle(repo, "valid%")


def test_unknown_and_malformed_names(repo):
    add(repo, "a")
    with pytest.raises(SpecError, match="no bundle matches: 'nosuch'"):
        resolve_bundle(repo, "nosuch")
    with pytest.raises(SpecError, match="malformed"):
        resolve_bundle(repo, "two words")
    with pytest.raises(SpecError, match="empty"):
        resolve_bundle(repo, "  ")
    with pytest.raises(SpecError, match="remote"):
        resolve_bundle(repo, "origin::a")


def test_deleted_bundles_do_not_resolve(repo):
    old = add(repo, "a", "1\n")
    new = add(repo, "a", "2\n")
    repo.update_state(new, lambda s: replace(s, deleted=True))
    assert resolve_bundle(repo, "a") == old
    with pytest.raises(SpecError):
        resolve_bundle(repo, new.display)


# --- ordering on the worksheet -------------------------------------------------


def test_caret_orders(repo):
    ids = [add(repo, n) for n in ("a", "b", "c", "d", "e", "f")]
    assert resolve_bundle(repo, "^") == ids[-1]
    assert resolve_bundle(repo, "^1") == ids[-1]
    assert resolve_bundle(repo, "^2") == ids[-2]
    assert resolve_bundle(repo, "^6") == ids[0]
    with pytest.raises(SpecError, match="no bundle on the worksheet"):
        resolve_bundle(repo, "^7")


def test_caret_counts_a_bundle_listed_twice_once_at_its_last_place(repo):
    a, b, c = (add(repo, n) for n in "abc")
    wid = repo.current_worksheet()
    add_items(repo, wid, [Item("bundle", a), Item("bundle", "f" * 64), Item("markup", "note")], "again")
    # a, listed again last, is ^; an id the index does not know is no place
    assert resolve_bundles(repo, "^1-3") == [a, c, b]
    assert resolve_bundle(repo, "a^") == a
    with pytest.raises(SpecError, match="no bundle on the worksheet"):
        resolve_bundle(repo, "a^2")


def test_named_caret(repo):
    a1 = add(repo, "x", "1\n")
    add(repo, "y")
    a2 = add(repo, "x", "2\n")
    add(repo, "y")
    assert resolve_bundle(repo, "x^") == a2
    assert resolve_bundle(repo, "x^2") == a1
    with pytest.raises(SpecError):
        resolve_bundle(repo, "x^3")


def test_ranges(repo):
    ids = [add(repo, n) for n in ("a", "b", "c", "d", "e", "f", "g")]
    assert resolve_bundles(repo, "^1-5") == list(reversed(ids[2:]))
    assert resolve_bundles(repo, "^2-3") == [ids[-2], ids[-3]]
    assert resolve_bundles(repo, "^6-7") == [ids[1], ids[0]]
    # a range reaching past the end is an error naming it (issue 15), not a shorter list
    with pytest.raises(SpecError, match=r"the range \^6-9 goes past the end .* 7 matching bundles"):
        resolve_bundles(repo, "^6-9")
    with pytest.raises(SpecError, match="no bundle on the worksheet"):
        resolve_bundles(repo, "^8-9")
    with pytest.raises(SpecError, match="several"):
        resolve_bundle(repo, "^1-2")
    for bad in ("^0", "^3-1"):
        with pytest.raises(SpecError, match="bad range"):
            resolve_bundles(repo, bad)


def test_expand_keeps_order_and_dedupes(repo):
    a, b, c = (add(repo, n) for n in "abc")
    assert expand(repo, ["a", "^1-3", "b"]) == [a, c, b]


def test_worksheet_qualified(repo):
    other = repo.new_worksheet("other")
    mine = add(repo, "mine")
    theirs = [add(repo, f"t{i}", worksheet=other) for i in range(3)]
    assert resolve_bundle(repo, "other//^") == theirs[-1]
    assert resolve_bundle(repo, "other//^3") == theirs[0]
    assert resolve_bundles(repo, "other//^1-2") == [theirs[2], theirs[1]]
    assert resolve_bundle(repo, "^") == mine
    assert resolve_bundle(repo, f"0x{other[:6]}//^") == theirs[-1]
    assert resolve_worksheet(repo, "oth%") == other
    with pytest.raises(SpecError, match="no worksheet matches"):
        resolve_bundle(repo, "nosuch//^")
    with pytest.raises(SpecError, match="no bundle named after the worksheet"):
        resolve_bundle(repo, "other//")


# --- targets ------------------------------------------------------------------


def test_targets_with_paths(repo):
    bid = add(repo, "data")
    assert resolve_target(repo, "data") == Target(bid, "")
    assert resolve_target(repo, "data/sub/f.txt") == Target(bid, "sub/f.txt")
    assert resolve_target(repo, "data/sub/../g") == Target(bid, "g")
    assert resolve_target(repo, "data/./a//b/") == Target(bid, "a/b")
    assert resolve_target(repo, "^/x") == Target(bid, "x")
    assert resolve_target(repo, f"{bid.display}/x") == Target(bid, "x")
    ws = repo.index.worksheet(repo.current_worksheet())["name"]
    assert resolve_target(repo, f"{ws}//data/x/y") == Target(bid, "x/y")
    assert resolve_target(repo, "data/x").display == f"{bid.display}/x"


def test_target_escaping_the_bundle(repo):
    add(repo, "x")
    for spec in ("x/..", "x/../../etc", "x/a/../../b"):
        with pytest.raises(PathEscape):
            resolve_target(repo, spec)


# --- the same through the real `cl` -------------------------------------------


def test_specs_on_the_command_line(project, cl):
    (project / "d").mkdir()
    (project / "d" / "f.txt").write_text("inside\n")
    first = cl(["upload", "d", "-n", "data"], project).stdout.strip()
    second = cl(["upload", "-c", "two", "-n", "data"], project).stdout.strip()
    third = cl(["upload", "-c", "three", "-n", "other"], project).stdout.strip()
    def ids(*specs):
        return cl(["info", "-f", "id", *specs], project).stdout.split()

    assert ids("^", "data^2", "^2") == [third, first, second]
    assert ids("dat%", first[:8], "^1-3") == [second, first, third, second, first]  # one per spec, as CodaLab
    assert ids("^1-3") == [third, second, first]
    assert cl(["cat", "data^2/f.txt"], project).stdout == "inside\n"
    ws = project.name
    assert cl(["cat", f"{ws}//data^2/f.txt"], project).stdout == "inside\n"


# --- odd specs and searches at the real `cl`: one line, nothing changed -------------


def _one_line(done):
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cl: "), done.stderr
    return lines[0]


def _state(project):
    from tests.cli.test_errors import snapshot
    return snapshot(project)


@pytest.mark.parametrize("spec", ["^1e20", "^99999999999999999999", "^1-99999999999999999999999",
                                  "x^9999999999999999999999", "^" + "9" * 5000, "0x" + "f" * 100_000,
                                  "a" * 100_000, "ws//" + "^" * 3, "%" * 50_000, "_%" * 30_000,
                                  os.fsdecode(b"caf\xe9"), os.fsdecode(b"w\xff//^"), "a\nb"])
def test_odd_specs_get_one_line(project, cl, spec):
    cl(["upload", "-c", "hi", "-n", "a"], project)
    before = _state(project)
    _one_line(cl(["info", spec], project, check=False))
    assert _state(project) == before


@pytest.mark.parametrize("args", [[".limit=1e23"], [".limit=99999999999999999999999"],
                                  [".offset=99999999999999999999999"], ["a" * 100_000],
                                  ["name=" + "%" * 60_000], ["tag=" + "x" * 100_000],
                                  ["id=" + "0" * 100_000], ["data_size=" + "9" * 400],
                                  [".before=" + "9" * 100], ["x" * 100_000 + "=1"],
                                  [os.fsdecode(b"caf\xe9")], ["name=" + os.fsdecode(b"\xff%")],
                                  ["dependency=" + os.fsdecode(b"\xff")]])
def test_odd_searches_get_one_line_or_a_result(project, cl, args):
    cl(["upload", "-c", "hi", "-n", "a"], project)
    before = _state(project)
    done = cl(["search", *args], project, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        _one_line(done)
    assert _state(project) == before


def test_range_past_the_end_names_the_range_and_removes_nothing(project, cl):
    for name in ("a", "b", "c"):
        cl(["upload", "-c", name, "-n", name], project)
    before = _state(project)
    line = _one_line(cl(["rm", "^1-500"], project, check=False))
    assert "^1-500" in line and "3" in line, line
    assert _state(project) == before
    assert len(cl(["info", "-f", "id", "^1-3"], project).stdout.split()) == 3


def test_every_form_works_on_a_remote(tmp_path, project, cl):
    """`origin::^1-3`, `origin::ws//name%^`, names, patterns, prefixes and
    targets, read from a directory remote at the real `cl`; a range past the
    remote worksheet's end is the same one-line error as locally."""
    src = tmp_path / "src"
    src.mkdir()
    cl(["init"], src)
    ws = src.name
    ids = [cl(["upload", "-c", f"{n}\n", "-n", n], src).stdout.strip()
           for n in ("train-1", "train-2", "eval")]
    cl(["remote", "add", "origin", str(src)], project)

    def info(*specs):
        return cl(["info", "-f", "id", *specs], project).stdout.split()

    assert info("origin::^1-3") == ids[::-1]
    assert info(f"origin::{ws}//train%^") == [ids[1]]
    assert info(f"origin::{ws}//train%^2") == [ids[0]]
    assert info("origin::train-1", "origin::tr%", "origin::" + ids[2][:6]) == [ids[0], ids[1], ids[2]]
    assert cl(["cat", "origin::train%^2"], project).stdout == "train-1\n"
    line = _one_line(cl(["info", "origin::^1-4"], project, check=False))
    assert "^1-4 goes past the end" in line and "remote 'origin'" in line
    for bad in ("origin::0x12", "origin::a b", "origin::^0", "origin::" + "%" * 2000):
        _one_line(cl(["info", bad], project, check=False))
    assert cl(["search", ".count"], project).stdout.strip() == "0"  # reading copied nothing
    cl(["pull", "origin", "^1-2"], project)  # a range names what to pull too
    assert sorted(cl(["search", "-u"], project).stdout.split()) == sorted(ids[1:])
