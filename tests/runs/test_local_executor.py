"""The local executor: runs as plain processes with the same layout and
states as Docker, and without a way to change their dependencies or the
object store, even as root.  No Docker Engine needed."""

import json
import os
import signal
import sys

import blake3
import pytest

from cl.index import runs as rindex
from tests.conftest import run_cl, tree
from tests.runs.helpers import (bid_of, configure, history, local_python, repo_of, result_of,
                                start_worker, stop_workers, wait_for)

SORT_PY = "import sys\nfor line in sorted(sys.stdin): print(line, end='')\n"


def make_project(path):
    path.mkdir()
    run_cl(["init"], path)
    configure(path, executor="local", worker_idle="30s")
    tree(path, {"a.txt": "foo\nbar\nbaz\n", "sort.py": SORT_PY, "data": {"x.txt": "x\n"}})
    for name in ("a.txt", "sort.py", "data"):
        run_cl(["upload", name], path)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One project for the module, served by the worker its first run starts."""
    project = make_project(tmp_path_factory.mktemp("local-runs") / "project")
    yield project
    stop_workers(project)


@pytest.fixture
def own_project(tmp_path):
    """A project for a test that starts and kills its own worker."""
    project = make_project(tmp_path / "project")
    yield project
    stop_workers(project)


def store_snapshot(project) -> dict[str, str]:
    """Every object file under .codalab/objects with the hash of its bytes."""
    out = {}
    root = project / ".codalab" / "objects"
    for path in sorted(root.glob("??/*")):
        out[str(path.relative_to(root))] = blake3.blake3(path.read_bytes()).hexdigest()
    return out


def test_the_sort_example_runs_locally(project):
    python = local_python()
    done = run_cl(["run", ":sort.py", "input:a.txt", f"{python} sort.py < input > output; pwd > wd",
                   "--name", "sort-run", "-W"], project)
    bid = bid_of(done)
    assert run_cl(["cat", "sort-run/output"], project).stdout == "bar\nbaz\nfoo\n"
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert result.executor == "local" and result.exit_code == 0 and result.image == {}
    assert run_cl(["cat", "sort-run/wd"], project).stdout.strip() == str(project / ".codalab" / "runs" / bid)
    assert history(repo, bid) == ["created", "running", "ready"]
    assert {d[0] for d in repo.index.dependencies(bid)} == {"sort.py", "input"}
    repo.close()


def test_a_run_cannot_change_its_dependencies_or_the_store(project):
    before = store_snapshot(project)
    attack = ("echo evil > d/x.txt; rm -rf d/*; chmod -R u+w ../../objects ../../checkouts;"
              " for f in $(find ../../objects ../../checkouts -type f); do echo evil > $f; rm -f $f; done;"
              " rm -rf ../../objects/* ../../checkouts/*; echo evil > ../../repo.db;"
              " mount -o remount,rw ../..; umount d; echo tried > done")
    bid = bid_of(run_cl(["run", "d:data", attack, "-W"], project, check=False))
    assert run_cl(["cat", f"0x{bid}/done"], project).stdout == "tried\n"
    stderr = run_cl(["cat", f"0x{bid}/stderr"], project).stdout
    assert "Read-only file system" in stderr
    after = store_snapshot(project)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed or went away
    assert run_cl(["fsck"], project).returncode == 0
    assert run_cl(["cat", "data/x.txt"], project).stdout == "x\n"


def test_no_network_unless_requested(project):
    bid = bid_of(run_cl(["run", "cat /proc/net/dev > nets", "-W"], project))
    table = run_cl(["cat", f"0x{bid}/nets"], project).stdout.splitlines()[2:]
    assert [line.split(":")[0].strip() for line in table] == ["lo"]
    bid = bid_of(run_cl(["run", "--request-network", "cat /proc/net/dev > nets", "-W"], project))
    assert len(run_cl(["cat", f"0x{bid}/nets"], project).stdout.splitlines()[2:]) > 1


def test_time_limit_and_kill(project):
    done = run_cl(["run", "--request-time", "1s", "sleep 60", "-W"], project, check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("killed: Time limit exceeded")
    bid = bid_of(run_cl(["run", "echo partial; sleep 60"], project))
    wait_for(lambda: run_cl(["cat", f"0x{bid}/stdout"], project, check=False).stdout == "partial\n",
             "the run's first line")
    run_cl(["kill", f"0x{bid}"], project)
    done = run_cl(["wait", f"0x{bid}"], project, check=False)
    assert done.returncode != 0 and "killed: Kill requested" in done.stderr
    assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "partial\n"


def test_a_local_run_whose_worker_died_is_stopped_and_failed(own_project):
    project = own_project
    configure(project, auto_worker=False)
    worker = start_worker(project)
    bid = bid_of(run_cl(["run", "echo start; sleep 60"], project))
    repo = repo_of(project)
    wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running", "the run to start")
    pid = json.loads(rindex.get_claim(repo.db, bid)["handle"])["pid"]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert rindex.pid_start(pid) is not None  # the run outlived its worker
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=120) == 0
    assert history(repo, bid) == ["created", "running", "failed"]
    assert result_of(repo, bid).failure == "The worker running it died"
    assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "start\n"
    wait_for(lambda: rindex.pid_start(pid) is None or _zombie(pid), "the orphaned run to be gone")
    repo.close()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_no_engine_means_the_local_executor_with_a_warning(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    run_cl(["init"], project, env=env)
    try:
        run_cl(["config", "run.worker_idle", "30s"], project)
        done = run_cl(["run", "echo hi", "-W"], project, env=env)
        warnings = [line for line in done.stderr.splitlines() if "no Docker Engine answers" in line]
        assert len(warnings) == 1 and warnings[0].endswith("runs use the local executor")
        repo = repo_of(project)
        assert result_of(repo, bid_of(done)).executor == "local"
        repo.close()
    finally:
        stop_workers(project)


def test_waiting_on_docker_without_an_engine_stops_with_one_line(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    run_cl(["init"], project)
    run_cl(["config", "run.executor", "docker"], project)
    done = run_cl(["run", "echo hi", "-W"], project, env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
                  check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no worker can start" in lines[0]
    repo = repo_of(project)
    assert repo.head_state(bid_of(done))[1].state == "created"  # still queued for a later worker
    assert rindex.workers(repo.db) == []
    repo.close()
