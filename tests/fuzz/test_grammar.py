"""Bounded fuzzing of the spec and search parsers and resolvers: random
text gets a result or a CLError, never another exception (issue 13 item
17).  Text is drawn from the characters the grammars give meaning to, plus
anything at all, including huge numbers and very long words."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles.catalog import LocalCatalog, find_worksheet
from cl.bundles.search import search
from cl.bundles.spec_grammar import parse_spec, print_spec
from cl.bundles.specs import expand, resolve_target, resolve_worksheet
from cl.bundles.upload import UploadRequest, upload
from cl.errors import CLError
from cl.repo import Repository
from cl.sync.remotes import add_remote, open_remote
from cl.sync.view import RemoteView

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

numbers = st.one_of(st.integers(-10, 10), st.integers(0, 10**30), st.just(2**63), st.just(2**64))
meaningful = st.sampled_from(["^", "-", "%", "_", "/", "//", "::", ":", "0x", ".", "..", " ", "\t",
                              "=", ",", ".limit=", ".offset=", ".sort", ".sort-", ".sum", ".before=",
                              ".after=", "dependency=", "dependency/", "host_worksheet=", "id=",
                              "tag=", "data_size=", "name=", "e", "1e20", "\x00", "\udcff", "é", "["])
pieces = st.one_of(meaningful, numbers.map(str), st.text(max_size=6),
                   st.sampled_from(["a", "b", "w", "0xabcd", "x" * 5000, "%" * 3000, "9" * 5000]))
texts = st.lists(pieces, max_size=8).map("".join)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    r = Repository.init(str(root / "src"), worksheet="w")
    for name in ("a", "b", "a_b", "a"):
        upload(r, UploadRequest(text=f"{name}\n", name=name))
    yield r
    r.close()


@pytest.fixture(scope="module")
def view(repo, tmp_path_factory):
    reader = Repository.init(str(tmp_path_factory.mktemp("fuzz-reader") / "r"))
    add_remote(reader, "origin", os.path.dirname(repo.root))
    with open_remote(reader, "origin") as client:
        yield RemoteView(client)
    reader.close()


def _either(fn, *args):
    try:
        return fn(*args)
    except CLError as e:
        assert str(e) and "\n" not in str(e)
        return e


@SETTINGS
@given(texts)
def test_parse_gives_a_value_or_a_clerror(text):
    value = _either(parse_spec, text)
    if not isinstance(value, CLError):
        assert parse_spec(print_spec(value)) == value


@SETTINGS
@given(texts)
def test_local_resolution_gives_ids_or_a_clerror(repo, text):
    _either(expand, repo, [text])
    _either(resolve_target, repo, text)
    _either(resolve_worksheet, repo, text)


@SETTINGS
@given(texts)
def test_remote_resolution_gives_ids_or_a_clerror(view, text):
    _either(view.resolve_bundles, text)
    _either(view.find_worksheet, text)


@SETTINGS
@given(st.lists(texts, max_size=5))
def test_search_gives_a_result_or_a_clerror(repo, keywords):
    _either(search, repo, keywords)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["x", "%", "_%", "a%b", "0x0", "^", "9"]), st.integers(10_000, 100_000))
def test_very_long_input(repo, view, unit, times):
    text = unit * (times // len(unit))
    for fn in (parse_spec, lambda t: expand(repo, [t]), view.resolve_bundles,
               lambda t: find_worksheet(LocalCatalog(repo), t), lambda t: search(repo, [t]),
               lambda t: search(repo, ["name=" + t]), lambda t: search(repo, [".limit=" + t])):
        _either(fn, text)


@SETTINGS
@given(st.lists(texts, max_size=4))
def test_worksheet_command_orderings_give_ids_or_a_clerror(repo, argv):
    """`!COMMAND` lines bind `^`, `name^N` and ranges through the same grammar."""
    from cl.worksheets.edit import bind_orderings
    above = [str(b) for b in repo.index.worksheet_bundles(repo.current_worksheet())]
    _either(bind_orderings, repo, argv, above)
