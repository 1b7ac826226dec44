"""The worker: registers itself, recovers what dead workers left, then
takes queued runs (up to `parallel` at a time) and executes each in a job
thread, until stopped, idle (`--exit-when-idle`, `--idle-timeout`) or its
repository is gone.

One loop, woken by a datagram on the worker's abstract unix socket (sent
by `cl run` and `cl kill`) or by a short timeout:
  heartbeat · recover dead workers' runs · pass kill requests to jobs ·
  reap finished jobs · claim and start runs · decide whether to exit.
Heavy imports (the Docker SDK) happen once, when the worker starts; the
docker client stays open for every run."""

import json
import os
import secrets
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from cl.errors import CLError
from cl.index import runs as rindex
from cl.objects.types import FINAL_STATES
from cl.repo import Repository
from cl.runs import queue
from cl.runs.executor import Executor, Gone, make_executor
from cl.runs.job import WORKER_DIED, Job, WorkerInfo
from cl.runs.layout import remove_run_dir, run_dir

HEARTBEAT_S = 5.0
RECOVER_S = 5.0
RESCAN_S = 5.0


@dataclass(frozen=True)
class WorkerOptions:
    parallel: int = 1
    exit_when_idle: bool = False
    idle_timeout: float | None = None     # seconds without work before exiting
    executor: str = "auto"                # auto, or a name in cl.runs.registry.EXECUTORS
    tags: tuple[str, ...] = ()
    cpuset: tuple[int, ...] | None = None
    gpuset: tuple[str, ...] | None = None
    worker_id: str | None = None


def parse_cpuset(text: str | None) -> tuple[int, ...] | None:
    """`0-3,6` -> (0, 1, 2, 3, 6); `ALL` or None -> None (no pinning)."""
    if not text or text.upper() == "ALL":
        return None
    cpus: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            cpus += list(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            from cl.errors import InputError
            raise InputError(f"invalid cpu set: '{text}' (e.g. 0-3,6)") from None
    return tuple(dict.fromkeys(cpus))


def capacity_shortfall(candidate, capacity) -> bool:
    """True when a worker of `capacity` cannot give the run what it asks
    (a run whose dependency failed is taken anyway: taking it fails it)."""
    from cl.runs.capacity import shortfalls
    return capacity is not None and not candidate.doomed and bool(shortfalls(candidate.request, capacity))


class Worker:
    def __init__(self, repo: Repository, options: WorkerOptions, log: Callable[[str], None]):
        self.repo = repo
        self.options = options
        self.log = log
        self.id = options.worker_id or secrets.token_hex(8)
        self.jobs: dict[str, Job] = {}
        self.executor: Executor | None = None
        self._others: dict[str, Executor | None] = {}  # executors of dead workers' claims
        self._stop = threading.Event()
        self._stops = 0
        self._bundles: dict = {}
        self._free_cpus = list(options.cpuset) if options.cpuset else None
        self._job_cpus: dict[str, list[int]] = {}
        self._sock: socket.socket | None = None
        self._draining: list[Job] = []  # finished runs still removing their containers
        self.capacity = None  # the most one run can get here (cl.runs.capacity); None: the executor decides
        self._unmet: dict[str, str] = {}  # queued runs no live worker can meet, as last recorded

    # --- lifecycle -------------------------------------------------------------

    def stop(self) -> None:
        """First call: take no new runs, finish the running ones.  Second:
        leave at once (the runs are recovered by the next worker)."""
        self._stops += 1
        self._stop.set()
        if self._stops > 1:
            self.log("stopping now; the running runs will be recovered by the next worker")
            raise SystemExit(130)
        if self.jobs:
            self.log(f"finishing {len(self.jobs)} run(s); interrupt again to stop now")
        self._wake_loop()

    def _wake_loop(self) -> None:
        """Wake the loop now rather than at its next timeout."""
        if self._sock is not None:
            try:
                self._sock.sendto(b"!", self._sock.getsockname())
            except OSError:
                pass

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def _bind(self) -> str:
        try:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.bind("\0" + queue.wake_address(self.id))
            return queue.wake_address(self.id)
        except OSError:
            self._sock = None
            return ""

    def _sleep(self, seconds: float) -> None:
        if self._sock is None:
            self._stop.wait(seconds)
            return
        self._sock.settimeout(seconds)
        try:
            self._sock.recv(64)
            self._sock.setblocking(False)
            while True:  # drain: one wake-up is enough
                self._sock.recv(64)
        except (BlockingIOError, socket.timeout, OSError):
            pass

    def setup(self) -> Executor:
        """Choose the executor and register; returns the executor (its
        `note` says why local was chosen, if it was)."""
        self.executor = make_executor(self.options.executor, self.repo.config)
        own = self.executor.capacity()
        self.capacity = None if own is None else own.narrowed(self.options.cpuset, self.options.gpuset)
        address = self._bind()
        rindex.register_worker(self.repo.db, self.id, pid=os.getpid(), executor=self.executor.name,
                               parallel=self.options.parallel, tags=self.options.tags,
                               note=self.executor.note, address=address,
                               capacity=None if self.capacity is None else self.capacity.to_json())
        return self.executor

    def run(self, install_signals: bool = True) -> None:
        if self.executor is None:
            self.setup()
        if install_signals:
            self._install_signals()
        try:
            self._loop()
        except SystemExit:
            rindex.remove_worker(self.repo.db, self.id)
            raise
        for job in list(self.jobs.values()) + self._draining:
            job.thread.join()
        rindex.remove_worker(self.repo.db, self.id)
        self.executor.close()
        for other in self._others.values():
            if other is not None:
                other.close()
        if self._sock is not None:
            self._sock.close()

    # --- the loop --------------------------------------------------------------

    def _loop(self) -> None:
        last_beat = last_recover = last_scan = 0.0
        last_work = time.monotonic()
        seen_version = None
        self._recover()
        while True:
            now = time.monotonic()
            if now - last_beat > HEARTBEAT_S:
                rindex.heartbeat(self.repo.db, self.id)
                last_beat = now
            if now - last_recover > RECOVER_S:
                self._recover()
                last_recover = now
            for bid in rindex.kill_requests(self.repo.db, self.id):
                if bid in self.jobs:
                    self.jobs[bid].request_kill()
            self._reap()
            found = False
            if not self._stop.is_set() and len(self.jobs) < self.options.parallel:
                version = self.repo.db.execute("PRAGMA data_version").fetchone()[0]
                if version != seen_version or now - last_scan > RESCAN_S or self._dirty:
                    seen_version, last_scan, self._dirty = version, now, False
                    found = self._take_runs()
            if self.jobs or found:
                last_work = time.monotonic()
            elif self._stop.is_set():
                return
            elif self.options.exit_when_idle and not found:
                return
            elif self.options.idle_timeout and time.monotonic() - last_work > self.options.idle_timeout:
                self.log(f"idle for {self.options.idle_timeout:g}s; exiting")
                return
            if not os.path.isdir(self.repo.root):
                self.log("the repository is gone; exiting")
                return
            self._sleep(0.25 if self.jobs else 1.0)

    _dirty = True

    def _reap(self) -> None:
        for bid, job in list(self.jobs.items()):
            if job.done:
                del self.jobs[bid]
                self._draining = [j for j in self._draining if j.thread.is_alive()] + [job]
                if self._free_cpus is not None:
                    self._free_cpus += self._job_cpus.pop(bid, [])
                self._dirty = True

    def _start(self, job: Job) -> Job:
        job.on_done = self._wake_loop  # a free slot is taken at once
        return job.start()

    def _info(self) -> WorkerInfo:
        gpuset = ",".join(self.options.gpuset) if self.options.gpuset else None
        return WorkerInfo(id=self.id, root=self.repo.root, uid=os.getuid(), gid=os.getgid(),
                          gpuset=gpuset)

    def _take_runs(self) -> bool:
        took = False
        tags = self.options.tags
        if self.executor.routes_queues and not tags:
            tags = None  # every queue: the executor takes it as its own (a Slurm partition)
        fits = []
        unmet: dict[str, str] = {}
        for cand in queue.candidates(self.repo, tags, self._bundles):
            if capacity_shortfall(cand, self.capacity):
                # never taken here; when no live worker can take it either,
                # it stays staged with a message saying why (as in CodaLab)
                why = queue.unmet(self.repo, cand, self.capacity)
                if why:
                    unmet[cand.bundle] = why
                continue
            fits.append(cand)
        if unmet != self._unmet:
            rindex.set_unmet(self.repo.db, self.id, unmet)
            for bid in unmet.keys() - self._unmet.keys():
                self.log(f"0x{bid[:8]}: staged: {unmet[bid]}")
            self._unmet = unmet
        for cand in fits:
            if len(self.jobs) >= self.options.parallel:
                break
            cpus = None
            if self._free_cpus is not None:
                if cand.cpus > len(self._free_cpus):
                    continue
                cpus = self._free_cpus[:cand.cpus]
            if not rindex.claim(self.repo.db, cand.bundle, self.id, self.executor.name):
                continue
            self._bundles.pop(cand.bundle, None)
            if cpus is not None:
                del self._free_cpus[:len(cpus)]
                self._job_cpus[cand.bundle] = cpus
            cpuset = ",".join(map(str, cpus)) if cpus else None
            self.jobs[cand.bundle] = self._start(Job(self._info(), self.executor, cand.bundle,
                                                     self.log, cpus=cpuset))
            took = True
        return took

    # --- recovery --------------------------------------------------------------

    def _recover(self) -> None:
        """Finish or fail what dead workers left: their claims, containers
        of this repository nobody holds, and stale run directories."""
        try:
            for claim in rindex.orphaned_claims(self.repo.db):
                if rindex.take_over(self.repo.db, claim["bundle"], claim["worker"], self.id):
                    self._adopt(claim)
            self._adopt_leftovers()
            self._sweep()
        except Exception:
            self.log(f"recovery failed\n{traceback.format_exc()}")

    def _adopt(self, claim: dict) -> None:
        bid = claim["bundle"]
        row = self.repo.index.bundle(bid, include_deleted=True)
        if row is None or row.state in FINAL_STATES:
            rindex.release(self.repo.db, bid, self.id)
            return
        process = None
        executor = self._executor_of(claim["executor"])
        if executor is not None:
            process = executor.recover(bid, json.loads(claim["handle"] or "{}"), self.repo.root)
        if process is not None and not executor.reattach:
            process.kill()  # its end cannot be known: stop it, keep its output
        if process is None and row.state == "created" and claim["stage"] in ("staged", "preparing"):
            self.log(f"0x{bid[:8]}: its worker died before starting it; back to the queue")
            rindex.release(self.repo.db, bid, self.id)
            self._dirty = True
            return
        self.log(f"0x{bid[:8]}: its worker died; " + ("recovering" if process else "failing it"))
        self.jobs[bid] = self._start(Job(self._info(), executor or self.executor, bid, self.log,
                                         adopt=process or Gone(WORKER_DIED), claim=claim))

    def _executor_of(self, name: str) -> Executor | None:
        """The executor that started a dead worker's run: this worker's, or
        one made for it (None when it cannot be made here)."""
        if name == self.executor.name:
            return self.executor
        if name not in self._others:
            try:
                self._others[name] = make_executor(name, self.repo.config)
            except CLError as exc:  # no engine here, an executor this version lacks
                self.log(f"cannot recover runs of the {name} executor here: {exc.message}")
                self._others[name] = None
        return self._others[name]

    def _adopt_leftovers(self) -> None:
        for bid, process in self.executor.leftovers(self.repo.root).items():
            if bid in self.jobs:
                continue
            claim = rindex.get_claim(self.repo.db, bid)
            if claim is not None:
                continue  # a live worker holds it, or the orphan pass handles it
            row = self.repo.index.bundle(bid, include_deleted=True)
            if row is None or row.state in FINAL_STATES:
                process.remove()
                continue
            if rindex.claim(self.repo.db, bid, self.id, self.executor.name,
                            states=("created", "running")):
                self.log(f"0x{bid[:8]}: found its container with no worker; recovering")
                claim = rindex.get_claim(self.repo.db, bid)
                self.jobs[bid] = self._start(Job(self._info(), self.executor, bid, self.log,
                                                 adopt=process, claim=claim))

    def _sweep(self) -> None:
        """Remove run directories of runs that finished, and registrations
        of dead workers that hold nothing."""
        runs = self.repo.path("runs")
        held = {c["bundle"] for c in rindex.claims(self.repo.db)}
        try:
            names = os.listdir(runs)
        except OSError:
            return
        for name in names:
            if len(name) != 64 or name in held or name in self.jobs:
                continue
            row = self.repo.index.bundle(name, include_deleted=True)
            if row is None or row.state in FINAL_STATES:
                remove_run_dir(run_dir(self.repo, name))
        holders = {c["worker"] for c in rindex.claims(self.repo.db)}
        for w in rindex.workers(self.repo.db):
            if not w["alive"] and w["id"] not in holders and w["id"] != self.id:
                rindex.remove_worker(self.repo.db, w["id"])

