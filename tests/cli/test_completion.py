"""Shell completion through the real `cl`, driven by click's protocol
(the `_CL_COMPLETE` variable, as the script `cl completion SHELL` prints
makes the shell do): commands, bundle names, worksheets and remotes."""

import pytest


def complete(cl, cwd, *words: str) -> list[str]:
    """What bash would be offered for the last of `words` (may be '')."""
    env = {"_CL_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(("cl",) + words),
           "COMP_CWORD": str(len(words))}
    done = cl([], cwd, env=env)
    lines = [line for line in done.stdout.splitlines() if line]
    assert all(line.startswith("plain,") for line in lines), done.stdout
    return [line.split(",", 1)[1] for line in lines]


@pytest.fixture
def named(project, cl, tmp_path):
    for name in ("alpha.txt", "alpine.txt", "beta.txt"):
        (project / name).write_text(name)
        cl(["upload", name], project)
    cl(["new", "analysis"], project)
    cl(["new", "archive"], project)
    far = tmp_path / "far"
    far.mkdir()
    cl(["init"], far)
    cl(["remote", "add", "origin", str(far)], project)
    cl(["remote", "add", "backup", str(far)], project)
    return project


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(project, cl, shell):
    script = cl(["completion", shell], project).stdout
    assert "_CL_COMPLETE" in script and f"{shell}_complete" in script


def test_completion_json(project, cl):
    import json
    record = json.loads(cl(["completion", "fish", "--json"], project).stdout)
    assert record["shell"] == "fish" and "_CL_COMPLETE" in record["script"]


def test_completion_refuses_an_unknown_shell(project, cl):
    done = cl(["completion", "tcsh"], project, check=False)
    assert done.returncode == 2 and "tcsh" in done.stderr


def test_commands_complete(project, cl):
    assert complete(cl, project, "up") == ["upload"]
    assert "wls" in complete(cl, project, "w")


def test_bundle_names_complete(named, cl):
    assert complete(cl, named, "info", "alp") == ["alpha.txt", "alpine.txt"]
    assert complete(cl, named, "cat", "b") == ["beta.txt"]
    assert complete(cl, named, "rm", "alpha.txt", "alpi") == ["alpine.txt"]


def test_worksheets_complete(named, cl):
    assert complete(cl, named, "work", "a") == ["analysis", "archive"]
    assert complete(cl, named, "ls", "-w", "an") == ["analysis"]


def test_remotes_complete(named, cl):
    assert complete(cl, named, "remote", "rm", "") == ["backup", "origin"]
    # push's first word is a remote or what to send; later words only what to send
    assert complete(cl, named, "push", "or") == ["origin"]
    assert complete(cl, named, "push", "origin", "a") == ["alpha.txt", "alpine.txt", "analysis",
                                                          "archive"]


def test_outside_a_repository_nothing_is_offered(tmp_path, cl):
    assert complete(cl, tmp_path, "info", "a") == []
