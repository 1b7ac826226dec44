"""Bounded fuzzing of the CodaLab-compatibility parsers (issue 15): run
arguments (keys, `%…%` sugar, `---` words), worksheet lines read leniently,
bundle and worksheet search keywords, and `cl info -f` field names.  Random
text gets a result or a CLError, never another exception, and what comes
back keeps the promises the parsers make."""

import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles.info import field_rows, records
from cl.bundles.runspec import assign_keys, check_key, command_from_words, expand_sugar, split_dependency
from cl.bundles.search import search
from cl.bundles.upload import UploadRequest, upload
from cl.errors import CLError
from cl.repo import Repository
from cl.worksheets import markup
from cl.worksheets.markup import BadDirective, Directive, MarkupError
from cl.worksheets.wsearch import search_worksheets

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

meaningful = st.sampled_from([":", "::", "/", "//", "%", "%%", ".", "..", " ", "'", '"', "\\", "=", ",",
                              ".*", ".sort", ".sort-", ".sum", ".count", ".limit=", ".offset=",
                              ".format=", ".before=", ".after=", "uuid=", "id=", "size=", "name=",
                              "display ", "schema ", "add ", "table ", "record ", "b1", "b2", "0x",
                              "2024-01-31T12:00:00.5Z", "\x00", "é", "\udcff"])
pieces = st.one_of(meaningful, st.text(max_size=5), st.integers(-5, 10**20).map(str))
texts = st.lists(pieces, max_size=8).map("".join)


def _either(fn, *args):
    try:
        return fn(*args)
    except CLError as e:
        assert str(e) and "\n" not in str(e).strip()
        return e


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    r = Repository.init(str(tmp_path_factory.mktemp("fuzz-codalab") / "src"), worksheet="w")
    for name in ("a", "b"):
        upload(r, UploadRequest(text=f"{name}\n", name=name))
    yield r
    r.close()


@SETTINGS
@given(texts)
def test_split_dependency_gives_a_usable_key_or_an_error(arg):
    got = _either(split_dependency, arg)
    if isinstance(got, tuple):
        key, target = got
        assert target
        if key is not None:
            assert not key.startswith("/")


@SETTINGS
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["b1", "b2", "b3", "k", "x/y"])),
                          st.sampled_from(["a", "b", "c", "d"])), max_size=6),
       st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["b1", "b4", "k"])),
                          st.sampled_from(["a", "b", "c", "e"])), max_size=6))
def test_assign_keys_names_each_dependency_once(explicit, sugar):
    got = _either(assign_keys, explicit, sugar)
    if isinstance(got, CLError):
        return
    pairs, sugar_keys = got
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys))
    assert len(sugar_keys) == len(sugar) and set(sugar_keys) <= set(keys)
    assert set(pairs) >= {(k, t) for k, t in explicit if k is not None}


@SETTINGS
@given(texts)
def test_sugar_finds_references_or_leaves_the_text(command):
    got = _either(expand_sugar, command)
    if isinstance(got, tuple):
        text, pairs = got
        assert text.count("\0") == 2 * sum(1 for _ in __import__("re").finditer(r"\0\d+\0", text))
        for key, target in pairs:
            assert target and (key is None or key)


@SETTINGS
@given(st.lists(st.text(max_size=8), max_size=6))
def test_three_dash_words_survive_the_shell(words):
    if any("\0" in w for w in words):
        return
    assert shlex.split(command_from_words(words)) == words


@SETTINGS
@given(st.lists(texts, max_size=6).map("\n".join))
def test_lenient_parse_never_refuses_a_directive_and_prints_back(text):
    try:
        lines = markup.parse(text)
    except MarkupError as e:  # only `!` command lines may be refused
        assert "command" in e.problem
        return
    once = markup.print_text(lines)
    assert markup.print_text(markup.parse(once)) == once
    for line in lines:
        assert not isinstance(line, BadDirective) or line.problem


@SETTINGS
@given(texts)
def test_a_good_directive_reads_back_from_its_stored_text(text):
    line = markup.parse_line("%" + text)
    if isinstance(line, Directive):
        assert markup.read_tokens(markup.directive_text(line.tokens)) == line.tokens


@SETTINGS
@given(st.lists(texts, max_size=4))
def test_bundle_search_gives_a_result_or_a_clerror(repo, keywords):
    got = _either(search, repo, keywords)
    if not isinstance(got, CLError):
        assert got.aggregate is None or isinstance(got.aggregate, str)


@SETTINGS
@given(st.lists(texts, max_size=4))
def test_worksheet_search_gives_a_result_or_a_clerror(repo, keywords):
    _either(search_worksheets, repo, keywords)


@SETTINGS
@given(st.lists(texts, min_size=1, max_size=4))
def test_info_fields_give_values_or_name_the_unknown_one(repo, names):
    recs = records(repo, ["a", "b", "a"])
    got = _either(field_rows, recs, names)
    if isinstance(got, CLError):
        assert "unknown field" in str(got)
    else:
        assert len(got) == 3 and all(len(row) == len(names) for row in got)


def test_check_key_refuses_what_split_dependency_never_gives():
    with pytest.raises(CLError):
        check_key("/abs")
