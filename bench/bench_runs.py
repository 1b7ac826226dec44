"""runs: cl run against docker run (one trivial run, a run over a big dependency, 50 queued runs)

Every cl contender is the real `cl` command in a scratch repository whose
image is cl-test/busybox:latest (built by `python -m tests.services
--build-images`).  Runs are latency measurements of a warm system: a worker
is already running (as the first `cl run` leaves one), the image is
present, the page cache is warm for both sides (no cache drop: it would
mostly time Python's imports and dockerd's own start-up paths).

* trivial run: `cl run -W 'sh -c true'` from the command to `ready`
  (create the bundle, wake the worker, container, ingest, final state,
  the waiting client sees it) against `docker run --rm IMG sh -c true`.
* big dependency: the same run with a dataset of L bytes mounted read-only
  at `big` against one without; the note shows `du` of the repository
  before and after the first such run (the checkout is hard links into the
  store: no bytes copied).
* 50 queued runs: 50 runs queued first (not timed), then
  `cl worker --parallel 2 --exit-when-idle` until all are ready, against
  50 `docker run --rm` two at a time (xargs -P 2).
"""

import json
import os
import signal
import subprocess
import time

from harness import Row, Target, Unavailable, measured, remove

IMAGE = "cl-test/busybox:latest"
DOCKER = "docker run"
CL_RUN = "cl run -W"
N_QUEUED = 50


def run(ctx) -> list[Row]:
    try:
        bench = Bench(ctx)
    except Unavailable as exc:
        return [Row("runs", contender, unavailable=str(exc)) for contender in (DOCKER, CL_RUN)]
    try:
        return bench.trivial() + bench.big_dependency() + bench.queued()
    finally:
        bench.close()


class Bench:
    def __init__(self, ctx):
        self.ctx = ctx
        self.cl = ctx.tool("cl", "run through `make bench`")
        self.docker = ctx.tool("docker", "apt-get install docker.io")
        if subprocess.run([self.docker, "image", "inspect", IMAGE], capture_output=True).returncode:
            raise Unavailable(f"no {IMAGE} image: run `python -m tests.services --build-images`")
        # a place of our own: other bench modules empty ctx.scratch_root when they finish
        self.base = os.path.join(ctx.work, "runs-scratch")
        remove(self.base)
        self.root = os.path.join(self.base, "repo")
        os.makedirs(self.root)
        ctx.sh([self.cl, "init"], cwd=self.root)
        for key, value in (("image", IMAGE), ("auto_worker", "false"), ("executor", "docker")):
            ctx.sh([self.cl, "config", f"run.{key}", value], cwd=self.root)
        self.worker = None

    def sh(self, *args, **kw):
        return self.ctx.sh([self.cl, *args], cwd=self.root, **kw)

    def start_worker(self, *args: str) -> None:
        log = open(os.path.join(self.root, "worker.log"), "ab")
        self.worker = subprocess.Popen([self.cl, "worker", *args], cwd=self.root, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while b"executor" not in open(os.path.join(self.root, "worker.log"), "rb").read():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise Unavailable("`cl worker` did not start (see bench/.work/scratch/runs/worker.log)")
            time.sleep(0.05)

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            self.worker.wait(timeout=60)
        self.worker = None

    def close(self) -> None:
        self.stop_worker()
        for root in (self.root, os.path.join(self.base, "first")):
            listed = subprocess.run([self.cl, "workers", "--json"], cwd=root, capture_output=True)
            for w in json.loads(listed.stdout or b"[]") if listed.returncode == 0 else []:
                try:
                    os.kill(w["pid"], signal.SIGTERM)
                except ProcessLookupError:
                    pass
            subprocess.run(f"{self.docker} ps -aq --filter label=cl.repo={root}/.codalab"
                           f" | xargs -r {self.docker} rm -f", shell=True, capture_output=True)
        remove(self.base)

    # --- one trivial run ------------------------------------------------------------

    def trivial(self) -> list[Row]:
        case = "trivial run: sh -c true, command to ready"
        self.ctx.log(case)
        rows = [measured(case, DOCKER, lambda: self.ctx.time_command(
            [self.docker, "run", "--rm", "--network", "none", IMAGE, "sh", "-c", "true"], settle=False,
            warm_commands=[[self.docker, "run", "--rm", IMAGE, "true"]], label=DOCKER), reference=True)]
        try:
            first = self._first_run()
        except Unavailable as exc:
            first = None
            rows.append(Row(case, "cl run -W (first: starts a worker)", unavailable=str(exc)))
        self.start_worker("--parallel", "2")
        rows.append(measured(case, CL_RUN, lambda: self.ctx.time_command(
            [self.cl, "run", "-W", "sh -c true"], cwd=self.root, settle=False,
            warm_commands=[[self.cl, "run", "--help"]], label=CL_RUN),
            targets=(Target(1.5, DOCKER),)))
        if first is not None:
            rows.append(Row(case, "cl run -W (first: starts a worker)", [first],
                            note="once, not a median: includes the worker's start"))
        return rows

    def _first_run(self) -> float:
        """A fresh repository's first `cl run -W`, which starts the worker."""
        root = os.path.join(self.base, "first")
        os.makedirs(root)
        self.ctx.sh([self.cl, "init"], cwd=root)
        self.ctx.sh([self.cl, "config", "run.image", IMAGE], cwd=root)
        self.ctx.sh([self.cl, "config", "run.worker_idle", "5s"], cwd=root)
        t0 = time.perf_counter()
        self.ctx.sh([self.cl, "run", "-W", "sh -c true"], cwd=root)
        return time.perf_counter() - t0

    # --- a big dependency -------------------------------------------------------------

    def big_dependency(self) -> list[Row]:
        src = self.ctx.dataset("L")
        size = os.path.getsize(src)
        case = f"run over a {size >> 20} MiB dependency"
        self.ctx.log(case)
        out = self.sh("upload", src, "-n", "big", stdout=subprocess.PIPE).stdout.decode().split()
        big = out[-1]
        before = self._du()
        self.sh("run", "-W", "d:big", "sh -c true")
        after = self._du()
        linked = self._checkout_is_linked(big)
        note = (f"du of the repository: {before} KiB before, {after} KiB after the first run over it"
                f" ({after - before:+d} KiB); checkout hard-linked to the store: {linked}")
        self.ctx.log(note)
        rows = [
            measured(case, "cl run -W, no dependency", lambda: self.ctx.time_command(
                [self.cl, "run", "-W", "sh -c true"], cwd=self.root, settle=False, label="no dep"),
                reference=True),
            measured(case, f"cl run -W, {size >> 20} MiB dependency", lambda: self.ctx.time_command(
                [self.cl, "run", "-W", "d:big", "sh -c true"], cwd=self.root, settle=False,
                label="big dep"), targets=(Target(1.5, "cl run -W, no dependency"),), note=note),
        ]
        return rows

    def _du(self) -> int:
        """KiB the repository takes on disk; a hard-linked file counts once."""
        out = subprocess.run(["du", "-sk", os.path.join(self.root, ".codalab")], capture_output=True,
                             text=True).stdout
        return int(out.split()[0])

    def _checkout_is_linked(self, bundle_id: str) -> str:
        """Whether the big file's checkout is the store's object file (same inode)."""
        checkouts = os.path.join(self.root, ".codalab", "checkouts")
        objects = os.path.join(self.root, ".codalab", "objects")
        for name in os.listdir(checkouts):
            path = os.path.join(checkouts, name)
            if os.path.isfile(path) and os.path.getsize(path) >= 1 << 20:
                obj = os.path.join(objects, name[:2], name[2:])
                same = os.path.exists(obj) and os.stat(obj).st_ino == os.stat(path).st_ino
                return "yes, 0 bytes copied" if same else "NO (a copy)"
        return "no checkout found"

    # --- 50 queued runs -----------------------------------------------------------------

    def queued(self) -> list[Row]:
        n = N_QUEUED
        case = f"{n} queued trivial runs, 2 at a time"
        self.ctx.log(case)
        self.stop_worker()
        docker = measured(case, f"{n}x docker run, xargs -P 2", lambda: self.ctx.time_command(
            f"seq {n} | xargs -P 2 -I{{}} {self.docker} run --rm --network none {IMAGE} sh -c true",
            settle=False, label="docker x50"), reference=True)

        def queue(_i):
            for _ in range(n):
                self.sh("run", "sh -c true", stdout=subprocess.DEVNULL)

        cl = measured(case, "cl worker --parallel 2", lambda: self.ctx.time_command(
            [self.cl, "worker", "--parallel", "2", "--exit-when-idle"], cwd=self.root, prepare=queue,
            settle=False, label="cl x50"), targets=(Target(1.3, f"{n}x docker run, xargs -P 2"),),
            note="from the worker's start (Docker SDK import included) to the last run ready")
        return [docker, cl]

