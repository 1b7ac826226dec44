"""The text form: classification of lines, canonical printing, errors that
name the line, and the round trip print(parse(text)) as a fixed point."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cl.worksheets import markup
from cl.worksheets.markup import (BadDirective, BundleRef, Command, Comment, Directive, MarkupError, Text,
                                  WorksheetRef, parse, print_text)

SEED_EXAMPLE = """\
% title "My Worksheet"
Here's a simple bundle:
{sort.py}
[the input]{a.txt}
{{scratch}}
[my scratch space]{{0x1234abcd}}
// a comment
% display link "this program"
% display inline /output/stats:errorRate
% schema my-run
% addschema run
% add error /stats:errorRate %.3f
% add method /options.map:method "s/-method// | [0:5]"
% display table my-run
!rm ^
"""


def test_each_kind_of_line():
    lines = parse(SEED_EXAMPLE)
    assert lines[0] == Directive(("title", "My Worksheet"))
    assert lines[1] == Text("Here's a simple bundle:")
    assert lines[2] == BundleRef("sort.py")
    assert lines[3] == BundleRef("a.txt", "the input")
    assert lines[4] == WorksheetRef("scratch")
    assert lines[5] == WorksheetRef("0x1234abcd", "my scratch space")
    assert lines[6] == Comment(" a comment")
    assert lines[7] == Directive(("display", "link", "this program"))
    assert lines[12] == Directive(("add", "method", "/options.map:method", "s/-method// | [0:5]"))
    assert lines[14] == Command(("rm", "^"))
    assert [ln.lineno for ln in lines] == list(range(1, 16))


def test_canonical_print_is_the_input_when_already_canonical():
    assert print_text(parse(SEED_EXAMPLE)) == SEED_EXAMPLE


def test_printing_normalises_quoting_and_spacing():
    text = "%   display   table\n%title My  Worksheet\n!cl  rm   ^\n  {indented} stays text\n"
    assert print_text(parse(text)) == (
        "% display table\n% title \"My Worksheet\"\n!rm ^\n  {indented} stays text\n")


def test_options_keep_their_key_bare_when_quoted():
    text = '% display graph /c.tsv "title=Training loss" ylabel=loss\n% title "a=b c"\n'
    assert print_text(parse(text)) == '% display graph /c.tsv title="Training loss" ylabel=loss\n% title "a=b c"\n'


def test_text_that_looks_like_references_but_is_not():
    for line in ("{ a b }", "x {a}", "{a} trailing", "    {code}", "{}", "[x](http://a)"):
        assert parse(line) == [Text(line)], line


@pytest.mark.parametrize("text, lineno, problem", [
    ("a\nb\nc\nd\ne\nf\n% display tabel", 7, "unknown display mode 'tabel'"),
    ("% frobnicate x", 1, "unknown directive 'frobnicate'"),
    ("ok\n% display inline", 2, "'display inline' needs a genpath"),
    ("% display contents /x maxlines=ten", 1, "'maxlines' needs a number"),
    ("% display image /x colour=red", 1, "unknown option 'colour=red'"),
    ("% add error /stats:x", 1, "'add' outside a schema"),
    ("% schema s\n% add e /x %.3q", 2, "bad format in post-processor: '%.3q'"),
    ("% schema s\n% add e /x nonsense", 2, "unknown post-processor: 'nonsense'"),
    ("% schema s\n% addschema nope", 2, "unknown schema 'nope'"),
    ("x\n% display table nope", 2, "unknown schema 'nope'"),
    ('% title "unclosed', 1, "cannot read directive"),
    ("%", 1, "empty directive"),
    ("!", 1, "empty command"),
    ("% display hidden now", 1, "'display hidden' takes no arguments"),
])
def test_errors_name_the_line(text, lineno, problem):
    with pytest.raises(MarkupError) as err:
        parse(text, strict=True)
    assert err.value.line == lineno
    assert str(err.value).startswith(f"line {lineno}: ")
    assert problem in str(err.value)


@pytest.mark.parametrize("text, problem", [
    ("% display tabel", "unknown display mode 'tabel'"),
    ("%frobnicate   x", "unknown directive 'frobnicate'"),
    ('% title "unclosed', "cannot read directive"),
    ("%", "empty directive"),
])
def test_a_directive_that_cannot_be_interpreted_is_kept_as_typed(text, problem):
    (line,) = parse(text)
    assert isinstance(line, BadDirective) and problem in line.problem
    assert line.text == text[1:].strip()
    assert print_text([line]) == ("% " + line.text if line.text else "%") + "\n"
    assert parse(print_text([line])) == [line]


def test_schema_problems_wait_for_the_display():
    lines = parse("% add error /stats:x\n% display table nope")
    assert lines == [Directive(("add", "error", "/stats:x")), Directive(("display", "table", "nope"))]


def test_a_bad_command_line_is_an_error_either_way():
    with pytest.raises(MarkupError, match="line 2: empty command"):
        parse("ok\n!")


def test_schemas_may_be_used_before_they_are_defined():
    lines = parse("% display table mine\n{x}\n% schema mine\n% add e /s:e\n")
    assert lines[0] == Directive(("display", "table", "mine"))


def test_builtin_schemas_are_known():
    for name in ("default", "run", "make", "dataset", "program"):
        parse(f"% display record {name}")


def test_crlf_and_missing_final_newline():
    assert parse("a\r\n{b}\r\n% display hidden") == [Text("a"), BundleRef("b"), Directive(("display", "hidden"))]
    assert print_text(parse("a\r\nb")) == "a\nb\n"


def test_empty_text_is_no_lines():
    assert parse("") == []
    assert print_text([]) == ""
    assert parse("\n") == [Text("")]


# --- property tests ---------------------------------------------------------------

_word = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8)
_token = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=10)
_spec = st.from_regex(r"[A-Za-z0-9_.^%/-]{1,12}", fullmatch=True).filter(lambda s: "//" not in s)
_desc = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20).map(markup.one_line)
_text_line = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30)

_directive = st.one_of(
    _token.filter(lambda t: t.strip()).map(lambda t: Directive(("title", t))),
    st.sampled_from(["hidden", "table", "record"]).map(lambda m: Directive(("display", m))),
    st.tuples(st.sampled_from(["inline", "contents", "image", "html", "graph"]),
              st.from_regex(r"/[a-z]{1,5}(\.json)?(:[a-z]{1,3}(/[a-z]{1,3})?)?", fullmatch=True)
              ).map(lambda t: Directive(("display", *t))),
    _token.map(lambda t: Directive(("display", "link", t))),
    st.lists(_token, max_size=3).map(lambda ts: Directive(("search", *ts))),
    st.lists(_token, max_size=3).map(lambda ts: Directive(("wsearch", *ts))),
)


@st.composite
def documents(draw):
    """Canonical documents: lines as the printer makes them."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["text", "bundle", "ws", "directive", "comment", "command", "schema"]))
        if kind == "text":
            t = draw(_text_line)
            if not t.startswith(("%", "!", "//")) and isinstance(markup.parse_line(t), Text):
                lines.append(Text(t))
        elif kind == "bundle":
            lines.append(BundleRef(draw(_spec), draw(_desc)))
        elif kind == "ws":
            lines.append(WorksheetRef(draw(_spec), draw(_desc)))
        elif kind == "directive":
            lines.append(draw(_directive))
        elif kind == "comment":
            lines.append(Comment(draw(_text_line)))
        elif kind == "command":
            lines.append(Command((draw(_word.filter(lambda w: w != "cl")), *draw(st.lists(_token, max_size=3)))))
        else:
            name = draw(_word.filter(lambda w: not w.startswith(("'", '"'))))
            lines += [Directive(("schema", name)), Directive(("add", draw(_word), "/f.json:" + "k"))]
    return lines


@settings(max_examples=300, deadline=None)
@given(documents())
def test_parse_of_print_gives_the_lines_back(lines):
    assert parse(print_text(lines)) == lines


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_text_line, st.builds(lambda s, d: f"[{d}]{{{s}}}", _spec, _desc),
                          st.builds(lambda t: "% " + t, _token), st.builds(lambda t: "!" + t, _token),
                          st.builds(lambda t: "//" + t, _token)), max_size=12).map("\n".join))
def test_print_of_parse_is_a_fixed_point(text):
    try:
        once = print_text(parse(text))
    except MarkupError:
        return
    assert print_text(parse(once)) == once
