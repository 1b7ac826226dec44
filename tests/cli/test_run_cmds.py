"""`cl run`, `cl worker`, `cl workers`, `cl kill`, `cl wait` as commands:
arguments, one-line errors that change nothing, the `---` form.  Nothing
here executes a run (`run.auto_worker` is off), so no Docker is needed."""

import pytest

from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import run_cl, tree
from tests.runs.helpers import bid_of, repo_of


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """One project for the module: every test here either changes nothing
    (and checks so) or only adds runs of its own."""
    project = tmp_path_factory.mktemp("run-cmds") / "project"
    project.mkdir()
    run_cl(["init"], project)
    run_cl(["config", "run.auto_worker", "false"], project)
    tree(project, {"a.txt": "a\n", "d": {"x.txt": "x\n"}})
    run_cl(["upload", "a.txt"], project)
    run_cl(["upload", "d"], project)
    return project


@pytest.fixture
def cl():
    return run_cl


BAD = [
    (["run"], "missing the command to run"),
    (["run", "k:a.txt", "k:d", "true"], "duplicate dependency key: 'k'"),
    (["run", "k:a.txt", "k/x:d", "true"], "dependency key 'k/x' is inside key 'k'"),
    (["run", "/:a.txt", "true"], "invalid dependency key: '/'"),
    (["run", "x:nothing", "true"], "no bundle matches: 'nothing'"),
    (["run", "x:d/missing", "true"], "no such file or directory in the bundle"),
    (["run", "cat %nothing%"], "no bundle matches: 'nothing'"),
    (["run", "--request-memory", "2x", "true"], "bad size: '2x'"),
    (["run", "--request-time", "soon", "true"], "bad duration: 'soon'"),
    (["run", "--request-disk", "0", "true"], "must be more than zero"),
    (["run", "-n", "bad name", "true"], "invalid bundle name"),
    (["kill", "a.txt"], "not a run"),
    (["kill", "nothing"], "no bundle matches"),
    (["wait", "nothing"], "no bundle matches"),
    (["worker", "--cpuset", "zero"], "invalid cpu set"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_changes_nothing(filled, cl, args, message):
    before = snapshot(filled)
    line = one_line_error(cl(args, filled, check=False))
    assert message in line
    assert snapshot(filled) == before


def test_sugar_error_hints_at_the_escape(filled, cl):
    done = cl(["run", "date +%Y-%m-%d"], filled, check=False)
    assert "write %% for a literal %" in one_line_error(done)


def test_run_records_and_prints_the_id(filled, cl):
    done = cl(["run", "in:a.txt", ":d/x.txt", "d", "cat in x.txt b3/x.txt", "-n", "r1",
               "--request-memory", "1g", "--request-time", "10m", "--request-cpus", "2",
               "--tags", "t1 t2", "-d", "about"], filled)
    bid = bid_of(done)
    assert done.stderr.strip() == "cl: no worker is running: start one with 'cl worker'"
    repo = repo_of(filled)
    bundle = repo.bundle(bid)
    assert bundle.kind == "run" and bundle.command == "cat in x.txt b3/x.txt"
    assert [d.key for d in bundle.dependencies] == ["in", "x.txt", "b3"]
    assert bundle.request["memory"] == 1 << 30 and bundle.request["time"] == 600
    assert bundle.request["cpus"] == 2 and bundle.request["network"] is False
    assert bundle.metadata == {"name": "r1", "description": "about", "tags": ["t1", "t2"]}
    assert bundle.args.startswith("run in:a.txt")
    assert repo.head_state(bid)[1].state == "created"
    repo.close()
    info = cl(["info", "r1"], filled).stdout
    assert "waiting for a worker" in info


def test_triple_dash_takes_the_rest_as_the_command(filled, cl):
    done = cl(["run", "-n", "counted", "data:d", "---", "wc", "-l", "data/x.txt", "--name", "x"], filled)
    repo = repo_of(filled)
    bundle = repo.bundle(bid_of(done))
    assert bundle.command == "wc -l data/x.txt --name x"
    assert bundle.metadata["name"] == "counted"
    assert [d.key for d in bundle.dependencies] == ["data"]
    repo.close()


def test_kill_and_wait_of_a_queued_run(filled, cl):
    bid = bid_of(cl(["run", "sleep 100"], filled))
    assert cl(["kill", f"0x{bid}"], filled).stdout.strip() == f"0x{bid}"
    done = cl(["wait", f"0x{bid}"], filled, check=False)
    assert done.returncode == 1 and done.stdout.strip() == f"0x{bid}"
    assert done.stderr.strip().endswith("killed: Kill requested")
    again = cl(["kill", f"0x{bid}"], filled, check=False)
    assert "has already finished: killed" in one_line_error(again)


def test_wait_on_a_ready_dataset_returns_at_once(filled, cl):
    done = cl(["wait", "a.txt"], filled)
    assert done.stdout.startswith("0x")


def test_workers_when_none_is_running(filled, cl):
    assert cl(["workers"], filled).stdout == "no worker is running\n"
    assert cl(["workers", "--json"], filled).stdout.strip() == "[]"


def test_help_of_every_run_command(filled, cl):
    for command in ("run", "worker", "workers", "kill", "wait"):
        assert "Usage:" in cl([command, "--help"], filled).stdout
