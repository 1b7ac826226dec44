"""`cl ls` colours each bundle's state on a terminal (a pseudo-terminal
here) and writes plain text to a pipe, or when NO_COLOR or TERM=dumb says
so.  The runs are real: one fails in the local executor, one is killed
while queued."""

import os
import pty
import re
import subprocess

import pytest

from cl.cli import output
from tests.conftest import CL, cl_env, run_cl, tree
from tests.runs.helpers import stop_workers

ESC = re.compile(r"\x1b\[[0-9;]*m")
RED_BOLD, MAGENTA_BOLD, YELLOW, GREEN = "\x1b[31m\x1b[1m", "\x1b[35m\x1b[1m", "\x1b[33m", "\x1b[32m"


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    project = tmp_path_factory.mktemp("ls-colours") / "project"
    project.mkdir()
    run_cl(["init"], project)
    run_cl(["config", "run.executor", "local"], project)
    tree(project, {"a.txt": "a\n"})
    run_cl(["upload", "a.txt"], project)                                  # ready
    try:
        run_cl(["run", "-n", "boom", "exit 3"], project)
        assert run_cl(["wait", "boom"], project, check=False).returncode == 1   # failed
    finally:
        stop_workers(project)
    run_cl(["config", "run.auto_worker", "false"], project)
    run_cl(["run", "-n", "waiting", "sleep 100"], project)                 # created: queued
    run_cl(["run", "-n", "stopped", "sleep 100"], project)
    run_cl(["kill", "stopped"], project)                                   # killed
    return project


def ls_on_a_terminal(project, env=None) -> str:
    """`cl ls` with its stdout on a pseudo-terminal: what the terminal got."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([CL, "ls"], cwd=project, env=cl_env({"TERM": "xterm", **(env or {})}),
                                stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait() == 0, proc.stderr.read()
        proc.stderr.close()
    finally:
        os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def row(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} " in ESC.sub("", line))


def test_states_are_coloured_on_a_terminal(states):
    shown = ls_on_a_terminal(states)
    assert f"{RED_BOLD}failed\x1b[0m" in row(shown, "boom")
    assert f"{MAGENTA_BOLD}killed\x1b[0m" in row(shown, "stopped")
    assert f"{YELLOW}created\x1b[0m" in row(shown, "waiting")
    assert f"{GREEN}ready\x1b[0m" in row(shown, "a.txt")
    # the colours change nothing else: without them it is what a pipe gets
    assert ESC.sub("", shown) == run_cl(["ls"], states).stdout
    assert ESC.sub("", shown.splitlines()[1]) == shown.splitlines()[1]   # the header is plain


def test_a_pipe_and_no_color_get_plain_text(states):
    piped = run_cl(["ls"], states).stdout
    assert "\x1b" not in piped and re.search(r"\bboom\s+run\s+failed\b", piped)
    assert "\x1b" not in ls_on_a_terminal(states, {"NO_COLOR": "1"})
    assert "\x1b" not in ls_on_a_terminal(states, {"TERM": "dumb"})


def test_colour_states_finds_the_column_by_its_header():
    headers = ["id", "name", "kind", "state", "size"]
    text = ("worksheet: state of the art\n"
            "id  name           kind  state    size\n"
            "0x  running-state  run   running  -\n"
            "0x  ready          run   failed   1k\n")
    out = output.colour_states(text, headers).splitlines()
    assert out[0] == "worksheet: state of the art" and out[1] == text.splitlines()[1]
    assert out[2] == "0x  running-state  run   \x1b[36mrunning\x1b[0m  -"
    assert out[3] == "0x  ready          run   \x1b[31m\x1b[1mfailed\x1b[0m   1k"   # not the name 'ready'
    assert output.colour_states("no table\n", headers) == "no table\n"
