"""The executor contract: what every registered executor must do, through
the real `cl` command and a real worker.  Each test runs once per executor
in cl/runs/registry.py; adding an executor adds a line to SERVICES saying
which real service it needs, and it must then pass all of these:

* start: a run with a dependency is executed, its output files and its
  stdout/stderr come back into the store, the states are
  created -> running -> ready, the Result names the executor;
* exit codes: a non-zero exit fails the run with `Exit code N`;
* limits: a time limit kills the run (`Time limit exceeded`); a memory
  limit too, for executors that enforce memory (`Executor.enforces`);
* kill: `cl kill` stops a running run, which keeps its partial output,
  and stdout is readable with `cl cat` while it runs;
* read-only dependencies: a run cannot change a dependency, and the
  repository still passes fsck;
* recovery: after the worker is SIGKILLed mid-run, the next worker brings
  the run to its end: finished (`ready`, all output) where the executor
  can reattach, else failed with `The worker running it died` and the
  output so far; no claim is left behind.

A missing service skips on a laptop and fails under CI=true."""

from __future__ import annotations

import signal
import subprocess

import pytest

from cl.index import runs as rindex
from cl.runs.registry import EXECUTORS, executor_class
from tests.conftest import run_cl, tree
from tests.runs.helpers import (bid_of, configure, history, repo_of, result_of, start_worker,
                                stop_workers, wait_for)

# executor -> the fixtures (tests/services.py) it needs
SERVICES = {
    "docker": ("docker_engine", "busybox_image"),
    "local": (),
    "local-unsafe": (),
    "slurm": ("slurm_cluster",),
}
MEMORY_HOG = "head -c 200000000 /dev/zero | tail"
# one parameter per executor, marked after its service so `-m "not slurm"` works
PARAMS = [pytest.param(name, marks=[getattr(pytest.mark, name)] if services else [])
          for name, services in sorted(SERVICES.items())]


def test_every_registered_executor_is_in_the_contract():
    assert sorted(SERVICES) == sorted(EXECUTORS)


def _setup(request, name: str, path):
    for fixture in SERVICES[name]:
        request.getfixturevalue(fixture)
    path.mkdir()
    run_cl(["init"], path)
    configure(path, executor=name, auto_worker=False, worker_idle="30s")
    if name == "docker":
        configure(path, image=request.getfixturevalue("busybox_image"))
    tree(path, {"a.txt": "foo\nbar\n", "data": {"x.txt": "x\n"}})
    for item in ("a.txt", "data"):
        run_cl(["upload", item], path)
    return path


def _teardown(request, name: str, path) -> None:
    engine = request.getfixturevalue("docker_engine") if name == "docker" else None
    stop_workers(path, engine)
    if name == "slurm":
        cancel_slurm_jobs(path)


def cancel_slurm_jobs(project) -> None:
    """scancel the jobs a test's runs left in the queue (by their comment)."""
    root = str(project / ".codalab")
    done = subprocess.run(["squeue", "-h", "-o", "%i|%k"], capture_output=True, text=True)
    jobs = [line.split("|", 1)[0] for line in done.stdout.splitlines()
            if line.split("|", 1)[-1] == f"cl {root}"]
    if jobs:
        subprocess.run(["scancel", *jobs], check=False)


@pytest.fixture(scope="module", params=PARAMS)
def executor(request, tmp_path_factory):
    """(name, project) with a worker running three runs at a time."""
    name = request.param
    project = _setup(request, name, tmp_path_factory.mktemp(f"contract-{name}") / "project")
    try:
        start_worker(project, "--parallel", "3")
        yield name, project
    finally:
        _teardown(request, name, project)


@pytest.fixture(params=PARAMS)
def own_executor(request, tmp_path):
    """(name, project) without a worker: the test starts (and kills) its own."""
    name = request.param
    project = _setup(request, name, tmp_path / "project")
    try:
        yield name, project
    finally:
        _teardown(request, name, project)


def cl(project, *args, check=True):
    return run_cl(list(args), project, check=check)


def test_start_outputs_come_back_into_the_store(executor):
    name, project = executor
    bid = bid_of(cl(project, "run", "in:a.txt", "d:data",
                    "sort in > sorted; cat d/x.txt; echo oops >&2; mkdir sub; echo y > sub/y", "-W"))
    assert cl(project, "cat", f"0x{bid}/sorted").stdout == "bar\nfoo\n"
    assert cl(project, "cat", f"0x{bid}/sub/y").stdout == "y\n"
    assert cl(project, "cat", f"0x{bid}/stdout").stdout == "x\n"
    assert cl(project, "cat", f"0x{bid}/stderr").stdout == "oops\n"
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert (result.executor, result.exit_code, result.failure) == (name, 0, None)
    assert history(repo, bid) == ["created", "running", "ready"]
    from cl.objects.trees import read_tree
    names = {e.name for e in read_tree(repo.store, repo.contents(bid).id).entries}
    assert names == {"sorted", "sub", "stdout", "stderr"}  # the dependencies are not output
    assert rindex.claims(repo.db) == []
    repo.close()


def test_exit_codes(executor):
    _, project = executor
    done = cl(project, "run", "echo before; exit 3", "-W", check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("failed: Exit code 3")
    bid = bid_of(done)
    repo = repo_of(project)
    assert result_of(repo, bid).exit_code == 3
    assert history(repo, bid) == ["created", "running", "failed"]
    repo.close()
    assert cl(project, "cat", f"0x{bid}/stdout").stdout == "before\n"


def test_time_limit(executor):
    _, project = executor
    done = cl(project, "run", "--request-time", "1s", "sleep 120", "-W", check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("killed: Time limit exceeded")


def test_memory_limit_where_enforced(executor):
    name, project = executor
    if "memory" not in executor_class(name).enforces:
        pytest.skip(f"the {name} executor does not enforce memory (Executor.enforces)")
    done = cl(project, "run", "--request-memory", "16m", MEMORY_HOG, "-W", check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("killed: Memory limit 16m exceeded")


def test_kill_keeps_partial_output_readable_while_running(executor):
    _, project = executor
    bid = bid_of(cl(project, "run", "echo partial; sleep 120"))
    wait_for(lambda: cl(project, "cat", f"0x{bid}/stdout", check=False).stdout == "partial\n",
             "the run's first line, read while it runs")
    cl(project, "kill", f"0x{bid}")
    done = cl(project, "wait", f"0x{bid}", check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("killed: Kill requested")
    assert cl(project, "cat", f"0x{bid}/stdout").stdout == "partial\n"


def test_dependencies_are_read_only(executor):
    _, project = executor
    bid = bid_of(cl(project, "run", ":a.txt", "d:data",
                    "echo x > a.txt; echo $? > rc1; echo y > d/x.txt; echo $? > rc2;"
                    " echo z > d/new; echo $? > rc3; rm -f d/x.txt; echo $? > rc4", "-W"))
    for rc in ("rc1", "rc2", "rc3", "rc4"):
        assert cl(project, "cat", f"0x{bid}/{rc}").stdout.strip() != "0", rc
    assert cl(project, "cat", "a.txt").stdout == "foo\nbar\n"
    assert cl(project, "cat", "data/x.txt").stdout == "x\n"
    assert cl(project, "fsck").returncode == 0


def test_recovery_after_the_worker_is_sigkilled(own_executor):
    name, project = own_executor
    worker = start_worker(project)
    bid = bid_of(cl(project, "run", "echo start; sleep 4; echo end"))
    repo = repo_of(project)
    wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running"
             and cl(project, "cat", f"0x{bid}/stdout", check=False).stdout == "start\n",
             "the run to start")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert "worker died" in rindex.run_status(repo.db, bid)["reason"]
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=180) == 0, again.log.read_text()
    if executor_class(name).reattach:
        assert history(repo, bid) == ["created", "running", "ready"]
        assert cl(project, "cat", f"0x{bid}/stdout").stdout == "start\nend\n"
    else:
        assert history(repo, bid) == ["created", "running", "failed"]
        assert result_of(repo, bid).failure == "The worker running it died"
        assert cl(project, "cat", f"0x{bid}/stdout").stdout == "start\n"
    assert rindex.claims(repo.db) == []
    repo.close()
