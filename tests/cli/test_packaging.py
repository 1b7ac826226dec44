"""The installed distribution: named `cl-worksheets` (not the unrelated
`cl` of the package index), installing the `cl` command, whose --version
reads that distribution's metadata."""

import importlib.metadata


def test_distribution_name_and_command(project, cl):
    dist = importlib.metadata.distribution("cl-worksheets")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"cl": "cl.cli.entry:run"}
    assert cl(["--version"], project).stdout == f"cl, version {dist.version}\n"
