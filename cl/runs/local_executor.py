"""The local executor: a run is a process on this machine, for machines
without a Docker Engine.  Same layout and states as Docker: the run
directory is the working directory and HOME, stdout/stderr are files in
it, dependencies are mounted read-only at their keys.

A run is confined with util-linux `unshare` (as a non-root worker inside a
user namespace, mapped to the worker's uid) to new mount and PID
namespaces, and, without `--request-network`, a network namespace with
only a loopback that is down.  In its mount namespace

* the run directory is bind-mounted over itself (nosuid, nodev) and each
  dependency's checkout read-only (nosuid, nodev) at its key,
* the project directory and the repository (`.codalab`: objects,
  checkouts, other runs, repo.db, config.toml) are hidden under an empty
  read-only tmpfs, in which only the run directory is put back, at the
  same path,
* /proc shows only the run's own processes,
* the command runs under `setpriv` with no-new-privs and no capabilities
  (empty bounding set), and, when the worker is root, as the user
  `nobody`, so it cannot write root's files nor read root-only ones.

Its first process is the PID namespace's init: when it ends, or when the
worker kills `unshare` (whose death kills that init, `--kill-child`), the
kernel kills every process left in the namespace, `setsid` children too.

Not protected (see README, "Executors"): a run can read what the user it
runs as can read outside the project (for a non-root worker, that is the
worker's own files; the worker's home is read-only to it), write where
that user can write outside the project, and use the network when asked.
Memory, cpu and gpu requests are not enforced by this executor; time and
disk limits are (by the worker, like for Docker).

Where these namespaces cannot be made, local runs are refused, unless the
executor was chosen as `local-unsafe`: then the command is a plain
process of the worker's user, with access to everything that user has."""

import os
import shutil
import signal
import subprocess
import threading

from cl.index.runs import pid_start, process_alive
from cl.runs.executor import Executor, Exit, Process, RunPlan, Usage
from cl.runs.layout import RunError

NOBODY = 65534

# $1 run directory, $2 command, $3 uid to run as (or "-"), $4 number of
# dependencies, then that many (source, key) pairs, then the directories
# to hide; $HOME_RO a directory to make read-only.  Runs as root of the new
# namespaces.  The run directory, with its dependencies mounted, is held
# open (fd 3) while the project is hidden, then put back from it.
SANDBOX = """set -e
run=$1; cmd=$2; uid=$3; n=$4; shift 4
mount --bind "$run" "$run"
mount -o remount,bind,nosuid,nodev "$run"
while [ "$n" -gt 0 ]; do
  mount --bind "$1" "$run/$2"
  mount -o remount,bind,ro,nosuid,nodev "$run/$2"
  shift 2; n=$((n - 1))
done
exec 3<"$run"
if [ -n "$HOME_RO" ] && [ -d "$HOME_RO" ]; then
  mount --bind "$HOME_RO" "$HOME_RO"
  mount -o remount,bind,ro "$HOME_RO"
fi
unset HOME_RO
for hide in "$@"; do
  mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev,noexec cl-hidden "$hide"
done
mkdir -p "$run"
mount --no-canonicalize --rbind /proc/self/fd/3 "$run"
exec 3<&-
for hide in "$@"; do
  mount -o remount,bind,ro,nosuid,nodev,noexec "$hide"
done
cd "$run"
if [ "$uid" = - ]; then
  exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- /bin/sh -c "$cmd"
fi
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs --inh-caps=-all \
  --bounding-set=-all -- /bin/sh -c "$cmd"
"""

PROBE = """set -e
mount --bind /tmp /tmp
mount -o remount,bind,ro,nosuid,nodev /tmp
exec 3</tmp
mount -t tmpfs -o mode=0755,size=64k cl-probe /tmp
mount --no-canonicalize --rbind /proc/self/fd/3 /tmp
exec setpriv --no-new-privs --bounding-set=-all -- true
"""

_probe_lock = threading.Lock()
_probed: dict[bool, str | None] = {}


def _unshare_prefix(network: bool) -> list[str]:
    prefix = ["unshare"]
    if os.geteuid() != 0:
        prefix += ["--user", "--map-root-user"]
    prefix += ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
               "--mount-proc"]
    if not network:
        prefix.append("--net")
    return prefix


def namespace_problem() -> str | None:
    """None when the namespaces a confined run needs can be made here."""
    with _probe_lock:
        if False not in _probed:
            for tool in ("unshare", "setpriv", "mount"):
                if shutil.which(tool) is None:
                    _probed[False] = f"{tool} is not installed (util-linux)"
                    break
            else:
                done = subprocess.run(_unshare_prefix(False) + ["--", "/bin/sh", "-c", PROBE],
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True)
                _probed[False] = None if done.returncode == 0 else (
                    " ".join(done.stderr.split())[:200] or f"unshare exited {done.returncode}")
        return _probed[False]


def hidden_dirs(repo_root: str, other_user: bool = False) -> list[str]:
    """What a run must not see: the repository and, for a `.codalab`
    inside a project, the whole project (never `/`).  For a run that runs
    as another user (`nobody`), the topmost ancestor that user could not
    pass through is hidden instead, so that the path of its run
    directory, put back in the hiding tmpfs, is one it can use."""
    repo_root = os.path.abspath(repo_root)
    hide = os.path.dirname(repo_root)
    if os.path.basename(repo_root) != ".codalab" or hide == os.path.dirname(hide):
        hide = repo_root
    if other_user:
        parent = os.path.dirname(hide)
        while parent != os.path.dirname(parent):
            if not os.stat(parent).st_mode & 0o001:
                hide = parent
            parent = os.path.dirname(parent)
    return [hide]


class LocalProcess(Process):
    def __init__(self, popen: subprocess.Popen | None, pid: int, start: int | None):
        self.popen = popen
        self.pid = pid
        self.pid_start = start
        self.ident = f"pid {pid}"
        self._usage = Usage()

    @property
    def usage(self) -> Usage:
        return self._usage

    def handle(self) -> dict:
        return {"pid": self.pid, "pid_start": self.pid_start}

    def wait(self) -> Exit:
        if self.popen is None:  # not our child (after a worker restart): poll
            while process_alive(self.pid, self.pid_start):
                threading.Event().wait(0.2)
            return Exit(None, message="The worker running it died")
        _, status, ru = os.wait4(self.pid, 0)
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        self._usage.cpu_user = int(ru.ru_utime * 1e9)
        self._usage.cpu_system = int(ru.ru_stime * 1e9)
        self._usage.peak_memory = ru.ru_maxrss * 1024
        code = self.popen.returncode
        return Exit(128 - code if code < 0 else code)

    def kill(self) -> None:
        if self.popen is None and not process_alive(self.pid, self.pid_start):
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class LocalExecutor(Executor):
    name = "local"
    unsafe = False  # run unconfined where namespaces cannot be made (UnsafeLocalExecutor)
    reattach = False  # not our child after a restart: its exit code is lost

    def __init__(self):
        problem = namespace_problem()
        self.confined = problem is None
        if not self.confined and not self.unsafe:
            raise RunError(f"local runs cannot be confined here ({problem}); use Docker, or "
                           "choose the executor local-unsafe to run them as plain processes "
                           "that can read and change everything the worker's user can")
        if not self.confined:
            self.note = (f"no namespaces ({problem}): local runs are NOT confined "
                         "(executor local-unsafe)")

    @classmethod
    def problem(cls, config=None) -> str | None:
        found = namespace_problem()
        return None if found is None else f"local runs cannot be confined here ({found})"

    def image(self, name, progress) -> dict:
        return {}

    def capacity(self):
        """This machine's CPUs, memory and GPUs (a run gets no more, though
        this executor does not enforce the request)."""
        from cl.runs.capacity import host_capacity
        return host_capacity()

    def owner(self) -> tuple[int, int] | None:
        """Who must own the run directory: `nobody` when root runs it."""
        return (NOBODY, NOBODY) if self.confined and os.geteuid() == 0 else None

    def argv(self, plan: RunPlan) -> list[str]:
        if not self.confined:
            return ["/bin/sh", "-c", plan.command]
        binds = [m for m in plan.mounts if m.kind != "link"]
        pairs = [x for m in binds for x in (m.source, m.key)]
        uid = str(NOBODY) if os.geteuid() == 0 else "-"
        return (_unshare_prefix(plan.network)
                + ["--", "/bin/sh", "-c", SANDBOX, "cl-run", plan.run_dir, plan.command, uid,
                   str(len(binds)), *pairs, *hidden_dirs(plan.repo_root, uid != "-")])

    def start(self, plan: RunPlan) -> LocalProcess:
        if not self.confined:
            # no mounts here: dependencies are links to their read-only checkouts
            for m in plan.mounts:
                where = os.path.join(plan.run_dir, m.key)
                if m.kind != "link":
                    if os.path.isdir(where) and not os.path.islink(where):
                        os.rmdir(where)
                    else:
                        os.unlink(where)
                    os.symlink(m.source, where)
        env = {"HOME": plan.run_dir, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "LANG": os.environ.get("LANG", "C.UTF-8")}
        if self.confined and os.geteuid() != 0:
            env["HOME_RO"] = os.path.expanduser("~")
        try:
            with open(os.path.join(plan.run_dir, "stdout"), "wb") as out, \
                    open(os.path.join(plan.run_dir, "stderr"), "wb") as err:
                popen = subprocess.Popen(self.argv(plan), cwd=plan.run_dir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True, close_fds=True)
        except OSError as exc:
            raise RunError(f"The command could not start: {exc}") from None
        return LocalProcess(popen, popen.pid, pid_start(popen.pid))

    def recover(self, bid: str, handle: dict, repo_root: str) -> LocalProcess | None:
        return recover_process(handle)


class UnsafeLocalExecutor(LocalExecutor):
    """`local-unsafe`: confined like `local` where namespaces work, a plain
    process of the worker's user where they do not (an explicit opt-in)."""

    name = "local-unsafe"
    unsafe = True

    @classmethod
    def problem(cls, config=None) -> str | None:
        return None


def recover_process(handle: dict) -> LocalProcess | None:
    """The still running process of a local run whose worker died (it can
    be killed and waited for, but its exit code is lost with the worker)."""
    if handle.get("pid") and process_alive(handle["pid"], handle.get("pid_start")):
        return LocalProcess(None, handle["pid"], handle.get("pid_start"))
    return None

