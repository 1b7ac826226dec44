"""The Docker executor: each run is a container, through the Docker SDK's
low-level API (one client per worker, kept open).  This is the only module
that imports `docker`.

The container sees the run directory at /cl-run (its working directory and
HOME), each dependency bind-mounted read-only at /cl-run/<key>, runs as the
worker's uid:gid, with no network unless asked, and carries the labels
`cl.bundle=<id>` and `cl.repo=<repository>` so that a restarted worker can
find it.  The command runs as `sh -c COMMAND` with stdout and stderr
redirected to files in the run directory, so they are readable while it runs
and survive a kill.

A run never gains privileges (`no-new-privileges`: setuid files do nothing
inside) and has no capabilities at all (`cap_drop ALL`, none added back).
It runs as the worker's uid, and everything it has to write (the run
directory, the image's files when that uid is root) belongs to that uid,
so DAC_OVERRIDE, CHOWN, FOWNER and the like are not needed; what they
would allow is what must not happen: MKNOD (device nodes in the run
directory), SETUID/SETGID, FSETID, NET_RAW, SYS_CHROOT, KILL of other
users' processes.  (A root run can still set the setuid bit on a file it
owns; that file is harmless because the run directory's parent is 0700,
see cl/runs/layout.py, and ingest never stores such bits.)"""

import contextlib
import os
import socket
import time
from urllib.parse import urlparse

from cl.runs.executor import Executor, Exit, Process, RunPlan, Usage
from cl.runs.layout import RunError

WORKDIR = "/cl-run"
# $1 is the command.  It waits for a line on stdin (see DockerExecutor.start),
# then its streams go to files before the command starts.
WRAPPER = 'read -r _; exec >stdout 2>stderr </dev/null; exec /bin/sh -c "$1"'
LABEL_BUNDLE = "cl.bundle"
LABEL_REPO = "cl.repo"
LABEL_WORKER = "cl.worker"
OOM_RECHECKS = 10  # tenths of a second a SIGKILLed run's OOM event may lag its exit


def container_addresses(container: str) -> list[str]:
    """The IP addresses a running container has on its networks (none for
    a run without network), for `cl netcat`."""
    import docker
    client = docker.from_env()
    try:
        networks = client.api.inspect_container(container)["NetworkSettings"]["Networks"] or {}
    except docker.errors.DockerException as exc:
        raise RunError(f"cannot inspect container {container[:12]}: {_first_line(exc)}") from None
    finally:
        client.close()
    return [n["IPAddress"] for n in networks.values() if n.get("IPAddress")]


def engine_problem(timeout: float = 2.0) -> str | None:
    """None when a Docker Engine answers `GET /_ping`, else why not.  For
    a local socket this is a raw request (milliseconds, no SDK import), so
    `cl run` can afford it."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    url = urlparse(host)
    if url.scheme not in ("unix", ""):
        try:
            import docker
            client = docker.from_env(timeout=timeout)
            client.ping()
            client.close()
            return None
        except Exception as exc:
            return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    path = url.path or host
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = s.recv(256)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not reply.startswith(b"HTTP/1.") or b" 200 " not in reply.split(b"\r\n", 1)[0] + b" ":
        return f"{path}: unexpected answer to /_ping"
    return None


def _unix_seconds(stamp: str) -> int:
    """Whole seconds of an engine time stamp such as
    2026-12-06T21:45:13.123456789Z (0 when there is none)."""
    from datetime import datetime, timezone
    try:
        when = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
        return int(when.replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        return 0


def _first_line(exc) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " ".join(str(text).split()) or type(exc).__name__


# --- resource use from the container's cgroups ---------------------------------


class _Cgroups:
    """Reads cpu time and peak memory of a container from its cgroups
    (v1 or v2), found through its init process.  Docker keeps no numbers
    after a container exits, so the worker samples while it runs."""

    def __init__(self, pid: int):
        self.memory = self.cpu = self.unified = None
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for line in lines:
            _, controllers, path = line.split(":", 2)
            names = controllers.split(",")
            if "memory" in names:
                self.memory = f"/sys/fs/cgroup/memory{path}"
            if "cpuacct" in names:
                self.cpu = f"/sys/fs/cgroup/{controllers}{path}"
            if controllers == "":
                self.unified = f"/sys/fs/cgroup{path}"

    @staticmethod
    def _read(path: str) -> str | None:
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None

    def sample(self, usage: Usage) -> None:
        if self.memory:
            text = self._read(f"{self.memory}/memory.max_usage_in_bytes")
            if text:
                usage.peak_memory = max(usage.peak_memory, int(text))
        elif self.unified:
            text = self._read(f"{self.unified}/memory.peak") or self._read(f"{self.unified}/memory.current")
            if text:
                usage.peak_memory = max(usage.peak_memory, int(text))
        if self.cpu:
            user = self._read(f"{self.cpu}/cpuacct.usage_user")
            system = self._read(f"{self.cpu}/cpuacct.usage_sys")
            if user and system:
                usage.cpu_user, usage.cpu_system = int(user), int(system)
                return
            stat = self._read(f"{self.cpu}/cpuacct.stat")
            if stat:
                fields = dict(line.split() for line in stat.splitlines() if line.strip())
                tick = 10**9 // os.sysconf("SC_CLK_TCK")
                usage.cpu_user = int(fields.get("user", 0)) * tick
                usage.cpu_system = int(fields.get("system", 0)) * tick
        elif self.unified:
            stat = self._read(f"{self.unified}/cpu.stat")
            if stat:
                fields = dict(line.split() for line in stat.splitlines() if line.strip())
                usage.cpu_user = int(fields.get("user_usec", 0)) * 1000
                usage.cpu_system = int(fields.get("system_usec", 0)) * 1000


# --- containers ------------------------------------------------------------------


class DockerProcess(Process):
    def __init__(self, api, container: str, pid: int | None = None):
        self.api = api
        self.container = container
        self.ident = f"container {container[:12]}"
        self._usage = Usage()
        self._cgroups = _Cgroups(pid) if pid else None
        self._killed = False  # by kill(): its SIGKILL is no OOM to look for

    @property
    def usage(self) -> Usage:
        return self._usage

    def sample(self) -> None:
        if self._cgroups is None:
            try:
                pid = self.api.inspect_container(self.container)["State"].get("Pid")
            except Exception:
                return
            if not pid:
                return
            self._cgroups = _Cgroups(pid)
        self._cgroups.sample(self._usage)

    def wait(self) -> Exit:
        import docker.errors
        try:
            code = self.api.wait(self.container, timeout=None)["StatusCode"]
            if code == 0:
                return Exit(0)  # whether something was killed for memory no longer matters
            state = self.api.inspect_container(self.container)["State"]
            oom = bool(state.get("OOMKilled")) or (
                code == 137 and not self._killed and self._oom_event(state))
        except docker.errors.NotFound:
            return Exit(None, message="The container disappeared")
        return Exit(code, oom=oom)

    def _oom_event(self, state: dict) -> bool:
        """Whether the engine reported an OOM kill in this container.
        Docker 20.10 marks `OOMKilled` only when the kernel's OOM event
        reaches it before the exit; when the exit comes first (a few runs
        in a hundred, more under load) the mark stays false for good, but
        the `oom` event is still logged, sometimes a moment later."""
        since = _unix_seconds(state.get("StartedAt") or "") - 1
        for attempt in range(OOM_RECHECKS):
            if attempt:
                time.sleep(0.1)
            events = self.api.events(since=since, until=f"{time.time():.3f}", decode=True,
                                     filters={"container": self.container, "event": "oom"})
            try:
                if any(True for _ in events):
                    return True
            finally:
                events.close()
        return False

    def handle(self) -> dict:
        return {"container": self.container}

    def kill(self) -> None:
        import docker.errors
        self._killed = True
        try:
            self.api.kill(self.container)
        except docker.errors.APIError:
            pass  # already stopped

    def remove(self) -> None:
        import docker.errors
        try:
            self.api.remove_container(self.container, force=True)
        except docker.errors.APIError:
            pass


class DockerExecutor(Executor):
    name = "docker"
    remedy = "start dockerd"
    enforces = frozenset({"time", "disk", "memory"})

    @classmethod
    def problem(cls, config=None) -> str | None:
        problem = engine_problem()
        return None if problem is None else f"no Docker Engine answers ({problem})"

    def __init__(self, pool: int = 16):
        import docker
        try:
            self.client = docker.from_env(max_pool_size=pool)
            self.api = self.client.api
            self.api.ping()
        except Exception as exc:
            raise RunError(f"no Docker Engine answers: {_first_line(exc)}") from None
        self._images: dict[str, dict] = {}

    def close(self) -> None:
        self.client.close()

    def capacity(self):
        """The engine's CPUs and memory (Docker refuses a container asking
        for more CPUs than it has) and this host's NVIDIA GPUs."""
        import docker.errors
        from cl.runs.capacity import Capacity, host_capacity
        here = host_capacity()
        try:
            info = self.api.info()
        except docker.errors.DockerException as exc:
            raise RunError(f"the Docker Engine does not say what it has: {_first_line(exc)}") from None
        cpus, memory = info.get("NCPU"), info.get("MemTotal")
        return Capacity(cpus if isinstance(cpus, int) and cpus > 0 else here.cpus, here.gpus,
                        memory if isinstance(memory, int) and memory > 0 else here.memory)

    # --- images --------------------------------------------------------------------

    def image(self, name: str | None, progress) -> dict:
        import docker.errors
        if not name:
            raise RunError("No image requested and no default image configured (run.image)")
        try:
            attrs = self.api.inspect_image(name)
        except docker.errors.ImageNotFound:
            self._pull(name, progress)
            try:
                attrs = self.api.inspect_image(name)
            except docker.errors.ImageNotFound:
                raise RunError(f"Image '{name}' is not available after pulling it") from None
        except docker.errors.APIError as exc:
            raise RunError(f"Image '{name}': {_first_line(exc)}") from None
        digests = attrs.get("RepoDigests") or []
        image = {"name": name, "id": attrs["Id"]}
        if digests:  # an image never pulled from a registry (built, imported, loaded) has none
            image["digest"] = digests[0]
        return image

    def _pull(self, name: str, progress) -> None:
        import docker.errors
        layers: dict[str, tuple[int, int]] = {}
        last = 0.0
        progress(f"pulling image {name}")
        try:
            for event in self.api.pull(name, stream=True, decode=True):
                if "error" in event:
                    raise RunError(_missing_image(name, str(event["error"])))
                detail = event.get("progressDetail") or {}
                if event.get("id") and detail.get("total"):
                    layers[event["id"]] = (detail.get("current", 0), detail["total"])
                now = time.monotonic()
                if layers and now - last > 0.5:
                    done = sum(c for c, _ in layers.values())
                    total = sum(t for _, t in layers.values())
                    progress(f"pulling image {name}: {done >> 20} of {total >> 20} MiB")
                    last = now
        except docker.errors.APIError as exc:
            raise RunError(_missing_image(name, _first_line(exc))) from None

    # --- running ---------------------------------------------------------------------

    def start(self, plan: RunPlan) -> DockerProcess:
        import docker.errors
        from docker.types import DeviceRequest, Mount
        mounts = [Mount(target=WORKDIR, source=plan.run_dir, type="bind")]
        mounts += [Mount(target=f"{WORKDIR}/{m.key}", source=m.source, type="bind", read_only=True)
                   for m in plan.mounts if m.kind != "link"]
        host = {"mounts": mounts, "network_mode": "bridge" if plan.network else "none",
                "security_opt": ["no-new-privileges"], "cap_drop": ["ALL"]}
        if plan.memory:
            host["mem_limit"] = plan.memory
            host["memswap_limit"] = plan.memory
        if plan.cpus:
            host["nano_cpus"] = plan.cpus * 10**9
        if plan.cpuset:
            host["cpuset_cpus"] = plan.cpuset
        if plan.gpus:
            if plan.gpuset:
                ids = plan.gpuset.split(",")[:plan.gpus]
                host["device_requests"] = [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]
            else:
                host["device_requests"] = [DeviceRequest(count=plan.gpus, capabilities=[["gpu"]])]
        try:
            created = self.api.create_container(
                image=plan.image.get("id") or plan.image.get("name"),
                command=["/bin/sh", "-c", WRAPPER, "cl-run", plan.command],
                working_dir=WORKDIR, environment={"HOME": WORKDIR}, user=f"{plan.uid}:{plan.gid}",
                labels={LABEL_BUNDLE: plan.bundle, LABEL_REPO: plan.repo_root,
                        LABEL_WORKER: plan.worker},
                stdin_open=True,  # docker-py adds StdinOnce
                host_config=self.api.create_host_config(**host), detach=True)
        except docker.errors.APIError as exc:
            raise RunError(f"The container could not be created: {_first_line(exc)}") from None
        cid = created["Id"]
        # The engine sets its OOM watcher on the container's cgroup while
        # `start` runs, after the process began: a command that fills its
        # memory at once could be killed unseen and end as a bare "Exit
        # code 137".  So the wrapper waits for a line on stdin, sent once
        # `start` has returned.  Should this worker die first, its attach
        # connection closes, the engine closes stdin, and the run goes on.
        try:
            gate = self.api.attach_socket(cid, params={"stdin": 1, "stream": 1})
        except docker.errors.APIError as exc:
            self._remove(cid)
            raise RunError(f"The container could not be attached: {_first_line(exc)}") from None
        gate = getattr(gate, "_sock", gate)  # the socket under docker-py's SocketIO
        try:
            self.api.start(cid)
            gate.sendall(b"\n")
        except (docker.errors.APIError, OSError) as exc:
            self._remove(cid)
            raise RunError(f"The container could not start: {_first_line(exc)}") from None
        finally:
            with contextlib.suppress(OSError):  # the engine may have closed its end already
                gate.shutdown(socket.SHUT_RDWR)
            gate.close()
        return DockerProcess(self.api, cid)

    def _remove(self, cid: str) -> None:
        DockerProcess(self.api, cid).remove()

    # --- recovery ----------------------------------------------------------------------

    def _by_label(self, *labels: str) -> list[dict]:
        return self.api.containers(all=True, filters={"label": list(labels)})

    def recover(self, bid: str, claim: dict, repo_root: str) -> DockerProcess | None:
        found = self._by_label(f"{LABEL_BUNDLE}={bid}", f"{LABEL_REPO}={repo_root}")
        for c in found:
            if claim.get("container") in (None, c["Id"]) or len(found) == 1:
                return DockerProcess(self.api, c["Id"])
        return None

    def leftovers(self, repo_root: str) -> dict[str, DockerProcess]:
        out = {}
        for c in self._by_label(f"{LABEL_REPO}={repo_root}"):
            bid = (c.get("Labels") or {}).get(LABEL_BUNDLE)
            if bid:
                out[bid] = DockerProcess(self.api, c["Id"])
        return out


def _missing_image(name: str, why: str) -> str:
    """One line: the image is not here, pulling it failed, and the two ways
    to get it (from a registry, or offline from a file `docker save` made)."""
    return (f"image '{name}' is not present locally and could not be pulled "
            f"({' '.join(why.split())}): run 'docker pull {name}', or offline "
            f"'docker load -i FILE' with a file 'docker save {name}' made elsewhere")
