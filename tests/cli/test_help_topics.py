"""`cl --help` lists the commands by topic, as git's help does, each with
its first sentence in full; every command is in exactly one topic."""

import re

from cl.cli.main import COMMANDS
from cl.cli.topics import TOPICS


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = sections.setdefault(line[:-1], [])
        elif current is not None and re.match(r"  \S", line):
            current.append(line.split()[0])
    return sections


def test_every_command_is_in_exactly_one_topic():
    listed = [name for names in TOPICS.values() for name in names]
    assert len(listed) == len(set(listed))
    assert set(COMMANDS) <= set(listed), set(COMMANDS) - set(listed)


def test_help_groups_commands_by_topic(project, cl):
    text = cl(["--help"], project).stdout
    sections = _sections(text)
    topics = [t.capitalize() for t in TOPICS]
    assert [s for s in sections if s in topics] == topics
    assert "Other commands" not in sections
    shown = [name for t in topics for name in sections[t]]
    assert sorted(shown) == sorted(COMMANDS)       # each once, none left out
    commands = text.split("Options:")[1]
    assert not [line for line in commands.splitlines() if line.endswith("...")]  # none cut short
    assert re.search(r"\n  push +Send worksheets or bundles with their whole closure \(history,", text)
