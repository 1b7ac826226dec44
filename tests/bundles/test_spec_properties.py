"""Properties of the one spec grammar (cl/bundles/spec_grammar.py) and the
one resolver (cl/bundles/catalog.py):

* printing and parsing are inverse: `parse(print(v)) == v` for every value,
  and `print(parse(s)) == s` for specs in canonical form;
* a spec means the same on a remote as locally: a real repository, served
  as a directory remote, resolves the same generated specs to the same
  bundles (or the same error) through `resolve_bundles` and `RemoteView`."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles.remove import apply, plan
from cl.bundles.spec_grammar import (BundleSpec, IdPrefix, Named, Ordinal, like, parse_spec,
                                     print_spec)
from cl.bundles.specs import resolve_bundles
from cl.bundles.upload import UploadRequest, upload
from cl.errors import SpecError
from cl.objects.types import Item
from cl.repo import Repository
from cl.sync.remotes import add_remote, open_remote
from cl.sync.view import RemoteView
from cl.worksheets.ops import add_items, detach, switch

# --- values and text ---------------------------------------------------------------

NAME_CHARS = "abAB01-_."
names = st.text(NAME_CHARS + "%", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..") and not n.startswith("0x"))
hex_digits = st.text("0123456789abcdef", min_size=4, max_size=64)
positions = st.integers(1, 10**9)


@st.composite
def ordinals(draw):
    first = draw(positions)
    last = draw(st.one_of(st.none(), st.integers(first, 10**9)))
    return Ordinal(draw(st.one_of(st.just(""), names)), first, last)


bases = st.one_of(hex_digits.map(IdPrefix), names.map(Named), ordinals())
remotes = st.one_of(st.none(), st.text("abz09.-_", min_size=1, max_size=8),
                    st.sampled_from(["http://[::1]:8000", "ssh://host/srv/repo", "/srv/repo"]))
# A worksheet spec holds no `/` (its `//` ends it) and, in this grammar, no `:`.
worksheets = st.one_of(st.none(), st.text("abAB01-_.%", max_size=8),
                       hex_digits.map(lambda h: "0x" + h[:8]))
# A path after a spec with no worksheet may not start with `/` (`name//x`
# reads as worksheet `name`), and no path holds `::` (it would read as a
# remote): the grammar's two ambiguities, both CodaLab's.
paths = st.one_of(st.none(), st.text("abc./-_ ", max_size=12).map(str.strip))


@st.composite
def specs(draw):
    worksheet = draw(worksheets)
    path = draw(paths)
    if worksheet is None and path is not None:
        path = path.lstrip("/")
    return BundleSpec(draw(bases), worksheet, draw(remotes), path)


@given(specs())
def test_parse_inverts_print(value):
    assert parse_spec(print_spec(value)) == value


@given(specs())
def test_print_inverts_parse_on_canonical_text(value):
    text = print_spec(value)
    assert print_spec(parse_spec(text)) == text


@pytest.mark.parametrize("text", ["0xabcd", "name", "na%", "^", "^3", "^2-5", "a^", "a%^2-3",
                                  "ws//^", "origin::ws//name%^", "origin::^1-3", "//x/p/q",
                                  "http://[::1]:8000::ws//name/dir/f.txt", "x/"])
def test_known_forms_round_trip(text):
    assert print_spec(parse_spec(text)) == text


def test_non_canonical_forms_print_canonically():
    assert print_spec(parse_spec("0xABCD")) == "0xabcd"
    assert print_spec(parse_spec("^1")) == "^"
    assert print_spec(parse_spec("a^4-4")) == "a^4"
    assert print_spec(parse_spec("  ^2 ")) == "^2"


@given(st.text("ab%_AB\u00e9\u00c9", max_size=8), st.text("abAB_\u00e9\u00c9", max_size=8))
def test_like_is_sqlite_like(pattern, name):
    """The remote's LIKE is SQLite's (which the local index uses)."""
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like=ON")  # as cl.index.index has it
    try:
        expected = bool(db.execute("SELECT ? LIKE ?", (name, pattern)).fetchone()[0])
    finally:
        db.close()
    assert like(pattern, name) == expected


# --- local and remote agree -------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A repository with worksheets `w1` (current) and `w2`, names that
    repeat across and within them, a bundle listed twice, a removed
    bundle and one on no worksheet; and a second repository with it as
    remote `origin` (a directory remote), with an open client."""
    root = tmp_path_factory.mktemp("agree")
    repo = Repository.init(str(root / "src"), worksheet="w2")
    w2 = repo.current_worksheet()
    w1 = repo.new_worksheet("w1")
    ids = {}
    plan_ = [("a", w1), ("b", w1), ("ab", w2), ("a", w2), ("A", w1), ("a_b", w2), ("b", w2),
             ("gone", w1), ("loose", w1), ("a", w1)]
    for i, (name, wid) in enumerate(plan_):
        ids[i] = upload(repo, UploadRequest(text=f"{i}\n", name=name, worksheet=wid))
    add_items(repo, w1, [Item("bundle", ids[1]), Item("markup", "note")], "again")
    apply(repo, plan(repo, [ids[7]]))
    detach(repo, w1, [ids[8]])
    switch(repo, w1)
    assert repo.current_worksheet() == w1
    reader = Repository.init(str(root / "reader"))
    add_remote(reader, "origin", os.path.dirname(repo.root))
    with open_remote(reader, "origin") as client:
        yield repo, RemoteView(client), ids, (w1, w2)
    reader.close()
    repo.close()


def _outcome(resolve, text):
    try:
        return [str(b) for b in resolve(text)]
    except SpecError as e:
        return "error: " + str(e).replace(" on remote 'origin'", "")


@st.composite
def agreeing_specs(draw, ids, wids):
    kind = draw(st.sampled_from(["name", "pattern", "ordinal", "prefix"]))
    name = draw(st.sampled_from(["a", "b", "ab", "A", "a_b", "gone", "loose", "nosuch"]))
    if kind == "name":
        base = name
    elif kind == "pattern":
        base = draw(st.sampled_from(["a%", "%b", "%", "A%", "_b", "a_%", "%_%", "x%"]))
    elif kind == "ordinal":
        first = draw(st.integers(1, 9))
        last = draw(st.integers(first, 11))
        pick = draw(st.sampled_from(["", name, "a%", "%b"]))
        base = pick + "^" + (str(first) if first != 1 or last != first else "") + \
            (f"-{last}" if last != first else "")
    else:
        bid = draw(st.sampled_from(list(ids.values())))
        base = "0x" + bid[:draw(st.integers(4, 64))]
    ws = draw(st.sampled_from([None, ".", "", "w1", "w2", "w%", "nosuch", "0x" + wids[0][:6],
                               "0x" + wids[1][:6]]))
    return base if ws is None else f"{ws}//{base}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_local_and_remote_resolution_agree(served, data):
    repo, view, ids, wids = served
    text = data.draw(agreeing_specs(ids, wids))
    local = _outcome(lambda t: resolve_bundles(repo, t), text)
    remote = _outcome(view.resolve_bundles, text)
    assert local == remote, text


def test_the_fixture_exercises_both_outcomes(served):
    repo, view, ids, _ = served
    assert _outcome(view.resolve_bundles, "^1-3") == [ids[1], ids[9], ids[4]]  # 1 listed again last
    assert _outcome(view.resolve_bundles, "w2//a%^") == [ids[5]]  # a_b, after a
    assert _outcome(view.resolve_bundles, "w2//a^") == [ids[3]]
    assert _outcome(view.resolve_bundles, "^1-99").startswith("error: the range ^1-99 goes past")
    assert _outcome(view.resolve_bundles, "gone").startswith("error: no bundle matches")
    assert _outcome(view.resolve_bundles, "a") == [ids[9]]
