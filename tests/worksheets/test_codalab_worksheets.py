"""Worksheet directives and items as CodaLab treats them (issue 15),
through the real `cl`: a schema built one `cl add` at a time; a directive
that cannot be interpreted is saved and shown as an error, by `add` and by
`wedit`; `cl ls -u` lists a bundle once per appearance; `cl detach` of a
bundle that appears twice needs `-n`; a display mode ends at the first item
that is not a bundle or a search."""

import pytest

from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import tree


@pytest.fixture
def ws(project, cl):
    """A project whose worksheet holds the uploads `a` and `b` (in order)."""
    tree(project, {"a": "alpha\n", "b": "beta\n"})
    ids = {name: cl(["upload", name], project).stdout.strip() for name in ("a", "b")}
    return project, ids


def raw(cl, project) -> list[str]:
    return cl(["print", "-r"], project).stdout.splitlines()


def test_a_schema_is_built_one_add_at_a_time(ws, cl):
    project, ids = ws
    cl(["add", "text", "% schema foo"], project)
    cl(["add", "text", "% add uuid"], project)
    cl(["add", "text", "% add name"], project)
    cl(["add", "text", "% display table foo"], project)
    cl(["add", "bundle", "a"], project)
    assert raw(cl, project)[-5:-1] == ["% schema foo", "% add uuid", "% add name", "% display table foo"]
    page = cl(["print"], project).stdout
    table = page[page.index("% display table foo") if "% display table foo" in page else 0:]
    header = [line for line in table.splitlines() if line.split()[:2] == ["uuid", "name"]]
    assert header and header[-1].split() == ["uuid", "name"], page
    assert ids["a"][:8] in page.splitlines()[-1] and "summary" not in header[-1]


@pytest.mark.parametrize("directive, problem", [
    ("% display tabel", "unknown display mode 'tabel'"),
    ("% frobnicate x", "unknown directive 'frobnicate'"),
    ("% add orphan", "'add' outside a schema"),
    ("% display table nope", "unknown schema 'nope'"),
    ('% title "unclosed', "cannot read directive"),
    ("% //not a comment", "unknown directive '//not'"),
])
def test_add_saves_a_directive_it_cannot_interpret_and_shows_an_error(ws, cl, directive, problem):
    project, _ = ws
    done = cl(["add", "text", directive], project)
    assert done.returncode == 0
    assert raw(cl, project)[-1] == directive
    cl(["add", "bundle", "a"], project)  # something for a display mode to show
    page = cl(["print"], project).stdout
    assert problem in page, page


def test_wedit_saves_a_directive_it_cannot_interpret_and_shows_an_error(ws, cl, tmp_path):
    project, _ = ws
    text = "\n".join(raw(cl, project)) + "\nnotes\n% display tabel\n"
    (tmp_path / "edited.ws").write_text(text)
    cl(["wedit", "-f", tmp_path / "edited.ws"], project)
    assert raw(cl, project)[-2:] == ["notes", "% display tabel"]
    assert "unknown display mode 'tabel'" in cl(["print"], project).stdout
    # saved as typed, the text form reads back the same, and saving it again changes nothing
    (tmp_path / "again.ws").write_text("\n".join(raw(cl, project)) + "\n")
    assert cl(["wedit", "-f", tmp_path / "again.ws"], project).stdout.strip() == "No change to the worksheet."


def test_wedit_still_refuses_a_reference_to_nothing(ws, cl, tmp_path):
    project, _ = ws
    before = snapshot(project)
    (tmp_path / "bad.ws").write_text("{nothing-called-this}\n")
    done = cl(["wedit", "-f", tmp_path / "bad.ws"], project, check=False)
    assert one_line_error(done).startswith("cl: line 1: no bundle matches")
    assert snapshot(project) == before


def test_ls_lists_a_bundle_once_per_appearance(ws, cl):
    project, ids = ws
    cl(["add", "bundle", "a"], project)
    assert cl(["ls", "-u"], project).stdout.split() == [ids["a"], ids["b"], ids["a"]]
    rows = [line for line in cl(["ls"], project).stdout.splitlines() if line.startswith("0x")]
    assert [r.split()[0] for r in rows] == [i[:10] for i in (ids["a"], ids["b"], ids["a"])]
    import json
    assert [r["id"] for r in json.loads(cl(["ls", "--json"], project).stdout)] == [ids["a"], ids["b"], ids["a"]]


def test_detach_of_a_bundle_shown_twice_needs_an_index(ws, cl):
    project, ids = ws
    cl(["add", "text", "between"], project)
    cl(["add", "bundle", "a"], project)
    before = snapshot(project)
    done = cl(["detach", "a"], project, check=False)
    line = one_line_error(done)
    assert "appears 2 times" in line and "-n" in line, line
    assert snapshot(project) == before
    done = cl(["detach", "-n", "3", "a"], project, check=False)
    assert "appears 2 times" in one_line_error(done)
    assert snapshot(project) == before
    cl(["detach", "-n", "1", "a"], project)  # counting from the end, as CodaLab counts
    assert raw(cl, project)[-1] == "between"
    assert cl(["ls", "-u"], project).stdout.split() == [ids["a"], ids["b"]]
    cl(["detach", "--index", "1", "b"], project)
    assert cl(["ls", "-u"], project).stdout.split() == [ids["a"]]


def test_detach_of_a_bundle_shown_once_needs_no_index(ws, cl):
    project, ids = ws
    cl(["detach", "b"], project)
    assert cl(["ls", "-u"], project).stdout.split() == [ids["a"]]


def test_display_record_ends_at_the_first_item_not_a_bundle_or_search(ws, cl):
    project, ids = ws
    cl(["add", "text", "% display record"], project)
    cl(["add", "bundle", "a"], project)
    cl(["add", "bundle", "b"], project)
    cl(["add", "text", "a line of notes"], project)
    cl(["add", "bundle", "b"], project)
    page = cl(["print"], project).stdout
    after_record = page[page.rindex("a (0x"):]
    assert after_record.count(" (0x") == 2, page  # a and b as records ...
    tail = after_record[after_record.index("a line of notes"):]
    assert "(0x" not in tail and ids["b"][2:8] in tail, page  # ... then b in the default table
    assert tail.splitlines()[2].split()[:2] == ["uuid", "name"], page
