"""The run queue seen from outside a worker: which queued runs a worker may
take, killing runs, waking the workers of a repository, and starting a
detached worker when a run is queued and none is alive (config
`run.auto_worker`)."""

import _socket  # not `socket`: every `cl run` would pay for its enums to send one datagram
import os
import sys

from cl.errors import CLError
from cl.index import runs as rindex
from cl.objects.types import FINAL_STATES, Bundle, Result
from cl.objects.value import Value, _set, replace
from cl.repo import Repository, now_ns

WAKE_PREFIX = "cl-worker-"
KILL_REQUESTED = "Kill requested"


class Candidate(Value):
    """A queued run a worker could take, with what ranks it and what it
    needs; `doomed` when a dependency failed or was removed and the run does
    not allow it: taking it only fails it."""

    __slots__ = ("bundle", "priority", "seq", "cpus", "gpus", "memory", "queue", "doomed")

    def __init__(self, bundle: str, priority: int, seq: int, cpus: int, gpus: int,
                 memory: int | None = None, queue: str | None = None, doomed: bool = False):
        _set(self, "bundle", bundle)
        _set(self, "priority", priority)
        _set(self, "seq", seq)
        _set(self, "cpus", cpus)
        _set(self, "gpus", gpus)
        _set(self, "memory", memory)
        _set(self, "queue", queue)
        _set(self, "doomed", doomed)

    @property
    def request(self) -> dict:
        """The resources it asks for, as cl.runs.capacity reads a request."""
        return {"cpus": self.cpus, "gpus": self.gpus, "memory": self.memory}


def _queue_matches(bundle: Bundle, tags) -> bool:
    """Runs asking for a queue go to workers with that tag; others to any.
    `tags` None: every queue (an executor that routes queues itself)."""
    queue = bundle.request.get("queue")
    return tags is None or not queue or queue in tags


def candidates(repo: Repository, tags=(), cache: dict | None = None) -> list[Candidate]:
    """Queued runs this worker could start now, best first (priority, then
    age).  A run whose dependency failed or was removed is a candidate too:
    taking it is how it gets failed with a message naming the dependency."""
    cache = {} if cache is None else cache
    out = []
    for seq, bid in enumerate(rindex.queued_runs(repo.db)):
        waiting = broken = False
        for dep in rindex.dependency_states(repo.db, bid):
            if not dep["present"] or (not dep["deleted"] and dep["state"] not in FINAL_STATES):
                waiting = True
                break
            broken = broken or bool(dep["deleted"]) or dep["state"] in ("failed", "killed")
        if waiting:
            continue
        bundle = cache.get(bid)
        if bundle is None:
            bundle = cache[bid] = repo.bundle(bid)
        if not _queue_matches(bundle, tags):
            continue
        request = bundle.request
        doomed = broken and not bundle.options.get("allow_failed_dependencies")
        out.append(Candidate(bid, int(request.get("priority") or 0), seq,
                             int(request.get("cpus") or 1), int(request.get("gpus") or 0),
                             int(request["memory"]) if request.get("memory") else None,
                             request.get("queue") or None, doomed))
    out.sort(key=lambda c: (-c.priority, c.seq))
    return out


def unmet(repo: Repository, candidate: Candidate, capacity) -> str | None:
    """Why no live worker can run a candidate that a worker of `capacity`
    (cl.runs.capacity.Capacity; None: unknown) cannot: None when this
    worker can, when another live worker could (its queue tags matching),
    or when the run is doomed anyway (a failed dependency fails it)."""
    from cl.runs.capacity import Capacity, shortfalls, unmet_reason
    if candidate.doomed or not shortfalls(candidate.request, capacity):
        return None
    others = [Capacity.from_json(w["capacity"]) for w in rindex.live_workers(repo.db)
              if not candidate.queue or candidate.queue in w["tags"] or w["capacity"] is None]
    return unmet_reason(candidate.request, [capacity, *others])


def unmet_now(repo: Repository, request: dict) -> str | None:
    """Why none of the live workers can run a new run's `request` (their
    queue tags matching), for `cl run` to say at once; None when one can,
    or when no worker has said what it has yet."""
    from cl.runs.capacity import Capacity, unmet_reason
    queue = request.get("queue")
    return unmet_reason(request, [Capacity.from_json(w["capacity"]) for w in rindex.live_workers(repo.db)
                                  if not queue or queue in w["tags"] or w["capacity"] is None])


# --- waking workers --------------------------------------------------------------


def wake_address(worker_id: str) -> str:
    return WAKE_PREFIX + worker_id


def notify(repo: Repository) -> None:
    """Wake every live worker (a datagram on its abstract socket), so a new
    run or a kill request is seen at once rather than at the next poll."""
    for w in rindex.live_workers(repo.db):
        if not w["address"]:
            continue
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
        try:
            s.sendto(b"!", "\0" + w["address"])
        except OSError:
            pass
        finally:
            s.close()


def ensure_worker(repo: Repository) -> str | None:
    """Wake the live workers, or start a detached one when none is alive
    and the config allows it.  Returns a one-line notice for the user
    (the local executor was chosen, or nobody will run the queue), or None."""
    live = rindex.live_workers(repo.db)
    if live:
        notify(repo)
        notes = [w["note"] for w in live if w["note"]]
        return notes[0] if notes else None
    if not repo.config.get("run", "auto_worker", True):
        return "no worker is running: start one with 'cl worker'"
    from cl.runs.registry import choose, executor_class
    requested = repo.config.get("run", "executor", "auto")
    choice, note = choose(requested, repo.config)
    if requested != "auto":
        problem = executor_class(choice).problem(repo.config)
        if problem is not None:
            return unstartable(repo, problem)
    import subprocess
    with repo.db.transaction():
        if rindex.live_workers(repo.db):  # another `cl` started one meanwhile
            return note or None
        wid = os.urandom(8).hex()
        log = open(repo.path("runs", "worker.log"), "ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cl", "worker", "--id", wid, "--executor", choice,
                 "--parallel", str(repo.config.get("run", "parallel", 1)),
                 "--idle-timeout", str(repo.config.get("run", "worker_idle", "10m"))],
                cwd=repo.root, env={**os.environ, "CODALAB_DIR": repo.root},
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=True)
        finally:
            log.close()
        rindex.register_worker(repo.db, wid, pid=proc.pid, executor="starting", parallel=1,
                               note=note)
    return note or None


def unstartable(repo: Repository, problem: str) -> str:
    from cl.runs.registry import executor_class
    choice = repo.config.get("run", "executor", "auto")
    remedy = executor_class(choice).remedy if choice != "auto" else ""
    return (f"{problem} and run.executor is '{choice}': no worker can start ("
            + (f"{remedy}, or: " if remedy else "") + "cl config run.executor local)")


def blocking_problem(repo: Repository) -> str | None:
    """Why no worker can run this repository's queue now and none will be
    started, when that is so: a waiter then stops instead of hanging."""
    if rindex.live_workers(repo.db) or not repo.config.get("run", "auto_worker", True):
        return None
    choice = repo.config.get("run", "executor", "auto")
    if choice == "auto":
        return None  # there is always the local executor
    from cl.runs.registry import executor_class
    problem = executor_class(choice).problem(repo.config)
    return unstartable(repo, problem) if problem else None


# --- killing --------------------------------------------------------------------


def kill(repo: Repository, bid: str) -> str:
    """Kill a run: a queued one at once (`killed`), a claimed one by asking
    its worker (`requested`), which stops it and keeps its partial output."""
    row = repo.index.bundle(bid)
    if row is None or row.kind != "run":
        raise CLError(f"not a run: 0x{bid[:8]}" + (f" ({row.name})" if row else ""))
    with repo.store.writing(), repo.db.transaction():  # the span first (docs/design.md)
        row = repo.index.bundle(bid)
        if row.state in FINAL_STATES:
            raise CLError(f"run {row.name} (0x{bid[:8]}) has already finished: {row.state}")
        if rindex.get_claim(repo.db, bid) is None:
            t = now_ns()
            rid = repo.write(Result(bundle=bid, contents=None, exit_code=None, started=t,
                                    finished=t, failure=KILL_REQUESTED))
            repo.update_state(bid, lambda s: replace(s, state="killed", result=rid))
            return "killed"
        rindex.request_kill(repo.db, bid)
    notify(repo)
    return "requested"
