"""Following a run from outside its worker: waiting until it ends
(`cl wait`, `cl run -W`) and streaming its stdout/stderr while it runs
(`cl run -t`, `cl wait -t`).

Both poll the index (cheap SQLite reads, quick at first then slower).  While
waiting, if no worker is alive any more, one is started again (per
`run.auto_worker`), so a wait never hangs on a run nobody will execute;
and if a worker started in the background since this command began died
before it registered, the wait stops with the end of its log."""

import os
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from cl.errors import CLError
from cl.index import runs as rindex
from cl.objects.trees import NotInBundle, lookup
from cl.objects.types import FINAL_STATES, State
from cl.repo import Repository
from cl.runs import queue
from cl.runs.paths import STREAMS, run_dir

RECHECK_WORKERS_S = 3.0
STATUS_EVERY_S = 0.5  # how often a waiting caller hears where the run stands
TAIL_LINES = 10


@dataclass(frozen=True)
class RunProgress:
    """Where a run that has not ended stands, for someone waiting on it:
    its `stage` (created, staged, preparing, running, finalizing), why it
    waits or what it does (`reason`), how many queued runs are ahead of it
    (`ahead`, for a run no worker holds yet) and how long it has been
    running (`elapsed`, seconds, once a worker started it)."""

    stage: str
    reason: str | None = None
    ahead: int | None = None
    elapsed: float | None = None


def progress_of(repo: Repository, bid: str) -> RunProgress | None:
    """A run's RunProgress now; None once it has ended."""
    status = rindex.run_status(repo.db, bid)
    if status is None:
        return None
    ahead = None
    if status["stage"] in ("created", "staged") and status["worker"] is None:
        queued = rindex.queued_runs(repo.db)
        ahead = queued.index(bid) if bid in queued else None
    elapsed = None
    if status["started"] and status["stage"] in ("running", "finalizing"):
        elapsed = max(0.0, (rindex.now_ns() - status["started"]) / 1e9)
    return RunProgress(status["stage"], status["reason"], ahead, elapsed)


def stderr_tail(repo: Repository, bid: str, lines: int = TAIL_LINES) -> list[str]:
    """The last `lines` lines of an ended run's saved stderr (none when it
    saved none), decoded leniently: this is for a person to read."""
    contents = repo.contents(bid)
    if contents is None:
        return []
    try:
        entry = lookup(repo.store, contents, "stderr")
    except NotInBundle:
        return []
    keep = 64 << 10  # the end of a long stderr is enough to find the last lines
    with repo.store.open(entry.id) as f:
        if entry.size > keep:
            f.seek(entry.size - keep)
        data = f.read(keep)
    return data.decode("utf-8", "replace").splitlines()[-lines:]


class _Poller:
    def __init__(self, repo: Repository, bid: str, on_notice: Callable[[str], None] | None,
                 on_progress: Callable[[RunProgress], None] | None = None):
        self.repo = repo
        self.bid = bid
        self.delay = 0.005
        self.on_notice = on_notice
        self.on_progress = on_progress
        self.last_check = self.started = time.monotonic()
        self.last_status = 0.0
        self.last_progress = 0.0
        self.last_reason = None

    def state(self) -> str:
        row = self.repo.index.bundle(self.bid, include_deleted=True)
        if row is None:
            raise CLError(f"no such bundle: 0x{self.bid}")
        return row.state

    def pause(self) -> None:
        time.sleep(self.delay)
        now = time.monotonic()
        # quick polls for the first seconds (short runs end soon), then slower
        self.delay = min(0.03 if now - self.started < 10 else 0.25, self.delay * 1.3)
        if now - self.last_check > RECHECK_WORKERS_S:
            self.last_check = now
            if not rindex.live_workers(self.repo.db):
                problem = queue.blocking_problem(self.repo) or _failed_start(self.repo)
                if problem:
                    raise CLError(problem)
                notice = queue.ensure_worker(self.repo)
                if notice and self.on_notice:
                    self.on_notice(notice)
        if self.on_notice and now - self.last_status > 0.5:
            self.last_status = now
            status = rindex.run_status(self.repo.db, self.bid)
            reason = status["reason"] if status else None
            if reason and reason != self.last_reason and reason.startswith("pulling"):
                self.on_notice(reason)
            elif reason and reason != self.last_reason and status["stage"] == "staged" and status["worker"] is None:
                # no worker can give it what it asks: it stays staged (as in CodaLab)
                self.on_notice(f"run 0x{self.bid[:8]} stays staged: {reason}")
            self.last_reason = reason
        if self.on_progress and now - self.last_progress >= STATUS_EVERY_S:
            self.report(now)

    def report(self, now: float | None = None) -> None:
        """Tell on_progress where the run stands."""
        self.last_progress = now if now is not None else time.monotonic()
        where = progress_of(self.repo, self.bid)
        if where is not None:
            self.on_progress(where)


def _failed_start(repo: Repository) -> str | None:
    """Why the background worker could not start, when one started on
    this host since this process did died before registering (its row
    still says `starting`): the last line of the workers' log."""
    mine = rindex.pid_start(os.getpid()) or 0
    died = [w for w in rindex.workers(repo.db)
            if w["executor"] == "starting" and w["host"] == rindex.HOST and not w["alive"]
            and (w["pid_start"] or 0) >= mine]
    if not died:
        return None
    log = repo.path("runs", "worker.log")
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 4096))
            lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines()]
    except OSError as exc:
        lines = [f"(its log cannot be read: {exc.strerror})"]
    last = next((line for line in reversed(lines) if line), "(its log is empty)")
    return f"the background worker could not start: {last} (its log: {log})"


class WaitTimeout(CLError):
    """A run did not end within the time a caller was willing to wait."""


def wait(repo: Repository, bid: str, on_notice: Callable[[str], None] | None = None,
         timeout: float | None = None,
         on_progress: Callable[[RunProgress], None] | None = None) -> State:
    """Block until the run is ready, failed or killed; its final state.
    With `timeout` (seconds), WaitTimeout when it has not ended by then.
    `on_progress` hears a RunProgress at once and then every
    STATUS_EVERY_S seconds while the run has not ended."""
    poller = _Poller(repo, bid, on_notice, on_progress)
    if on_progress:
        poller.report()
    deadline = None if timeout is None else time.monotonic() + timeout
    while poller.state() not in FINAL_STATES:
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(f"run 0x{bid[:8]} has not ended after {timeout:g}s")
        poller.pause()
    return repo.head_state(bid)[1]


def _read_from(path: str, offset: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(1 << 20)
    except OSError:
        return b""


def tail(repo: Repository, bid: str, on_notice: Callable[[str], None] | None = None
         ) -> Iterator[tuple[str, bytes]]:
    """(stream name, bytes) chunks of stdout and stderr as the run writes
    them, to the end; the end is read from the run's saved result."""
    poller = _Poller(repo, bid, on_notice)
    offsets = dict.fromkeys(STREAMS, 0)
    path = run_dir(repo, bid)
    while True:
        final = poller.state() in FINAL_STATES
        if final:
            break
        wrote = False
        for name in STREAMS:
            data = _read_from(f"{path}/{name}", offsets[name])
            if data:
                offsets[name] += len(data)
                wrote = True
                yield name, data
        if wrote:
            poller.delay = 0.01
        else:
            poller.pause()
    contents = repo.contents(bid)
    if contents is None:
        return
    for name in STREAMS:
        try:
            entry = lookup(repo.store, contents, name)
        except NotInBundle:
            continue
        with repo.store.open(entry.id) as f:
            f.seek(offsets[name])
            while chunk := f.read(1 << 20):
                yield name, chunk
