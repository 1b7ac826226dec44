"""Executing one claimed run, in its own thread with its own connection to
the repository: prepare (dependencies, image, run directory), start, watch
(kill requests, time and disk limits, resource samples), finish (ingest the
run directory, write the Result and the final State, release the claim).

Durable transitions are State objects: `running` when the process has
started, then `ready`, `failed` or `killed` with the result.  The stages in
between (staged, preparing, finalizing) live only in the claim row.  The
final state and the claim's release are one transaction, and the final
state is written only while this worker still holds the claim."""

import dataclasses
import json
import os
import threading
import time
import traceback
from typing import Callable

from cl.bundles.units import format_size
from cl.errors import CLError
from cl.index import runs as rindex
from cl.objects.types import FINAL_STATES, Bundle, Result
from cl.objects.value import replace
from cl.repo import Repository, now_ns
from cl.runs.executor import Executor, Exit, Gone, Process, RunPlan, Usage
from cl.runs.layout import (Mount, RunError, disk_usage, ingest_run_dir, plan_mounts,
                            prepare_run_dir, remove_run_dir, run_dir)
from cl.runs.queue import KILL_REQUESTED

TIME_EXCEEDED = "Time limit exceeded"
DISK_EXCEEDED = "Disk limit exceeded"
WORKER_DIED = "The worker running it died"


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """What a job needs to know about the worker running it."""

    id: str
    root: str
    uid: int
    gid: int
    cpuset: str | None = None
    gpuset: str | None = None


class LostClaim(Exception):
    """Another worker holds the run now; this one must not finish it."""


def dependency_failure(repo: Repository, bundle: Bundle) -> str | None:
    """Why the run must fail before it starts, from its dependencies."""
    allow = bundle.options.get("allow_failed_dependencies")
    for dep in bundle.dependencies:
        row = repo.index.bundle(dep.bundle, include_deleted=True)
        label = f"{row.name} (0x{dep.bundle[:8]})" if row and row.name else f"0x{dep.bundle[:8]}"
        if row is None:
            return f"Dependency {label} is not in this repository"
        if row.deleted:
            return f"Dependency {label} was removed"
        if row.state in ("failed", "killed") and not allow:
            return f"Dependency {label} {row.state}"
    return None


class Job:
    """One run being executed.  `adopt` is a process found after a worker
    died (with the claim it had); the job then only watches and finishes."""

    def __init__(self, worker: WorkerInfo, executor: Executor, bid: str, log: Callable[[str], None],
                 adopt: Process | None = None, claim: dict | None = None, cpus: str | None = None):
        self.worker = worker
        self.executor = executor
        self.bid = bid
        self.log = log
        self.adopt = adopt
        self.claim = claim or {}
        self.cpus = cpus                     # the cpuset given to this run, if any
        self.kill_reason: str | None = None
        self.state: str | None = None         # the final state, once written
        self.bundle: Bundle | None = None
        self.mounts: tuple[Mount, ...] = ()
        self.image: dict = {}
        self._wake = threading.Event()
        self._finished = threading.Event()
        self.on_done: Callable[[], None] | None = None
        self.thread = threading.Thread(target=self._main, name=f"run-{bid[:8]}", daemon=True)

    def start(self) -> "Job":
        self.thread.start()
        return self

    def request_kill(self, reason: str = KILL_REQUESTED) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason
        self._wake.set()

    @property
    def done(self) -> bool:
        """The run's slot is free: its final state is written (its container
        may still be being removed) or the thread has ended."""
        return self._finished.is_set() or not self.thread.is_alive()

    def _free(self) -> None:
        self._finished.set()
        if self.on_done is not None:
            self.on_done()

    # --- the thread ---------------------------------------------------------------

    def _main(self) -> None:
        repo = Repository(self.worker.root)
        try:
            self._run(repo)
        except LostClaim:
            self.log(f"0x{self.bid[:8]}: another worker holds it now; leaving it")
        except Exception as exc:  # a bug: never leave the run hanging
            self.log(f"0x{self.bid[:8]}: internal error\n{traceback.format_exc()}")
            try:
                self._finish(repo, "failed", f"Internal error in the worker: {exc}")
            except Exception:
                self.log(f"0x{self.bid[:8]}: could not record the failure\n{traceback.format_exc()}")
        finally:
            warning = repo.maintain()  # runs leave their few outputs loose: pack them now and then
            if warning:
                self.log(f"0x{self.bid[:8]}: {warning}")
            repo.close()
            self._free()

    def _stage(self, repo: Repository, stage: str, reason: str = "", **fields) -> None:
        if not rindex.update_claim(repo.db, self.bid, self.worker.id, stage=stage, reason=reason, **fields):
            raise LostClaim()

    def _run(self, repo: Repository) -> None:
        bundle = self.bundle = repo.bundle(self.bid)
        if self.adopt is not None:
            process = self.adopt
            try:
                with repo.store.writing():  # checkouts are not made while gc deletes
                    self.mounts = plan_mounts(repo, bundle)
            except CLError:
                self.mounts = ()
            self.image = json.loads(self.claim.get("image") or "{}")
            started = self.claim.get("started") or now_ns()
            if process.waiting() is not None:
                started = self._await_start(repo, process)
            self._mark_running(repo, process, started)
            if not isinstance(process, Gone):
                self.log(f"0x{self.bid[:8]}: recovered {process.ident}")
        else:
            self._stage(repo, "preparing", "preparing the dependencies and the image")
            failure = dependency_failure(repo, bundle)
            if failure:
                return self._finish(repo, "failed", failure)
            try:
                with repo.store.writing():  # checkouts are not made while gc deletes
                    self.mounts = self.executor.stage(repo, plan_mounts(repo, bundle))
                self.image = self.executor.image(bundle.request.get("image"),
                                                 lambda text: self._stage(repo, "preparing", text))
            except RunError as exc:
                return self._finish(repo, "failed", exc.message)
            if self.kill_reason:
                return self._finish(repo, "killed", self.kill_reason)
            path = self.executor.run_dir(repo, self.bid)
            owner = getattr(self.executor, "owner", lambda: None)()
            prepare_run_dir(path, self.mounts, owner)
            plan = self._plan(repo, bundle, path)
            try:
                process = self.executor.start(plan)
            except RunError as exc:
                return self._finish(repo, "failed", exc.message, ran=True)
            try:
                started = self._await_start(repo, process)
                if self.kill_reason is not None and process.waiting() is not None:
                    process.kill()  # killed while still queued: it never ran
                    process.wait()
                    return self._finish(repo, "killed", self.kill_reason, process=process, ran=True)
                self._mark_running(repo, process, started)
            except BaseException:  # never leave a process going that no claim names
                process.kill()
                process.remove()
                raise
            self.log(f"0x{self.bid[:8]}: running ({self.executor.name} {process.ident})")
        exit_ = self._watch(repo, process, started, bundle.request)
        finished = now_ns()
        state, failure = self._outcome(exit_, bundle.request)
        self._finish(repo, state, failure, exit_code=exit_.code, started=started, finished=finished,
                     usage=process.usage, process=process, ran=True)

    def _plan(self, repo: Repository, bundle: Bundle, path: str) -> RunPlan:
        request = bundle.request
        return RunPlan(bundle=self.bid, repo_root=repo.root, worker=self.worker.id,
                       command=bundle.command or "", run_dir=path, mounts=self.mounts,
                       image=self.image, memory=request.get("memory"), cpus=request.get("cpus"),
                       gpus=request.get("gpus"), network=bool(request.get("network")),
                       cpuset=self.cpus, gpuset=self.worker.gpuset,
                       uid=self.worker.uid, gid=self.worker.gid,
                       time=request.get("time"), queue=request.get("queue"))

    def _await_start(self, repo: Repository, process: Process) -> int:
        """While the executor keeps the run waiting (a pending batch job),
        the claim says `staged` and why, and names the process so that a
        worker that dies meanwhile is recovered; returns when it started."""
        shown = None
        delay = 0.05
        process.on_change = self._wake
        while (reason := process.waiting()) is not None:
            if reason != shown:
                self._stage(repo, "staged", reason, process=process.ident,
                            handle=json.dumps(process.handle(), sort_keys=True),
                            image=json.dumps(self.image, sort_keys=True))
                shown = reason
            if self.kill_reason is not None:
                break  # the caller kills it
            # a process that says when it changes is not polled: hundreds of
            # queued batch jobs then cost no wake-ups while they wait
            self._wake.wait(30.0 if process.notifies else delay)
            self._wake.clear()
            delay = min(1.0, delay * 1.5)
        return now_ns()

    def _mark_running(self, repo: Repository, process: Process, started: int) -> None:
        """The claim's stage and the durable `running` state, in one transaction."""
        with repo.store.writing(), repo.db.transaction():  # the span first (docs/design.md)
            self._stage(repo, "running", "", process=process.ident,
                        handle=json.dumps(process.handle(), sort_keys=True), started=started,
                        image=json.dumps(self.image, sort_keys=True))
            row = repo.index.bundle(self.bid, include_deleted=True)
            if row is not None and row.state == "created":
                repo.update_state(self.bid, lambda s: replace(s, state="running"))

    # --- watching -----------------------------------------------------------------

    def _watch(self, repo: Repository, process: Process, started: int, request: dict) -> Exit:
        box: dict = {}

        def waiter():
            try:
                box["exit"] = process.wait()
            except Exception as exc:
                box["exit"] = Exit(None, message=f"Lost track of the process: {exc}")
            self._wake.set()

        threading.Thread(target=waiter, name=f"wait-{self.bid[:8]}", daemon=True).start()
        time_limit = request.get("time")
        disk_limit = request.get("disk")
        path = self.executor.run_dir(repo, self.bid)
        tick, next_disk, killed_at = 0.05, 0.0, 0.0
        while True:
            self._wake.wait(tick)
            self._wake.clear()
            if "exit" in box:
                break
            process.sample()
            now = time.monotonic()
            if self.kill_reason is None:
                if time_limit and now_ns() - started > time_limit * 10**9:
                    self.kill_reason = TIME_EXCEEDED
                elif disk_limit and now >= next_disk:
                    t0 = time.monotonic()
                    if disk_usage(path) > disk_limit:
                        self.kill_reason = DISK_EXCEEDED
                    next_disk = now + max(0.5, 20 * (time.monotonic() - t0))
            if self.kill_reason is not None and now - killed_at > 1.0:
                process.kill()
                killed_at = now
            tick = min(0.5, tick * 1.5)
        process.sample()
        return box["exit"]

    def _outcome(self, exit_: Exit, request: dict) -> tuple[str, str | None]:
        if self.kill_reason is not None:
            return "killed", self.kill_reason
        if exit_.code == 0:
            return "ready", None
        if exit_.killed:
            return "killed", exit_.killed
        if exit_.oom:
            memory = request.get("memory")
            return "killed", (f"Memory limit {format_size(memory)} exceeded" if memory
                              else "Out of memory")
        if exit_.code is None:
            return "failed", exit_.message or "The run ended without an exit code"
        return "failed", f"Exit code {exit_.code}"

    # --- finishing ----------------------------------------------------------------

    def _finish(self, repo: Repository, state: str, failure: str | None, *, exit_code=None,
                started=None, finished=None, usage: Usage | None = None,
                process: Process | None = None, ran: bool = False) -> None:
        self._stage(repo, "finalizing", "saving the outputs" if ran else "")
        path = self.executor.run_dir(repo, self.bid)
        with repo.store.writing():  # from the first output stored to the final state
            self._save(repo, path, state, failure, exit_code, started, finished, usage, ran)
        self._free()
        if process is not None:
            process.remove()
        remove_run_dir(path)
        if path != run_dir(repo, self.bid):
            remove_run_dir(run_dir(repo, self.bid))  # the link readers follow

    def _save(self, repo: Repository, path: str, state: str, failure: str | None, exit_code,
              started, finished, usage: Usage | None, ran: bool) -> None:
        contents = None
        if ran and os.path.isdir(path):
            try:
                exclude = self.bundle.options.get("exclude_patterns", ()) if self.bundle else ()
                contents = ingest_run_dir(repo, path, self.mounts, exclude)
            except (CLError, OSError) as exc:
                failure = (f"{failure}; " if failure else "") + f"the outputs could not be saved: {exc}"
                state = "failed" if state == "ready" else state
        usage = usage or Usage()
        t = now_ns()
        result = Result(bundle=self.bid, contents=contents, exit_code=exit_code,
                        started=started or t, finished=finished or t, cpu_user=usage.cpu_user,
                        cpu_system=usage.cpu_system, peak_memory=usage.peak_memory,
                        image=dict(self.image), executor=self.executor.name, host=rindex.HOST,
                        failure=failure)
        rid = repo.write(result)
        with repo.db.transaction():
            claim = rindex.get_claim(repo.db, self.bid)
            if claim is None or claim["worker"] != self.worker.id:
                raise LostClaim()
            row = repo.index.bundle(self.bid, include_deleted=True)
            if row is not None and row.state not in FINAL_STATES:
                repo.update_state(self.bid, lambda s: replace(s, state=state, result=rid))
            rindex.release(repo.db, self.bid, self.worker.id)
        self.state = state
        took = f" in {(result.finished - result.started) / 1e9:.1f}s" if ran else ""
        self.log(f"0x{self.bid[:8]}: {state}{took}" + (f" ({failure})" if failure else ""))
