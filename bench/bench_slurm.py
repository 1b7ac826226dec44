"""slurm: runs through cl's Slurm executor against sbatch --wrap, and the worker's own CPU per run

Needs a Slurm cluster that takes jobs (`sudo .ci/slurm-up` makes a one-node
one).  Every cl contender is the real `cl` in a scratch repository with
`run.executor = "slurm"`; runs are `sh -c true`.

* N trivial runs, waited to the end: N runs queued first (not timed, as
  writing N job scripts is not), then `cl worker --executor slurm --parallel
  N --exit-when-idle` until all are ready (submit, follow, ingest, final
  state), against N `sbatch --wrap 'sh -c true'` submitted directly and
  waited for with `squeue` until none is left.  Target ≤ 1.3×.
* the worker's own CPU time per run (user + system of the worker process
  from wait4, so not Slurm's, not the jobs') with N and 10·N runs queued:
  submitting and following them all must not grow faster than linearly, so
  the CPU per run at 10·N is held to ≤ 1.3× the CPU per run at N.
"""

import os
import shlex
import signal
import subprocess

from harness import Row, Target, Unavailable, measured, remove

N_FULL, N_QUICK = 50, 10
SBATCH = "sbatch --wrap"
CL_WORKER = "cl worker --executor slurm"


def run(ctx) -> list[Row]:
    n = N_QUICK if ctx.quick else N_FULL
    try:
        bench = Bench(ctx)
    except Unavailable as exc:
        return [Row("slurm", contender, unavailable=str(exc)) for contender in (SBATCH, CL_WORKER)]
    try:
        rows = []
        if ctx.wants("trivial"):
            rows += bench.trivial(n)
        if ctx.wants("cpu"):
            rows += bench.cpu_per_run(n)
        return rows
    finally:
        bench.close()


class Bench:
    def __init__(self, ctx):
        self.ctx = ctx
        self.cl = ctx.tool("cl", "run through `make bench`")
        self.sbatch = ctx.tool("sbatch", "apt-get install slurm-wlm; sudo .ci/slurm-up")
        self.squeue = ctx.tool("squeue", "apt-get install slurm-wlm")
        up = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
        if up.returncode != 0 or not {"idle", "mixed", "allocated"} & set(up.stdout.split()):
            raise Unavailable(f"no Slurm node is up (sinfo: {(up.stdout + up.stderr).strip()[:100]})")
        self.base = os.path.join(ctx.work, "slurm-scratch")
        remove(self.base)
        self.root = os.path.join(self.base, "repo")
        os.makedirs(self.root)
        ctx.sh([self.cl, "init"], cwd=self.root)
        for key, value in (("auto_worker", "false"), ("executor", "slurm")):
            ctx.sh([self.cl, "config", f"run.{key}", value], cwd=self.root)
        self.out = os.path.join(self.base, "sbatch-out")
        os.makedirs(self.out)

    def close(self) -> None:
        jobs = subprocess.run([self.squeue, "-h", "-o", "%i|%k"], capture_output=True, text=True).stdout
        mine = [line.split("|")[0] for line in jobs.splitlines()
                if line.endswith(f"cl {self.root}/.codalab") or line.endswith("|cl-bench")]
        if mine:
            subprocess.run(["scancel", *mine], capture_output=True)
        remove(self.base)

    def queue(self, n: int) -> None:
        for _ in range(n):
            self.ctx.sh([self.cl, "run", "sh -c true"], cwd=self.root)

    def worker(self, n: int) -> float:
        """Run the worker over the queue to the end; its own CPU seconds."""
        log = open(os.path.join(self.base, "worker.log"), "ab")
        proc = subprocess.Popen([self.cl, "worker", "--executor", "slurm", "--parallel", str(n),
                                 "--exit-when-idle"], cwd=self.root, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log)
        log.close()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.send_signal(signal.SIGKILL)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise Unavailable(f"cl worker exited {proc.returncode} (see {self.base}/worker.log)")
        return usage.ru_utime + usage.ru_stime

    # --- N trivial runs ------------------------------------------------------------

    def trivial(self, n: int) -> list[Row]:
        case = f"{n} trivial runs, submitted and waited to the end"
        self.ctx.log(case)
        direct = (f"ids=$(for i in $(seq {n}); do {shlex.quote(self.sbatch)} --parsable --comment=cl-bench"
                  f" --output=/dev/null --chdir={shlex.quote(self.out)} --wrap 'sh -c true'; done"
                  " | cut -d';' -f1 | paste -sd,); "
                  f"while {shlex.quote(self.squeue)} -h -j \"$ids\" -t PENDING,RUNNING,COMPLETING,CONFIGURING"
                  " | grep -q .; do sleep 0.1; done")
        sbatch = measured(case, f"{n}x {SBATCH}", lambda: self.ctx.time_command(
            direct, settle=False, label="sbatch"), reference=True)
        cl = measured(case, f"{CL_WORKER} --parallel {n}", lambda: self.ctx.time_command(
            [self.cl, "worker", "--executor", "slurm", "--parallel", str(n), "--exit-when-idle"],
            cwd=self.root, prepare=lambda _i: self.queue(n), settle=False, label="cl"),
            targets=(Target(1.3, f"{n}x {SBATCH}"),),
            note="from the worker's start to the last run ready; the runs were queued before")
        return [sbatch, cl]

    # --- the worker's CPU per run ----------------------------------------------------

    def cpu_per_run(self, n: int) -> list[Row]:
        case = "worker CPU per run (user+system), queued runs"
        rows = []
        for count in (n, 10 * n):
            self.ctx.log(f"{case}: {count}")

            def one(count=count) -> list[float]:
                times = []
                for _ in range(1 if count > n else self.ctx.repeat):
                    self.queue(count)
                    times.append(self.worker(count) / count)
                return times

            kw = {"reference": True} if count == n else {
                "targets": (Target(1.3, f"{n} queued runs"),),
                "note": "CPU seconds per run; more runs must not cost more per run"}
            rows.append(measured(case, f"{count} queued runs", one, **kw))
        return rows
