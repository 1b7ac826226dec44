"""`cl run` arguments read as CodaLab reads them (issue 15): the words
after `---` re-quoted into one command, `%…%` sugar keyed `b1`, `b2`, … by
position, `:bundle/path` keyed on the whole path, keys with `/` (a leading
`/` included) and the same dependency given twice.  Nothing here executes a
run (`run.auto_worker` is off); the stored bundle is read back through
`cl info --json`."""

import json

import pytest

from tests.conftest import run_cl, tree


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("codalab-runs") / "project"
    path.mkdir()
    run_cl(["init"], path)
    run_cl(["config", "run.auto_worker", "false"], path)
    tree(path, {"a": "a\n", "b": "b\n", "c": "c\n", "D1": "d1\n",
                "bundle": {"this": {"is": {"a": {"path.txt": "deep\n"}}}}})
    for name in ("a", "b", "c", "D1", "bundle"):
        run_cl(["upload", name], path)
    return path


def stored(project, *args) -> dict:
    """Create a run with `cl run ARGS…` and return its info record."""
    bid = run_cl(["run", *args], project).stdout.strip().splitlines()[-1]
    return json.loads(run_cl(["info", "--json", bid], project).stdout)


def keys(rec) -> list[tuple[str, str]]:
    return [(d["key"], d["name"]) for d in rec["dependencies"]]


def test_words_after_three_dashes_are_requoted(project):
    rec = stored(project, "---", "echo", "hello world!")
    assert rec["command"] == "echo 'hello world!'"


def test_an_empty_word_after_three_dashes_stays_an_empty_word(project):
    assert stored(project, "---", "echo", "")["command"] == "echo ''"


def test_three_dashes_keep_plain_words_and_options_as_they_are(project):
    rec = stored(project, "x:a", "---", "wc", "-l", "x", "--name", "n")
    assert rec["command"] == "wc -l x --name n" and keys(rec) == [("x", "a")]


def test_sugar_numbers_keys_by_position_after_the_explicit_ones(project):
    rec = stored(project, "a:b", "echo %c%")
    assert rec["command"] == "echo b2"
    assert keys(rec) == [("a", "b"), ("b2", "c")]


def test_sugar_numbering_skips_a_key_already_used(project):
    rec = stored(project, "b2:a", "cat %b% %c%")
    assert rec["command"] == "cat b3 b4"
    assert keys(rec) == [("b2", "a"), ("b3", "b"), ("b4", "c")]


def test_sugar_repeated_is_one_dependency(project):
    rec = stored(project, "echo %a% %a% %a%")
    assert rec["command"] == "echo b1 b1 b1" and keys(rec) == [("b1", "a")]


def test_sugar_reuses_the_key_of_an_explicit_target(project):
    rec = stored(project, "a", "cat %a% %b%")
    assert rec["command"] == "cat b1 b2" and keys(rec) == [("b1", "a"), ("b2", "b")]


def test_sugar_with_an_empty_key_uses_the_target_text(project):
    rec = stored(project, "cat %:a% %x:b%")
    assert rec["command"] == "cat a x" and keys(rec) == [("a", "a"), ("x", "b")]


def test_colon_target_keys_on_the_whole_path_inside_the_bundle(project):
    rec = stored(project, ":bundle/this/is/a/path.txt", "cat this/is/a/path.txt")
    dep = rec["dependencies"][0]
    assert dep["key"] == "this/is/a/path.txt" and dep["path"] == "this/is/a/path.txt"


def test_keys_may_hold_slashes_and_a_leading_slash(project):
    rec = stored(project, "/foo/bar:D1", "x/y:a", "ls")
    assert keys(rec) == [("foo/bar", "D1"), ("x/y", "a")]


def test_the_same_dependency_twice_is_one_dependency(project):
    rec = stored(project, ":a", ":a", "cat a")
    assert keys(rec) == [("a", "a")]
    rec = stored(project, "k:b", "k:b", "cat k")
    assert keys(rec) == [("k", "b")]


def test_one_key_for_two_targets_is_refused(project):
    done = run_cl(["run", "k:a", "k:b", "true"], project, check=False)
    assert done.returncode != 0 and done.stderr.startswith("cl: ")
    assert "duplicate dependency key: 'k'" in done.stderr
