"""Input that used to end in a traceback is one line and changes nothing
(issue 13, item 17): command-line text that is not UTF-8 (bytes that reach
Python as surrogates), absurd numbers, a malformed remote URL, and
worksheet or metadata text that is not UTF-8 -- from a file, stdin or the
editor, where the typed text is kept in a file the message names."""

import os
import re
import subprocess

import pytest

from tests.cli.test_errors import one_line_error, snapshot
from tests.cli.test_worksheet_cmds import editor
from tests.conftest import CL, cl_env, tree

BAD = "caf\udce9"  # b"caf\xe9": Latin-1 typed into a UTF-8 command line
HUGE = "9" * 40
ENORMOUS = "9" * 400


@pytest.fixture
def filled(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt"], project)
    cl(["config", "run.auto_worker", "false"], project)
    return project


NOT_UTF8 = [
    ["upload", "-c", BAD],
    ["upload", "a.txt", "-n", BAD],
    ["upload", "a.txt", "-d", BAD],
    ["upload", "a.txt", "--tags", BAD],
    ["make", "a.txt", "-n", BAD],
    ["edit", "a.txt", "-d", BAD],
    ["add", "-m", BAD],
    ["add", "text", BAD],
    ["run", f"echo {BAD}"],
    ["run", "a:a.txt", f"cat a > {BAD}"],
    ["new", BAD],
    ["wedit", "-t", BAD],
    ["config", "user.name", BAD],
    ["search", BAD],
]


@pytest.mark.parametrize("args", NOT_UTF8, ids=lambda a: " ".join(a[:2]))
def test_text_that_is_not_utf8_is_one_line_and_changes_nothing(filled, cl, args):
    before = snapshot(filled)
    line = one_line_error(cl(args, filled, check=False))
    assert "UTF-8" in line, line
    assert snapshot(filled) == before


def test_a_file_name_that_is_not_utf8_is_not_refused_as_text(filled, cl, cl_home, tmp_path):
    """Paths are bytes on Linux: the check is for text, not file names."""
    line = one_line_error(cl(["upload", f"/nonexistent/{BAD}"], filled, check=False))
    assert "no such file" in line and "UTF-8" not in line, line
    line = one_line_error(cl(["wedit", "-f", f"/nonexistent/{BAD}"], filled, check=False))
    assert "cannot read" in line and "UTF-8" not in line, line
    # run_cl's text mode cannot read the name back: bytes in, bytes out
    done = subprocess.run([CL, "download", "a.txt", "-o", tmp_path / BAD], cwd=filled,
                          capture_output=True, env=cl_env({"HOME": cl_home}))
    assert done.returncode == 0, done.stderr
    assert os.path.exists(os.fsencode(tmp_path) + b"/caf\xe9")


ABSURD = [
    (["cat", "--tail", HUGE, "a.txt"], "--tail"),
    (["cat", "--head", HUGE, "a.txt"], "--head"),
    (["cat", "--tail", "-5", "a.txt"], "--tail"),
    (["server", "--port", HUGE], "--port"),
    (["server", "--port", "70000"], "--port"),
    (["run", "--request-cpus", HUGE, "true"], "--request-cpus"),
    (["run", "--request-gpus", HUGE, "true"], "--request-gpus"),
    (["run", "--request-priority", f"-{HUGE}", "true"], "--request-priority"),
    (["run", "--request-memory", ENORMOUS, "true"], "size"),
    (["run", "--request-disk", f"{HUGE}t", "true"], "size"),
    (["run", "--request-time", ENORMOUS, "true"], "duration"),
    (["gc", "--prune", ENORMOUS], "duration"),
    (["worker", "--idle-timeout", ENORMOUS, "--exit-when-idle"], "duration"),
    (["remote", "add", "x", "ssh://[::1"], "ssh://[::1"),
    (["remote", "add", "x", "http://[zz]/"], "http://[zz]/"),
]


@pytest.mark.parametrize("args, names", ABSURD, ids=lambda a: " ".join(a[:2]) if isinstance(a, list) else "")
def test_absurd_numbers_and_urls_are_one_line(filled, cl, args, names):
    before = snapshot(filled)
    line = one_line_error(cl(args, filled, check=False))
    assert names in line, line
    assert snapshot(filled) == before


def test_wedit_from_a_file_that_is_not_utf8(filled, cl, tmp_path):
    path = tmp_path / "ws.txt"
    path.write_bytes(b"caf\xe9\n")
    before = snapshot(filled)
    line = one_line_error(cl(["wedit", "-f", path], filled, check=False))
    assert "UTF-8" in line and str(path) in line, line
    assert snapshot(filled) == before


def _kept(line):
    m = re.search(r"kept in (\S+?)(?:[;:,]|$)", line)
    assert m, line
    return m.group(1)


def test_wedit_from_stdin_that_is_not_utf8_keeps_it(filled, cl, cl_home):
    before = snapshot(filled)
    # run_cl's text mode cannot send bytes that are not UTF-8: the raw pipe
    done = subprocess.run([CL, "wedit", "-f", "-"], cwd=filled, input=b"notes caf\xe9\n",
                          capture_output=True, env=cl_env({"HOME": cl_home}))
    done.stderr = done.stderr.decode("utf-8", "replace")
    done.stdout = done.stdout.decode("utf-8", "replace")
    line = one_line_error(done)
    assert "UTF-8" in line
    kept = _kept(line)
    assert open(kept, "rb").read() == b"notes caf\xe9\n"
    os.unlink(kept)
    assert snapshot(filled) == before


@pytest.mark.parametrize("args", [["wedit"], ["upload", "a.txt", "-e"], ["edit", "a.txt", "-e"]])
def test_text_from_the_editor_that_is_not_utf8_is_kept(filled, cl, tmp_path, args):
    ed = editor(tmp_path, 'printf "my precious notes caf\\351\\n" >> "$1"\n')
    before = snapshot(filled)
    line = one_line_error(cl(args, filled, check=False, env={"EDITOR": ed}))
    assert "UTF-8" in line, line
    kept = _kept(line)
    assert b"my precious notes caf\xe9\n" in open(kept, "rb").read()
    os.unlink(kept)
    assert snapshot(filled) == before


def test_a_default_name_from_a_file_name_that_is_not_utf8_is_text():
    """`cl upload caf\\xe9.txt` names the bundle after the file: the bytes
    that are not UTF-8 become '-', as other characters a name may not hold."""
    from cl.bundles.names import check_name, default_name
    from cl.errors import InputError
    name = default_name(f"{BAD}.txt")
    name.encode("utf-8")
    assert check_name(name) == "caf-.txt"
    with pytest.raises(InputError):
        check_name(BAD)


@pytest.mark.parametrize("args", [["config", "run.imgae\nsecond line", "x"], ["info", "a\rb"],
                                  ["config", "\x1b[2Jrun.image"], ["upload", "-n", "two\nlines", "a.txt"]])
def test_control_characters_in_the_input_do_not_break_the_one_line(filled, cl, args):
    """The message quotes what was typed: a newline or a terminal escape in
    it is shown escaped, so the error stays one line and the terminal safe."""
    line = one_line_error(cl(args, filled, check=False))
    assert "\x1b" not in line and "\r" not in line
