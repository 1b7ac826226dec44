"""The queue in the index: atomic claims (two processes racing for the
same runs each get a disjoint share), what `cl info` is told about a
waiting run, and killing a queued run.  No Docker needed."""

import multiprocessing
import os
import subprocess

import pytest

from cl.bundles.names import metadata
from cl.bundles.runspec import build_run_spec, create_run
from cl.index import runs as rindex
from cl.objects.ingest import text_contents
from cl.objects.types import Bundle, Result
from cl.objects.value import replace
from cl.repo import Repository, new_nonce, now_ns
from cl.runs import queue
from tests.runs.helpers import history


@pytest.fixture
def repo(tmp_path):
    repo = Repository.init(str(tmp_path))
    repo.config.set("run", "auto_worker", False)
    repo.config.save()
    yield repo
    repo.close()


def new_run(repo, command="true", targets=(), name=None) -> str:
    return create_run(repo, build_run_spec(repo, list(targets), command, name=name))


def _claim_all(root: str, worker: str, out) -> None:
    repo = Repository(root)
    mine = []
    for bid in rindex.queued_runs(repo.db):
        if rindex.claim(repo.db, bid, worker, "test"):
            mine.append(bid)
    out.put((worker, mine))
    repo.close()


def test_two_processes_claiming_at_once_never_share_a_run(repo):
    bids = {new_run(repo) for _ in range(60)}
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(repo.root, f"w{i}", out)) for i in range(3)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    claimed = [bid for mine in results.values() for bid in mine]
    assert len(claimed) == len(set(claimed)) == len(bids)
    assert set(claimed) == bids
    assert {c["bundle"]: c["worker"] for c in rindex.claims(repo.db)} == {
        bid: w for w, mine in results.items() for bid in mine}


def test_a_claim_needs_a_created_unclaimed_run(repo):
    bid = new_run(repo)
    assert rindex.claim(repo.db, bid, "w1", "test")
    assert not rindex.claim(repo.db, bid, "w2", "test")
    assert not rindex.update_claim(repo.db, bid, "w2", stage="running")
    assert rindex.update_claim(repo.db, bid, "w1", stage="running")
    dataset = repo.add_bundle(Bundle(kind="dataset", created=now_ns(), creator="t", nonce=new_nonce(),
                                     metadata=metadata("d"), contents=text_contents(repo.store, "d")))
    assert not rindex.claim(repo.db, dataset, "w1", "test")


def test_why_a_run_waits(repo):
    parent = new_run(repo, name="parent")
    child = new_run(repo, "cat p", [f"p:0x{parent}"], name="child")
    assert rindex.run_status(repo.db, parent)["reason"].startswith("waiting for a worker (none is running")
    assert rindex.run_status(repo.db, child)["reason"] == f"waiting for dependency parent (0x{parent[:8]})"
    assert [c.bundle for c in queue.candidates(repo)] == [parent]
    # a registered, live worker (this very process) with a free slot
    rindex.register_worker(repo.db, "me", pid=os.getpid(), executor="test", parallel=1)
    assert rindex.run_status(repo.db, parent)["reason"] == "waiting for a worker"
    # its claim, then its death (a process that has exited)
    assert rindex.claim(repo.db, parent, "gone", "test")
    dead = subprocess.Popen(["true"])
    dead.wait()
    rindex.register_worker(repo.db, "gone", pid=dead.pid, executor="test", parallel=1)
    status = rindex.run_status(repo.db, parent)
    assert status["stage"] == "staged" and "worker died" in status["reason"]
    assert [c["bundle"] for c in rindex.orphaned_claims(repo.db)] == [parent]
    assert rindex.take_over(repo.db, parent, "gone", "me")
    assert not rindex.take_over(repo.db, parent, "gone", "me")


def test_failed_dependency_makes_the_child_a_candidate_to_fail(repo):
    parent = new_run(repo, name="parent")
    child = new_run(repo, "cat p", [f"p:0x{parent}"], name="child")
    assert rindex.claim(repo.db, parent, "w", "test")
    t = now_ns()
    rid = repo.write(Result(bundle=parent, contents=None, exit_code=1, started=t, finished=t,
                            failure="Exit code 1"))
    repo.update_state(parent, lambda s: replace(s, state="failed", result=rid))
    rindex.release(repo.db, parent, "w")
    assert rindex.run_status(repo.db, child)["reason"] == f"dependency parent (0x{parent[:8]}) failed"
    assert [c.bundle for c in queue.candidates(repo)] == [child]


def test_priority_then_age_and_queues(repo):
    low = new_run(repo)
    high = create_run(repo, build_run_spec(repo, [], "true", request={"priority": 5}))
    tagged = create_run(repo, build_run_spec(repo, [], "true", request={"queue": "gpu"}))
    assert [c.bundle for c in queue.candidates(repo)] == [high, low]
    assert [c.bundle for c in queue.candidates(repo, tags=("gpu",))] == [high, low, tagged]


def test_kill_a_queued_run_and_refuse_a_finished_one(repo):
    bid = new_run(repo)
    assert queue.kill(repo, bid) == "killed"
    assert history(repo, bid) == ["created", "killed"]
    result = repo.read(repo.head_state(bid)[1].result, Result)
    assert result.failure == "Kill requested" and result.contents is None
    with pytest.raises(Exception, match="already finished: killed"):
        queue.kill(repo, bid)
    claimed = new_run(repo)
    rindex.claim(repo.db, claimed, "w", "test")
    assert queue.kill(repo, claimed) == "requested"
    assert rindex.kill_requests(repo.db, "w") == [claimed]
    assert rindex.run_status(repo.db, claimed)["kill_requested"]
