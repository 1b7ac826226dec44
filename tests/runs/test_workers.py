"""Workers with real containers: the worker `cl run` starts on its own, a
worker killed with SIGKILL mid-run and started again, two workers on one
repository, and why a run waits."""

import re
import signal

import pytest

from cl.bundles.runspec import build_run_spec, create_run
from cl.index import runs as rindex
from cl.objects.trees import lookup
from tests.conftest import run_cl
from tests.runs.helpers import (bid_of, configure, history, labelled, repo_of, result_of,
                                start_worker, stop_workers, wait_for)


@pytest.fixture
def project(tmp_path, docker_engine, busybox_image):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, image=busybox_image, worker_idle="30s")
    yield project
    stop_workers(project, docker_engine)


def test_cl_run_starts_a_worker_when_none_is_alive(project):
    done = run_cl(["run", "echo hello", "-W"], project)
    assert run_cl(["cat", f"0x{bid_of(done)}/stdout"], project).stdout == "hello\n"
    repo = repo_of(project)
    live = rindex.live_workers(repo.db)
    assert len(live) == 1 and live[0]["executor"] == "docker"
    # a second run uses the same worker
    run_cl(["run", "true", "-W"], project)
    assert [w["id"] for w in rindex.live_workers(repo.db)] == [live[0]["id"]]
    repo.close()


def test_info_says_why_a_run_waits(project):
    configure(project, auto_worker=False)
    first = bid_of(run_cl(["run", "echo one > out", "-n", "first"], project))
    second = bid_of(run_cl(["run", f"in:0x{first}/out", "cat in", "-n", "second"], project))
    assert "waiting for a worker" in run_cl(["info", "first"], project).stdout
    assert "waiting for dependency first" in run_cl(["info", "second"], project).stdout
    worker = start_worker(project, "--exit-when-idle")
    assert worker.wait(timeout=120) == 0
    assert run_cl(["cat", "second/stdout"], project).stdout == "one\n"


def test_a_worker_killed_mid_run_leaves_it_recoverable(project, docker_engine):
    configure(project, auto_worker=False)
    worker = start_worker(project)
    bid = bid_of(run_cl(["run", "echo start; sleep 2; echo end > out"], project))
    repo = repo_of(project)
    wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running", "the run to start")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    status = rindex.run_status(repo.db, bid)
    assert status["stage"] == "running" and "worker died" in status["reason"]
    assert len(labelled(docker_engine, project)) == 1  # the container goes on without its worker
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=120) == 0
    assert history(repo, bid) == ["created", "running", "ready"]
    assert run_cl(["cat", f"0x{bid}/out"], project).stdout == "end\n"
    assert "recovering" in again.log.read_text()
    assert labelled(docker_engine, project) == []
    assert rindex.claims(repo.db) == []
    repo.close()


def test_a_run_whose_container_vanished_with_its_worker_fails_cleanly(project, docker_engine):
    configure(project, auto_worker=False)
    worker = start_worker(project)
    bid = bid_of(run_cl(["run", "echo start; sleep 60"], project))
    repo = repo_of(project)
    wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running", "the run to start")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    for c in labelled(docker_engine, project):
        docker_engine.api.remove_container(c["Id"], force=True)
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=120) == 0
    assert history(repo, bid) == ["created", "running", "failed"]
    assert result_of(repo, bid).failure == "The worker running it died"
    assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "start\n"
    repo.close()


def test_two_workers_never_run_the_same_bundle(project):
    configure(project, auto_worker=False)
    repo = repo_of(project)
    bids = [create_run(repo, build_run_spec(repo, [], f"echo {i} > out")) for i in range(8)]
    workers = [start_worker(project, "--parallel", "2", "--exit-when-idle") for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=300) == 0
    started = []
    for w in workers:
        started += re.findall(r"0x([0-9a-f]{8}): running", w.log.read_text())
    assert sorted(started) == sorted(b[:8] for b in bids)
    for i, bid in enumerate(bids):
        assert history(repo, bid) == ["created", "running", "ready"]
        out = lookup(repo.store, repo.contents(bid), "out")
        assert repo.store.read_bytes(out.id) == f"{i}\n".encode()
    repo.close()



def test_a_worker_with_a_cpuset_pins_each_run(project):
    configure(project, auto_worker=False)
    bid = bid_of(run_cl(["run", "--request-cpus", "1",
                         "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpuset.cpus.effective"
                         " 2>/dev/null > cpus"], project))
    worker = start_worker(project, "--cpuset", "1", "--exit-when-idle")
    assert worker.wait(timeout=120) == 0
    assert run_cl(["cat", f"0x{bid}/cpus"], project).stdout.split()[0] == "1"
