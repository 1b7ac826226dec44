"""Builders shared by the run tests: projects with a worker of their own,
stopping every worker and container a test started, waiting with a
deadline (never a timing assertion: a deadline only keeps a broken run
from hanging the suite), and reading a run's state history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cl.index import runs as rindex
from cl.objects.types import State
from cl.repo import Repository
from tests.conftest import CL, cl_env, run_cl

DEADLINE = 120.0


def local_python() -> str:
    """A Python a local run can execute: a root worker runs local commands
    as `nobody`, who cannot reach root's own interpreters (pyenv under
    /root, this venv's links to them), so then the system's."""
    if os.geteuid() == 0:
        return "/usr/bin/python3"
    return sys.executable


def repo_of(project: Path) -> Repository:
    return Repository(str(project / ".codalab"))


def wait_for(predicate, what: str, deadline: float = DEADLINE, every: float = 0.05):
    """Poll `predicate` until it returns something true; fail after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {deadline:.0f}s")
        time.sleep(every)


def configure(project: Path, **values) -> None:
    """`cl config run.KEY VALUE` for each keyword."""
    for key, value in values.items():
        run_cl(["config", f"run.{key}", str(value).lower() if isinstance(value, bool) else value],
               project)


def start_worker(project: Path, *args: str, log: Path | None = None) -> subprocess.Popen:
    """`cl worker ARGS` in the background; returns once it has registered."""
    log = log or project.parent / f"worker-{time.monotonic_ns()}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([CL, "worker", *args], cwd=project, env=cl_env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    proc.log = log
    repo = repo_of(project)
    try:
        wait_for(lambda: proc.poll() is not None or any(
            w["pid"] == proc.pid and w["executor"] != "starting" for w in rindex.workers(repo.db)),
            "the worker to register")
    finally:
        repo.close()
    if proc.poll() not in (None, 0):  # 0: done already (--exit-when-idle)
        raise AssertionError(f"cl worker exited {proc.returncode}:\n{log.read_text()}")
    return proc


def stop_workers(project: Path, engine=None) -> None:
    """Stop every worker of the project (SIGTERM, then SIGKILL) and remove
    the containers of its runs."""
    root = project / ".codalab"
    if not root.exists():
        return
    repo = repo_of(project)
    try:
        pids = [w["pid"] for w in rindex.workers(repo.db) if w["alive"]]
    finally:
        repo.close()
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    time.sleep(0.2)
    for pid in pids:
        _signal(pid, signal.SIGTERM)  # a second one stops it without finishing its runs
    end = time.monotonic() + 10
    for pid in pids:
        while rindex.pid_start(pid) is not None and time.monotonic() < end:
            _reap(pid)
            time.sleep(0.05)
        if rindex.pid_start(pid) is not None:
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
    if engine is not None:
        for c in engine.api.containers(all=True, filters={"label": [f"cl.repo={root}"]}):
            engine.api.remove_container(c["Id"], force=True)


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def history(repo: Repository, bid: str) -> list[str]:
    """The states a bundle went through, oldest first."""
    head = repo.refs.get(f"bundles/{bid}")
    out = []
    while head:
        state = repo.read(head, State)
        out.append(state.state)
        head = state.parents[0] if state.parents else None
    return list(reversed(out))


def result_of(repo: Repository, bid: str):
    from cl.objects.types import Result
    _, state = repo.head_state(bid)
    return repo.read(state.result, Result) if state.result else None


def bid_of(done) -> str:
    """The bundle id `cl run` printed (its first stdout line), without 0x."""
    line = done.stdout.splitlines()[0]
    assert line.startswith("0x") and len(line) == 66, done.stdout
    return line[2:]


def labelled(engine, project: Path) -> list[dict]:
    return engine.api.containers(all=True, filters={"label": [f"cl.repo={project / '.codalab'}"]})
