"""A background worker that dies on start is reported to the command
waiting on it, with the end of its log -- not waited on forever while new
workers are started and die in turn (issue 13, item 15)."""

import threading

import pytest

from cl.errors import CLError
from cl.runs import follow
from tests.conftest import run_cl
from tests.runs.helpers import DEADLINE, bid_of, configure, repo_of, stop_workers


@pytest.fixture
def project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, auto_worker=False, executor="local")
    yield project
    stop_workers(project)


def test_a_worker_that_cannot_start_is_reported_to_the_waiter(project):
    bid = bid_of(run_cl(["run", "echo hi"], project))
    repo = repo_of(project)
    # what config.toml could hold before values were checked: `cl config
    # run.parallel abc` was stored, and the worker refuses `--parallel abc`
    repo.config.data["run"].update(auto_worker=True, parallel="abc")
    outcome = {}

    def waiter():
        try:
            follow.wait(repo, bid)
            outcome["ended"] = True
        except CLError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    thread.join(DEADLINE)  # a deadline, not a timing assertion: without the fix it waits forever
    assert not thread.is_alive(), "cl wait still waiting on a worker that cannot start"
    error = outcome["error"]
    assert "worker could not start" in error.message
    assert "--parallel" in error.message and "abc" in error.message  # the worker's own words
    assert "worker.log" in error.message
    repo.close()
