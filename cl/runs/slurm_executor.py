"""The Slurm executor: each run is a Slurm batch job, submitted with
`sbatch` by a worker on a login node (or any machine that can submit).

The run's directory must be one the compute node sees.  Without
`slurm.shared_dir` that is the repository's own `.codalab/runs/<id>` (a
repository on a shared file system, and dependencies from its shared
checkouts); with it, the directory is `<shared_dir>/cl-<repo key>/runs/<id>`,
`.codalab/runs/<id>` is a symbolic link to it (so `cl cat` reads it live),
and each dependency's checkout is staged under `.../checkouts/` (hard links
when the shared directory is on the repository's file system, copies
otherwise).  Slurm writes the job's stdout and stderr straight into the run
directory.

Requests map to sbatch options: cpus -> --cpus-per-task, memory -> --mem,
gpus -> --gres=gpu:N, time -> --time (whole minutes; the worker enforces the
exact limit itself), queue -> --partition.  `slurm.*` settings add an
account, a default partition, extra sbatch options and the job's container:

* `none` (the default): the command runs on the node in a mount namespace
  of its own (util-linux `unshare`; a user namespace too when not root)
  with each dependency bind-mounted read-only at its key, the checkouts and
  the repository read-only, no network unless asked, and no capabilities
  (`setpriv`).  Where the node has no namespaces, dependencies are symbolic
  links to their read-only checkouts (copies for root, whom file modes do
  not stop).
* `docker`: `docker run` on the node, as the Docker executor does it.
* `podman`: `podman run` on the node, held the same way, with the job's
  own open-file and process limits (docs/slurm.md says why and what a
  node needs).

One monitor thread per executor asks `squeue` about every job it watches at
once; a job that has left the queue is looked up with `scontrol show job`,
then `sacct` (and `sacct --completion` for clusters that keep only job
completion records).  Pending jobs show as `staged` with Slurm's reason;
COMPLETED and FAILED give the exit code, TIMEOUT, OUT_OF_MEMORY, CANCELLED,
PREEMPTED, NODE_FAIL and the rest their own messages.  A run's handle is its
job id, so a worker that died is followed by one that finds the job again."""

from __future__ import annotations

import hashlib
import math
import os
import re
import shlex
import shutil
import subprocess
import threading

from cl.runs.executor import Executor, Exit, Process, RunPlan, Usage
from cl.runs.layout import Mount, RunError
from cl.runs.paths import run_dir as repo_run_dir

WORKDIR = "/cl-run"
POLL_S = 0.5
POLL_JOBS = 100  # beyond this many watched jobs, squeue is asked proportionally less often
CONTAINERS = ("none", "docker", "podman")
# podman sets its own process limit to this when it starts (as root), so a
# container asking for more fails where root lacks CAP_SYS_RESOURCE
PODMAN_NPROC = 32768
# Slurm job states (squeue's long names) in which the job has not started.
PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
           "SUSPENDED", "STAGE_OUT", "SPECIAL_EXIT", "RESIZING", "SIGNALING"}
ACTIVE = PENDING | {"RUNNING", "COMPLETING", "STOPPED"}
ENDED_BY_SLURM = {  # state -> (killed?, message)
    "TIMEOUT": (True, "Time limit exceeded"),
    "DEADLINE": (True, "Slurm: the job's deadline passed"),
    "PREEMPTED": (True, "Slurm: preempted"),
    "CANCELLED": (True, "Slurm: the job was cancelled (scancel)"),
    "NODE_FAIL": (False, "Slurm: the node failed"),
    "BOOT_FAIL": (False, "Slurm: the node failed to boot"),
    "REVOKED": (False, "Slurm: the job was revoked"),
}

# The sandbox inside the job: $1 the run directory, $2 the command, $3 how
# many directories to make read-only, those directories, then key/source pairs.
SANDBOX = """set -e
run=$1; cmd=$2; n=$3; shift 3
protect=""
while [ "$n" -gt 0 ]; do
  if [ -d "$1" ]; then mount --bind "$1" "$1"; protect="$protect $1"; fi
  shift; n=$((n - 1))
done
mount --bind "$run" "$run"
for p in $protect; do mount -o remount,bind,ro "$p"; done
while [ $# -gt 0 ]; do
  mount --bind "$1" "$run/$2"
  mount -o remount,bind,ro "$run/$2"
  shift 2
done
cd "$run"
exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- /bin/sh -c "$cmd"
"""

# After the command: its CPU times (the shell's `times`, not in a `$(…)`
# subshell, whose children are not the command; the second line counts every
# descendant waited for) and the job step's peak memory (its cgroup, v1 or v2), for the
# worker to read when the job has ended.  A killed job leaves none.
USAGE = """code=$?
times > {file}
cg=$(sed -n 's/^[0-9]*:memory:\\(.*\\)$/\\1/p' /proc/self/cgroup)
peak=$(cat "/sys/fs/cgroup/memory$cg/memory.max_usage_in_bytes" 2>/dev/null) || \\
  peak=$(cat "/sys/fs/cgroup$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup)/memory.peak" 2>/dev/null) || peak=0
echo "$peak" >> {file}
exit "$code"
"""

# A container engine's run in the job: killed by name when Slurm signals the
# job script (scancel, the time limit), its exit code the job's.  The
# container's own cgroup holds its memory, not the job's, so Slurm never
# sees it run out: the script asks the engine, and says so in the usage
# file (OOM), before it removes the container.
ENGINE_BODY = """name={name}-$SLURM_JOB_ID
{limits}killed=
trap 'killed=1; {engine} kill "$name" >/dev/null 2>&1' TERM INT
{run}while :; do
  wait "$child" && code=0 || code=$?
  kill -0 "$child" 2>/dev/null || break
done
oom=$({engine} inspect --format '{{{{.State.OOMKilled}}}}' "$name" 2>/dev/null)
{oom_events}if [ "$oom" = true ]; then
  echo {oom} > {usage}
fi
{engine} rm -f "$name" >/dev/null 2>&1
exit "$code"
"""
ENGINE_RUN = """{engine} run --name "$name" {options}{args} &
child=$!
"""
# Docker: as in the Docker executor (cl/runs/docker_executor.py), the
# command waits for a line on its stdin, written once the engine says the
# container runs -- by then its OOM watcher is set -- through a fifo
# beside the run directory.  Should the script die before, stdin ends
# without the line and the command never starts.
DOCKER_RUN = """since=$(date +%s)
gate={gate}
rm -f "$gate" && mkfifo -m 600 "$gate" || exit 125
{engine} run -i --name "$name" {options}{args} <"$gate" &
child=$!
exec 3>"$gate"
rm -f "$gate"
until [ "$({engine} inspect --format '{{{{.State.Running}}}}' "$name" 2>/dev/null)" = true ] \\
    || ! kill -0 "$child" 2>/dev/null; do
  sleep 0.05
done
echo go >&3
exec 3>&-
"""
DOCKER_GATED = 'read -r _ || exit 125; exec /bin/sh -c "$1"'
# Docker 20.10 leaves OOMKilled false when the container's exit reaches it
# before the kernel's OOM event; the event is logged all the same, at
# times a moment later.  Not asked when the script killed the container
# itself (scancel, the time limit): that SIGKILL is no OOM.
DOCKER_OOM_EVENTS = """if [ "$oom" != true ] && [ "$code" = 137 ] && [ -z "$killed" ]; then
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    if {engine} events --since "$since" --until "$(date +%s.%N)" --filter "container=$name" \\
        --filter event=oom --format x 2>/dev/null | grep -q x; then
      oom=true
      break
    fi
    sleep 0.1
  done
fi
"""
OOM = "out-of-memory"

# podman as root otherwise asks for 1048576 open files and processes, which
# a node whose root lacks CAP_SYS_RESOURCE refuses ("error setting rlimit"):
# the container gets the job's own limits (Slurm's, or the submitter's it
# propagated), processes no more than podman keeps for itself.
PODMAN_LIMITS = """limits() {{
  sed -n "s/^Max $1  *\\([0-9a-z]*\\)  *\\([0-9a-z]*\\).*/\\1 \\2/p" /proc/self/limits
}}
atmost() {{
  case $1 in
    unlimited) echo "$2" ;;
    *) if [ "$1" -le "$2" ]; then echo "$1"; else echo "$2"; fi ;;
  esac
}}
set -- $(limits 'open files'); files="$1:$2"
set -- $(limits processes); procs="$(atmost "$1" {nproc}):$(atmost "$2" {nproc})"
"""
PODMAN_OPTIONS = '--ulimit "nofile=$files" --ulimit "nproc=$procs" '


# The job's own processes are the OOM killer's first choice in the job's
# memory cgroup.  Slurm charges the step manager (slurmstepd) to that
# cgroup too: once a run's largest process had been killed for memory, the
# killer once took the step manager next, and the job stayed RUNNING with
# nothing left to end it.  Raising one's own oom_score_adj needs no
# privilege (lowering slurmstepd's would); where /proc cannot be written
# the job runs as before.
OOM_FIRST = "{ echo 1000 > /proc/$$/oom_score_adj; } 2>/dev/null\n"


def usage_file(run_dir: str) -> str:
    """Where a job leaves its resource use: beside its run directory (not
    in it, so it is no output)."""
    return run_dir.rstrip("/") + ".usage"


def read_usage(path: str) -> Usage | None:
    """`times` (the shell's own line, then its children's:
    `<user>m<s>s <system>m<s>s`) and the peak bytes, as USAGE writes them."""
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return None
    times = [re.fullmatch(r"(\d+)m([\d.]+)s", w) for w in words[2:4]]
    if len(words) != 5 or not all(times) or not words[4].isdigit():
        return None
    user, system = (int((int(m[1]) * 60 + float(m[2])) * 1e9) for m in times)
    return Usage(cpu_user=user, cpu_system=system, peak_memory=int(words[4]))


def _says(path: str, word: str) -> bool:
    try:
        with open(path) as f:
            return f.read().split() == [word]
    except OSError:
        return False


def _first_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else ""


def _run(argv: list[str], input: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: {exc}")


# --- job states ------------------------------------------------------------------


def parse_exit_code(text: str | None) -> int | None:
    """Slurm's `code:signal` as one exit code (128+signal when signalled)."""
    if not text or ":" not in text:
        return None
    code, _, signal = text.partition(":")
    try:
        code_n, signal_n = int(code), int(signal)
    except ValueError:
        return None
    return 128 + signal_n if signal_n and not code_n else code_n


def outcome(state: str, exit_code: str | None) -> Exit:
    """What a final Slurm job state means for the run."""
    words = (state or "").split()  # "CANCELLED by 0", "FAILED+"
    state = words[0].rstrip("+") if words else ""
    code = parse_exit_code(exit_code)
    if state == "COMPLETED":
        return Exit(code if code is not None else 0)
    if state == "OUT_OF_MEMORY":
        return Exit(code, oom=True)
    if state in ENDED_BY_SLURM:
        killed, message = ENDED_BY_SLURM[state]
        return Exit(None, message=message, killed=message if killed else None)
    if state == "FAILED":
        return Exit(code if code else None, message="Slurm: the job failed" if not code else None)
    return Exit(None, message=f"Slurm: the job ended {state or 'in an unknown state'}")


def _scontrol_fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"(?:^|\s)(JobId|JobState|Reason|ExitCode)=(\S+)", line))


def final_state(job: str) -> Exit:
    """How a job that left the queue ended, from the controller's memory,
    then accounting, then job completion records."""
    done = _run(["scontrol", "show", "job", "-o", job])
    if done.returncode == 0:
        fields = _scontrol_fields(done.stdout)
        if fields.get("JobState") and fields["JobState"] not in ACTIVE:
            return outcome(fields["JobState"], fields.get("ExitCode"))
    for extra in ([], ["--completion"]):
        done = _run(["sacct", *extra, "-X", "-n", "-P", "-j", job, "-o", "JobID,State,ExitCode"])
        for line in done.stdout.splitlines() if done.returncode == 0 else ():
            parts = line.split("|")
            if len(parts) == 3 and parts[0] == job and parts[1].split()[:1] != [] \
                    and parts[1].split()[0] not in ACTIVE:
                return outcome(parts[1], parts[2])
    return Exit(None, message=f"Slurm no longer knows job {job}: how it ended is lost")


# --- processes ------------------------------------------------------------------


class SlurmProcess(Process):
    def __init__(self, monitor: "_Monitor", job: str, usage: str = ""):
        self.monitor = monitor
        self.job = job
        self.usage_file = usage
        self.ident = f"Slurm job {job}"
        self.state: str | None = None
        self.reason = ""
        self._exit: Exit | None = None
        self._done = threading.Event()
        self._usage = Usage()
        self._watched = False

    def _watch(self) -> None:
        if not self._watched:  # on first use: leftovers the worker skips cost nothing
            self._watched = True
            self.monitor.watch(self)

    def handle(self) -> dict:
        return {"job": self.job, "usage": self.usage_file}

    @property
    def usage(self) -> Usage:
        return self._usage

    def waiting(self) -> str | None:
        self._watch()
        if self._done.is_set():
            return None
        if self.state is None:
            return f"submitted to Slurm as job {self.job}"
        if self.state in PENDING:
            reason = "" if self.reason in ("", "None") else f": {self.reason}"
            return f"Slurm job {self.job} {self.state.lower()}{reason}"
        return None

    notifies = True

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change.set()

    def update(self, state: str, reason: str) -> None:
        if (state, reason) != (self.state, self.reason):
            self.state, self.reason = state, reason
            self._changed()

    def end(self, exit_: Exit) -> None:
        if self.usage_file:
            self._usage = read_usage(self.usage_file) or self._usage
            if exit_.code and _says(self.usage_file, OOM):  # a container's (ENGINE_BODY)
                exit_ = Exit(exit_.code, oom=True)
            try:
                os.unlink(self.usage_file)
            except OSError:
                pass
        self._exit = exit_
        self._done.set()
        self._changed()

    def wait(self) -> Exit:
        self._watch()
        self._done.wait()
        return self._exit

    def kill(self) -> None:
        if not self._done.is_set():
            _run(["scancel", self.job])
            self.monitor.poke()

    def remove(self) -> None:
        self.monitor.forget(self)
        if not self._done.is_set():
            _run(["scancel", self.job])


class _Monitor:
    """Polls `squeue` for every watched job at once, in one thread that
    runs while there is something to watch."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs: dict[str, SlurmProcess] = {}
        self.thread: threading.Thread | None = None
        self._poke = threading.Event()

    def watch(self, process: SlurmProcess) -> None:
        with self.lock:
            self.jobs[process.job] = process
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="slurm-monitor", daemon=True)
                self.thread.start()
        self.poke()

    def forget(self, process: SlurmProcess) -> None:
        with self.lock:
            if self.jobs.get(process.job) is process:
                del self.jobs[process.job]

    def poke(self) -> None:
        self._poke.set()

    def _loop(self) -> None:
        try:
            self._follow()
        finally:
            with self.lock:
                if self.thread is threading.current_thread():
                    self.thread = None
                    if self.jobs:  # watched since the last look: go on in a new thread
                        self.thread = threading.Thread(target=self._loop, name="slurm-monitor",
                                                       daemon=True)
                        self.thread.start()

    def _follow(self) -> None:
        while True:
            with self.lock:
                watched = dict(self.jobs)
                if not watched:
                    return
            try:
                self._poll(watched)
            except Exception as exc:  # a bug here must not leave runs waiting forever
                for process in watched.values():
                    process.end(Exit(None, message=f"Lost track of Slurm job {process.job}: {exc!r}"))
                    self.forget(process)
                raise
            # one squeue costs in proportion to the jobs it lists: ask less
            # often when there are many, so following N jobs costs O(N)
            self._poke.wait(POLL_S * max(1.0, len(watched) / POLL_JOBS))
            self._poke.clear()

    def _poll(self, watched: dict[str, SlurmProcess]) -> None:
        done = _run(["squeue", "-h", "-t", "all", "-j", ",".join(watched), "-o", "%i|%T|%r"])
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            return  # the controller does not answer: ask again later
        seen: dict[str, tuple[str, str]] = {}
        for line in done.stdout.splitlines() if done.returncode == 0 else ():
            parts = line.strip().split("|")
            if len(parts) == 3:
                seen[parts[0]] = (parts[1], parts[2])
        for job, process in watched.items():
            state, reason = seen.get(job, ("", ""))
            if state in ACTIVE:
                process.update(state, reason)
                continue
            process.end(final_state(job))
            self.forget(process)


# --- the executor -----------------------------------------------------------------


def _setting(config, key: str, default=None):
    return config.get("slurm", key, default) if config is not None else default


class SlurmExecutor(Executor):
    name = "slurm"
    remedy = "install Slurm's client commands and check that `sinfo` answers"
    routes_queues = True  # --request-queue is a partition, not a worker tag
    # memory: --mem, held by the cluster's task/cgroup (ConstrainRAMSpace)
    enforces = frozenset({"time", "disk", "memory"})

    def __init__(self, partition: str = "", account: str = "", options: tuple[str, ...] = (),
                 container: str = "none", shared_dir: str = ""):
        if container not in CONTAINERS:
            raise RunError(f"slurm.container must be one of {', '.join(CONTAINERS)}, not '{container}'")
        self.partition = partition
        self.account = account
        self.options = tuple(options)
        self.container = container
        self.shared_dir = os.path.abspath(os.path.expanduser(shared_dir)) if shared_dir else ""
        self.monitor = _Monitor()

    @classmethod
    def create(cls, config=None) -> "SlurmExecutor":
        options = _setting(config, "sbatch_options", "") or ""
        if isinstance(options, str):
            try:
                options = shlex.split(options)
            except ValueError as exc:
                raise RunError(f"slurm.sbatch_options: {exc}") from None
        return cls(partition=str(_setting(config, "partition", "") or ""),
                   account=str(_setting(config, "account", "") or ""),
                   options=tuple(map(str, options)),
                   container=str(_setting(config, "container", "none") or "none"),
                   shared_dir=str(_setting(config, "shared_dir", "") or ""))

    @classmethod
    def problem(cls, config=None) -> str | None:
        for tool in ("sbatch", "squeue", "scancel", "scontrol"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed (Slurm's client commands)"
        return None

    # --- where things go ---------------------------------------------------------

    def _base(self, repo_root: str) -> str:
        key = hashlib.sha256(os.path.realpath(repo_root).encode()).hexdigest()[:16]
        return os.path.join(self.shared_dir, f"cl-{key}")

    def run_dir(self, repo, bid: str) -> str:
        link = repo_run_dir(repo, bid)
        if not self.shared_dir:
            return link
        real = os.path.join(self._base(repo.root), "runs", bid)
        if not (os.path.islink(link) and os.readlink(link) == real):
            if os.path.lexists(link):
                from cl.objects.checkout import remove_tree
                remove_tree(link)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(real, link)
        return real

    def stage(self, repo, mounts: tuple[Mount, ...]) -> tuple[Mount, ...]:
        if not self.shared_dir:
            return mounts
        where = os.path.join(self._base(repo.root), "checkouts")
        os.makedirs(where, exist_ok=True)
        return tuple(m if m.kind == "link" else Mount(m.key, _stage_one(m.source, where), m.kind)
                     for m in mounts)

    @classmethod
    def sweeper(cls, repo):
        shared = str(_setting(repo.config, "shared_dir", "") or "")
        if not shared:
            return None
        from cl.index import runs as rindex
        rindex.ensure(repo.db)  # now: under the gc lock, only reads
        base = cls(shared_dir=shared)._base(repo.root)
        from cl.runs.slurm_gc import sweep_shared
        return lambda busy, dry_run: sweep_shared(repo, base, busy, dry_run)

    def image(self, name: str | None, progress) -> dict:
        if self.container == "none":
            return {}
        if not name:
            raise RunError("No image requested and no default image configured (run.image)")
        return {"name": name}

    # --- submitting ------------------------------------------------------------------

    def sbatch_args(self, plan: RunPlan, partition: str | None) -> list[str]:
        args = ["--parsable", f"--job-name=cl-{plan.bundle}", f"--comment=cl {plan.repo_root}",
                f"--chdir={plan.run_dir}", f"--output={plan.run_dir}/stdout",
                f"--error={plan.run_dir}/stderr", "--open-mode=append",
                f"--cpus-per-task={plan.cpus or 1}"]
        if plan.memory:
            args.append(f"--mem={math.ceil(plan.memory / 2**20)}M")
        if plan.gpus:
            args.append(f"--gres=gpu:{plan.gpus}")
        if plan.time:
            args.append(f"--time={max(1, math.ceil(plan.time / 60))}")
        if partition or self.partition:
            args.append(f"--partition={partition or self.partition}")
        if self.account:
            args.append(f"--account={self.account}")
        return args + list(self.options)

    def script(self, plan: RunPlan) -> str:
        q = shlex.quote
        # The job has the worker's environment (sbatch's default: --export=NONE
        # would make slurmd load a login environment, ~0.6 s a job), but the
        # command its own HOME, as in the other executors: a container gets it
        # with `-e`, while the engine's client keeps the user's (rootless
        # podman keeps its image store and configuration there).
        env = "" if self.container in ("docker", "podman") else f"export HOME={q(plan.run_dir)}\n"
        head = f"#!/bin/sh\n{OOM_FIRST}{env}cd {q(plan.run_dir)} || exit 125\n"
        mounts = [m for m in plan.mounts if m.kind != "link"]
        if self.container in ("docker", "podman"):
            volumes = [f"{plan.run_dir}:{WORKDIR}"] + [f"{m.source}:{WORKDIR}/{m.key}:ro" for m in mounts]
            args = ([x for v in volumes for x in ("-v", v)]
                    + ["-w", WORKDIR, "-e", f"HOME={WORKDIR}", "--user", f"{plan.uid}:{plan.gid}",
                       # held as the Docker executor holds its containers
                       "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
                       "--network", "bridge" if plan.network else "none"]
                    + ([f"--memory={plan.memory}", f"--memory-swap={plan.memory}"] if plan.memory else [])
                    + [plan.image.get("id") or plan.image.get("name") or "", "/bin/sh", "-c"]
                    + ([DOCKER_GATED, "cl-run", plan.command] if self.container == "docker"
                       else [plan.command]))
            podman = self.container == "podman"
            # rootless podman: the user is themself in the container (not a
            # subordinate id), so the worker can read and remove the outputs
            options = (PODMAN_OPTIONS + ("--userns=keep-id " if plan.uid else "")) if podman else ""
            run = (ENGINE_RUN if podman else DOCKER_RUN).format(
                engine=self.container, options=options, args=shlex.join(args),
                gate=q(plan.run_dir.rstrip("/") + ".gate"))
            return head + ENGINE_BODY.format(
                name=f"cl-{plan.bundle[:12]}", engine=self.container, run=run,
                oom=OOM, usage=q(usage_file(plan.run_dir)),
                oom_events="" if podman else DOCKER_OOM_EVENTS.format(engine=self.container),
                limits=PODMAN_LIMITS.format(nproc=PODMAN_NPROC) if podman else "")
        protect = sorted({os.path.dirname(m.source) for m in mounts} | {plan.repo_root})
        pairs = [x for m in mounts for x in (m.source, m.key)]
        unshare = ["unshare"] + ([] if plan.uid == 0 else ["--user", "--map-root-user"])
        unshare += ["--mount", "--propagation", "private"] + ([] if plan.network else ["--net"])
        sandbox = shlex.join(unshare + ["--", "/bin/sh", "-c", SANDBOX, "cl-run", plan.run_dir,
                                        plan.command, str(len(protect)), *protect, *pairs])
        # Without namespaces: links to the read-only checkouts, but copies for
        # root, who could write through a link into the store's files.
        place = "".join(f"rm -rf {q(os.path.join(plan.run_dir, m.key))}; $place {q(m.source)} "
                        f"{q(os.path.join(plan.run_dir, m.key))}\n" for m in mounts)
        probe = shlex.join(unshare + ["--", "/bin/sh", "-c", "command -v setpriv >/dev/null"])
        return (head + f"if {probe} 2>/dev/null; then\n  {sandbox}\nelse\n"
                '# no namespaces here\n'
                'if [ "$(id -u)" = 0 ]; then place="cp -R"; else place="ln -s"; fi\n'
                f"{place}/bin/sh -c {q(plan.command)}\nfi\n"
                + USAGE.format(file=q(usage_file(plan.run_dir))))

    def start(self, plan: RunPlan) -> SlurmProcess:
        args = self.sbatch_args(plan, plan.queue)
        done = _run(["sbatch", *args], input=self.script(plan))
        if done.returncode != 0:
            raise RunError(f"sbatch refused the job: {_first_line(done.stderr) or done.returncode}")
        job = done.stdout.strip().split(";")[0]
        if not job.isdigit():
            raise RunError(f"sbatch answered '{_first_line(done.stdout)}', not a job id")
        return SlurmProcess(self.monitor, job, usage_file(plan.run_dir))

    # --- recovery ----------------------------------------------------------------------

    def recover(self, bid: str, handle: dict, repo_root: str) -> SlurmProcess | None:
        job = str(handle.get("job") or "")
        usage = handle.get("usage")
        return SlurmProcess(self.monitor, job, usage if isinstance(usage, str) else "") \
            if job.isdigit() else None

    def leftovers(self, repo_root: str) -> dict[str, SlurmProcess]:
        """Jobs of this repository still in the queue (by name and comment),
        such as one submitted just before its worker died."""
        done = _run(["squeue", "-h", "-u", str(os.getuid()), "-t", "PENDING,RUNNING",
                     "-o", "%i|%j|%k"])
        out = {}
        for line in done.stdout.splitlines() if done.returncode == 0 else ():
            job, _, rest = line.strip().partition("|")
            name, _, comment = rest.partition("|")
            if name.startswith("cl-") and len(name) == 67 and comment == f"cl {repo_root}":
                out[name[3:]] = job
        watched = set(self.monitor.jobs)
        return {bid: SlurmProcess(self.monitor, job) for bid, job in out.items() if job not in watched}

    def close(self) -> None:
        with self.monitor.lock:
            self.monitor.jobs.clear()


def _stage_one(source: str, where: str) -> str:
    """A dependency's checkout copied or hard-linked under `where` once
    (built aside and renamed into place; a lost race keeps the other)."""
    dest = os.path.join(where, os.path.basename(source))
    if os.path.lexists(dest):
        return dest
    tmp = f"{dest}.tmp-{os.getpid()}-{threading.get_ident()}"
    link = os.stat(source).st_dev == os.stat(where).st_dev

    def place(src: str, dst: str) -> None:
        if link:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    from cl.objects.checkout import publish, remove_tree
    remove_tree(tmp)
    if os.path.isdir(source):
        shutil.copytree(source, tmp, symlinks=True, copy_function=place)
    else:
        place(source, tmp)
    publish(tmp, dest)
    return dest
