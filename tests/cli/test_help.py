"""Every command `cl --help` lists has working help, and every command in
the lazy command map whose module exists really is a click command there
(click's guide: a test that runs `--help` on every command)."""

import importlib
import importlib.util
import re

import click
import pytest
from click.testing import CliRunner

from cl.cli.main import COMMANDS, cli


def available():
    return sorted(name for name, target in COMMANDS.items()
                  if importlib.util.find_spec(target.split(":")[0]) is not None)


def listed(help_text: str) -> list[str]:
    """Command names from the topic sections of `cl --help` (after Options), sorted."""
    section = help_text.split("Options:", 1)[1].split("\n\n", 1)[1]
    return sorted(m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", section, re.M))


def test_top_level_help_lists_every_available_command(project, cl):
    done = cl(["--help"], project)
    assert done.stdout.startswith("Usage: cl ")
    names = listed(done.stdout)
    assert names == available()
    # the repository commands of issue 2 are all there
    for name in ("init", "status", "upload", "make", "ls", "info", "cat", "download", "edit", "rm",
                 "search", "fsck", "gc", "reindex"):
        assert name in names


@pytest.mark.parametrize("name", available())
def test_each_command_has_help(name):
    module_name, attr = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module_name), attr, None)
    assert isinstance(command, click.Command), f"{COMMANDS[name]} is not a click command"
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="cl")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cl {name}")
    assert "Traceback" not in result.output


def test_help_through_the_real_script(tmp_path, cl):
    """Outside any repository too: help never needs one."""
    for name in ("upload", "rm"):
        done = cl([name, "--help"], tmp_path)
        assert done.stdout.startswith(f"Usage: cl {name}")
        assert done.stderr == ""
    assert cl(["-h"], tmp_path).stdout.startswith("Usage: cl ")
