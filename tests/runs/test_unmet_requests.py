"""A run whose request no worker can meet stays `staged`, with a message
saying why, as CodaLab keeps it (issue 15): it is neither started (Docker
would refuse it and fail the run) nor left waiting without a word.  A
worker that can meet it takes it later; `cl kill` ends it."""

import os
import subprocess

import pytest

from cl.index import runs as rindex
from cl.repo import Repository
from cl.runs.capacity import Capacity, host_capacity, host_gpus, shortfalls, unmet_reason
from tests.conftest import CL, cl_env, run_cl
from tests.runs.helpers import bid_of, configure, repo_of, start_worker, stop_workers, wait_for


# --- the rule, without a worker ----------------------------------------------------------


def test_shortfalls_name_what_a_worker_cannot_give():
    small = Capacity(cpus=2, gpus=0, memory=8 << 30)
    assert shortfalls({}, small) == []                    # one CPU, no GPU, no memory asked
    assert shortfalls({"cpus": 2, "memory": 8 << 30}, small) == []
    assert shortfalls({"cpus": 3, "gpus": 1, "memory": 9 << 30}, small) == ["cpus", "gpus", "memory"]
    assert shortfalls({"gpus": 100}, None) == []          # unknown capacity: the executor decides
    assert shortfalls({"gpus": 100}, Capacity(cpus=2)) == []  # GPUs unknown: not limited


def test_the_message_says_what_is_asked_and_the_most_any_worker_has():
    workers = [Capacity(2, 0, 8 << 30), Capacity(4, 0, 16 << 30)]
    assert unmet_reason({"gpus": 100}, workers) == \
        "no worker can meet its request: 100 GPUs (the most a worker here has: 0)"
    assert unmet_reason({"cpus": 64, "memory": 1 << 40}, workers) == (
        "no worker can meet its request: 64 CPUs (the most a worker here has: 4), "
        "1t of memory (the most a worker here has: 16g)")
    # one worker can: nothing to say; an unknown capacity (a batch system) might
    assert unmet_reason({"cpus": 4}, workers) is None
    assert unmet_reason({"gpus": 100}, [*workers, None]) is None
    # each resource exists, but never together
    assert unmet_reason({"gpus": 1, "memory": 16 << 30}, [Capacity(2, 1, 8 << 30), Capacity(2, 0, 16 << 30)]) \
        == "no worker can meet its request: 1 CPU and 1 GPU and 16g of memory on one worker"


def test_a_cpuset_and_a_gpuset_narrow_a_worker():
    here = host_capacity()
    assert here.cpus >= 1 and here.gpus == host_gpus() and here.memory > 0
    assert here.narrowed(cpuset=(0,), gpuset=("0", "1")) == Capacity(1, 2, here.memory)
    assert Capacity.from_json(here.to_json()) == here
    assert Capacity.from_json(None) is None


def test_the_index_shows_staged_only_while_the_worker_that_said_so_lives(tmp_path):
    repo = Repository.init(str(tmp_path))
    repo.config.set("run", "auto_worker", False)
    repo.config.save()
    try:
        from cl.bundles.runspec import build_run_spec, create_run
        bid = create_run(repo, build_run_spec(repo, [], "true"))
        rindex.register_worker(repo.db, "alive", pid=os.getpid(), executor="local", parallel=1,
                               capacity={"cpus": 1})
        rindex.set_unmet(repo.db, "alive", {bid: "no worker can meet its request: 2 CPUs"})
        status = rindex.run_status(repo.db, bid)
        assert (status["stage"], status["reason"]) == ("staged", "no worker can meet its request: 2 CPUs")
        assert rindex.live_workers(repo.db)[0]["capacity"] == {"cpus": 1}
        # the worker is gone: the run waits for a worker again, as it would without one
        rindex.remove_worker(repo.db, "alive")
        assert rindex.run_status(repo.db, bid)["stage"] == "created"
        assert rindex.unmet(repo.db, "alive") == {}
        # a claim clears what any worker said of the run
        rindex.register_worker(repo.db, "again", pid=os.getpid(), executor="local", parallel=1)
        rindex.set_unmet(repo.db, "again", {bid: "no worker can meet its request: 2 CPUs"})
        assert rindex.claim(repo.db, bid, "again", "local")
        assert rindex.unmet(repo.db, "again") == {}
        assert rindex.run_status(repo.db, bid)["stage"] == "staged"  # the claim's own stage
        assert rindex.run_status(repo.db, bid)["reason"] == ""
    finally:
        repo.close()


# --- with real workers -----------------------------------------------------------------


def staged(project, bid) -> str:
    """The staged_status of a run once it shows `staged` (waits for it)."""
    def look():
        stage, why = run_cl(["info", "-f", "run_status,staged_status", f"0x{bid}"], project).stdout \
            .rstrip("\n").split("\t")
        return why if stage == "staged" else None
    return wait_for(look, "the run to show staged")


@pytest.fixture
def docker_project(tmp_path, docker_engine, busybox_image):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, image=busybox_image, executor="docker", worker_idle="60s")
    yield project
    stop_workers(project, docker_engine)


def test_a_request_docker_cannot_meet_stays_staged_and_says_why(docker_project, docker_engine):
    project = docker_project
    gpus = host_gpus() + 1
    # the worker `cl run` starts sees the machine, and never hands Docker these
    too_many_gpus = bid_of(run_cl(["run", "--request-gpus", gpus, "true"], project))
    too_much_memory = bid_of(run_cl(["run", "--request-memory", "1000t", "true"], project))
    too_many_cpus = bid_of(run_cl(["run", "--request-cpus", os.cpu_count() + 64, "true"], project))
    fine = bid_of(run_cl(["run", "echo fine", "-W"], project))  # the queue goes on past them
    # cl workers shows what the worker can give one run
    engine = docker_engine.api.info()
    assert f"{engine['NCPU']} CPU{'' if engine['NCPU'] == 1 else 's'}, {host_gpus()} GPU" in \
        run_cl(["workers"], project).stdout
    assert run_cl(["cat", f"0x{fine}/stdout"], project).stdout == "fine\n"
    assert staged(project, too_many_gpus) == \
        f"no worker can meet its request: {gpus} GPU{'' if gpus == 1 else 's'} (the most a worker here has: {gpus - 1})"
    assert staged(project, too_much_memory).startswith("no worker can meet its request: 1000t of memory (the most")
    assert staged(project, too_many_cpus).startswith(
        f"no worker can meet its request: {os.cpu_count() + 64} CPUs (the most a worker here has: ")
    # with a worker alive that has said what it has, cl run says so at once
    again = run_cl(["run", "--request-gpus", gpus, "true"], project)
    assert again.stderr == f"cl: run {again.stdout[:10]} stays staged: no worker can meet its request: " \
        f"{gpus} GPU{'' if gpus == 1 else 's'} (the most a worker here has: {gpus - 1})\n"
    run_cl(["kill", again.stdout.strip()], project)
    # cl info shows it, the durable state stays created, and nothing failed
    shown = run_cl(["info", f"0x{too_many_gpus}"], project).stdout
    assert "stage: staged" in shown and "reason: no worker can meet its request" in shown
    assert run_cl(["info", "-f", "state,state_details", f"0x{too_many_gpus}"], project).stdout.startswith(
        "created\tno worker can meet its request")
    # cl print shows it through a schema, as CodaLab's run_status/staged_status
    text = (f"% schema s\n% add name\n% add stage run_status\n% add why staged_status\n% display table s\n"
            f"{{0x{too_many_gpus}}}\n")
    (project / "ws.txt").write_text(text)
    run_cl(["wedit", "-f", "ws.txt"], project)
    printed = run_cl(["print"], project).stdout
    assert "staged  no worker can meet its request" in printed
    # and cl kill ends it, as any queued run
    run_cl(["kill", f"0x{too_many_gpus}"], project)
    assert run_cl(["info", "-f", "state", f"0x{too_many_gpus}"], project).stdout == "killed\n"


def test_waiting_on_a_staged_run_says_why_instead_of_hanging_silently(docker_project):
    project = docker_project
    waiting = subprocess.Popen([CL, "run", "--request-gpus", str(host_gpus() + 1), "true", "-W"],
                               cwd=project, env=cl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        bid = waiting.stdout.readline().strip()[2:]
        line = waiting.stderr.readline()  # blocks until cl says something; the deadline is the suite's
        while "stays staged" not in line and line:
            line = waiting.stderr.readline()
        assert line.rstrip("\n") == f"cl: run 0x{bid[:8]} stays staged: no worker can meet its request: " \
            f"{host_gpus() + 1} GPU{'' if host_gpus() == 0 else 's'} (the most a worker here has: {host_gpus()})"
        assert waiting.poll() is None  # still waiting, as CodaLab's -W would
    finally:
        waiting.terminate()
        waiting.wait()
    run_cl(["kill", f"0x{bid}"], project)


def test_a_worker_that_can_meet_it_takes_it_later(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", auto_worker=False)
    try:
        small = start_worker(project, "--cpuset", "0")
        bid = bid_of(run_cl(["run", "--request-cpus", "2", "echo ran > out"], project))
        assert staged(project, bid) == "no worker can meet its request: 2 CPUs (the most a worker here has: 1)"
        if host_capacity().cpus < 2:
            pytest.skip("this machine has one CPU: no worker here can meet the request")
        big = start_worker(project, "--exit-when-idle")
        assert big.wait(timeout=120) == 0
        assert run_cl(["cat", f"0x{bid}/out"], project).stdout == "ran\n"
        assert small.poll() is None
    finally:
        stop_workers(project)
