"""The local executor: a run is a plain process on this machine, for
machines without a Docker Engine.  Same layout and states as Docker: the
run directory is the working directory and HOME, stdout/stderr are files
in it, dependencies are mounted read-only at their keys.

A run must not be able to change its dependencies or the object store,
even as root.  So the command runs in its own mount namespace (util-linux
`unshare`; as a non-root user inside a user namespace too) where

* `.codalab` is bind-mounted read-only over itself (objects, checkouts,
  repo.db), with the run directory bind-mounted writable inside it,
* each dependency's checkout is bind-mounted read-only at its key,
* the command then runs under `setpriv` with an empty capability bounding
  set and no-new-privs, so it cannot remount anything writable,
* without `--request-network` it also gets a new network namespace (only
  a loopback that is down).

Where namespaces are unavailable and we are root, the command runs as the
unprivileged user `nobody` with dependencies as symbolic links to their
read-only checkouts (the executor's `note` says so).  Memory, cpu and gpu
requests are not enforced by this executor; time and disk limits are (by
the worker, like for Docker)."""

import os
import shutil
import signal
import subprocess
import threading

from cl.index.runs import pid_start, process_alive
from cl.runs.executor import Executor, Exit, Process, RunPlan, Usage
from cl.runs.layout import RunError

NOBODY = 65534

SANDBOX = """set -e
codalab=$1; run=$2; cmd=$3; shift 3
mount --bind "$codalab" "$codalab"
mount --bind "$run" "$run"
mount -o remount,bind,ro "$codalab"
while [ $# -gt 0 ]; do
  mount --bind "$1" "$run/$2"
  mount -o remount,bind,ro "$run/$2"
  shift 2
done
cd "$run"
exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- /bin/sh -c "$cmd"
"""

_probe_lock = threading.Lock()
_probed: dict[bool, str | None] = {}


def _unshare_prefix(network: bool) -> list[str]:
    prefix = ["unshare"]
    if os.geteuid() != 0:
        prefix += ["--user", "--map-root-user"]
    prefix += ["--mount", "--propagation", "private"]
    if not network:
        prefix.append("--net")
    return prefix


def namespace_problem() -> str | None:
    """None when a mount namespace with read-only binds works here."""
    with _probe_lock:
        if False not in _probed:
            for tool in ("unshare", "setpriv", "mount"):
                if shutil.which(tool) is None:
                    _probed[False] = f"{tool} is not installed (util-linux)"
                    break
            else:
                done = subprocess.run(
                    _unshare_prefix(False) + ["--", "/bin/sh", "-c",
                                              "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"
                                              " && exec setpriv --bounding-set=-all -- true"],
                    stdin=subprocess.DEVNULL, capture_output=True, text=True)
                _probed[False] = None if done.returncode == 0 else (
                    " ".join(done.stderr.split())[:200] or f"unshare exited {done.returncode}")
        return _probed[False]


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
    reattach = False  # not our child after a restart: its exit code is lost

    def __init__(self):
        problem = namespace_problem()
        self.sandbox = "namespace" if problem is None else (
            "nobody" if os.geteuid() == 0 and shutil.which("setpriv") else "none")
        if self.sandbox == "nobody":
            self.note = f"no mount namespaces ({problem}); local runs use the user nobody"
        elif self.sandbox == "none":
            self.note = (f"no mount namespaces ({problem}): local runs can write to their "
                         "dependencies and the store")

    def image(self, name, progress) -> dict:
        return {}

    def owner(self) -> tuple[int, int] | None:
        """Who must own the run directory (the `nobody` fallback)."""
        return (NOBODY, NOBODY) if self.sandbox == "nobody" else None

    def argv(self, plan: RunPlan) -> list[str]:
        if self.sandbox == "namespace":
            pairs = [x for m in plan.mounts if m.kind != "link" for x in (m.source, m.key)]
            return (_unshare_prefix(plan.network)
                    + ["--", "/bin/sh", "-c", SANDBOX, "cl-run", plan.repo_root, plan.run_dir,
                       plan.command, *pairs])
        if self.sandbox == "nobody":
            return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    "--no-new-privs", "--", "/bin/sh", "-c", plan.command]
        return ["/bin/sh", "-c", plan.command]

    def start(self, plan: RunPlan) -> LocalProcess:
        if self.sandbox != "namespace":
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


def recover_process(handle: dict) -> LocalProcess | None:
    """The still running process of a local run whose worker died (it can
    be killed and waited for, but its exit code is lost with the worker)."""
    if handle.get("pid") and process_alive(handle["pid"], handle.get("pid_start")):
        return LocalProcess(None, handle["pid"], handle.get("pid_start"))
    return None

