"""Bounded fuzzing of the CodaLab-style argument rewriting (cl/cli/parsing.py):
for any words, `rewrite` gives words click can parse or one UsageError
naming an ambiguous prefix; it never touches what follows a leading
`--`/`---`, and rewriting twice changes nothing; click then parses the result or
says what is wrong (no other exception)."""

from __future__ import annotations

import os

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cl.cli.main import COMMANDS, cli
from cl.cli.parsing import STOP, rewrite
from cl.errors import UsageError

SETTINGS = settings(max_examples=150, deadline=None)

NAMES = ["upload", "run", "edit", "wedit", "mimic", "ls", "search", "add", "cat"]
words = st.one_of(st.sampled_from(["--tags", "--tag", "-T", "-x", "--exclude-patterns", "--", "---", "-",
                                   "-n", "--na", "--name=x", "-d", "--f", "--w", "--worksheet", "-w", "a.txt",
                                   "-1", "--tags=", "-Wt", "--request-m", "--request-no-network", "x y"]),
                  # what a command line can hold: bytes without NUL (argv is C strings), as
                  # Python decodes them (undecodable bytes as surrogate escapes, no other surrogate)
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                          max_size=6),
                  st.binary(max_size=12).map(lambda b: os.fsdecode(b.replace(b"\x00", b""))))


def command(name: str) -> click.Command:
    with click.Context(cli) as ctx:
        cmd = cli.get_command(ctx, name)
    assert cmd is not None, name
    return cmd


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(args=st.lists(words, max_size=10))
def test_rewrite_is_total_and_stable(name, args):
    assert name in COMMANDS
    cmd = command(name)
    try:
        once = rewrite(cmd, list(args))
    except UsageError as exc:
        assert exc.message.startswith("ambiguous option --")
        return
    assert rewrite(cmd, once) == once
    if args and args[0] in STOP:
        assert once == args
    # and click reads the result as it would: an error is a click usage error, never a crash
    try:
        cmd.make_context(name, list(once), resilient_parsing=False)
    except (click.exceptions.UsageError, click.exceptions.Exit, UsageError):
        pass
