"""What an executor is: a narrow interface with two implementations,
`docker` (cl/runs/docker_executor.py, the only module that imports the
Docker SDK) and `local` (cl/runs/local_executor.py, a plain process in its
own mount namespace).

An executor starts a run described by a `RunPlan` and hands back a
`Process`; a worker waits on it, samples its resource use, kills it, and
finally removes it.  After a worker died, `recover` finds what is left of
a run (a container by its labels, a process by its pid) so the next worker
can finish or fail it."""

from dataclasses import dataclass, field

from cl.runs.layout import Mount


@dataclass(frozen=True)
class RunPlan:
    bundle: str
    repo_root: str
    worker: str
    command: str
    run_dir: str
    mounts: tuple[Mount, ...] = ()
    image: dict = field(default_factory=dict)   # name, id, digest (docker)
    memory: int | None = None
    cpus: int | None = None
    gpus: int | None = None
    network: bool = False
    cpuset: str | None = None
    gpuset: str | None = None
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Exit:
    """How a process ended: its exit code (None when unknown) and whether
    the kernel killed it for memory."""

    code: int | None
    oom: bool = False
    message: str | None = None


@dataclass
class Usage:
    cpu_user: int = 0      # ns
    cpu_system: int = 0    # ns
    peak_memory: int = 0   # bytes


class Process:
    """A started run."""

    ident: str = ""        # container id or pid, for the claim and `cl workers`
    pid: int | None = None
    pid_start: int | None = None
    container: str | None = None

    def wait(self) -> Exit:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def sample(self) -> None:
        """Update `usage` from the live process (cheap; called often)."""

    @property
    def usage(self) -> Usage:
        raise NotImplementedError

    def remove(self) -> None:
        """Forget the process (remove the container); after the result is saved."""


class Gone(Process):
    """Stands for the process of a run whose worker died and left nothing
    to watch: it has already ended, with `message` as the reason."""

    ident = "nothing"

    def __init__(self, message: str):
        self.message = message
        self._usage = Usage()

    def wait(self) -> Exit:
        return Exit(None, message=self.message)

    def kill(self) -> None:
        pass

    @property
    def usage(self) -> Usage:
        return self._usage


class Executor:
    name = ""
    note = ""              # one line on how it runs, e.g. why local was chosen

    def image(self, name: str | None, progress) -> dict:
        """Resolve (pulling if absent) the image a run asked for: name, id, digest."""
        return {}

    def start(self, plan: RunPlan) -> Process:
        raise NotImplementedError

    def recover(self, bid: str, claim: dict, repo_root: str) -> Process | None:
        """What is left of a run whose worker died, or None."""
        return None

    def leftovers(self, repo_root: str) -> dict[str, Process]:
        """Processes of runs of this repository, by bundle id (containers
        found by label), whoever started them."""
        return {}

    def close(self) -> None:
        pass


def make_executor(choice: str) -> Executor:
    """`docker`, `local`, or `auto`: Docker when an engine answers, else
    local with a note saying why (the caller shows it as a warning)."""
    from cl.runs import docker_executor
    from cl.runs.local_executor import LocalExecutor, UnsafeLocalExecutor
    if choice == "local":
        return LocalExecutor()
    if choice == "local-unsafe":
        return UnsafeLocalExecutor()
    if choice == "docker":
        return docker_executor.DockerExecutor()
    if choice != "auto":
        raise ValueError(choice)
    problem = docker_executor.engine_problem()
    if problem is None:
        try:
            return docker_executor.DockerExecutor()
        except Exception as exc:  # the engine stopped answering in between
            problem = str(exc).splitlines()[0]
    executor = LocalExecutor()
    executor.note = f"no Docker Engine answers ({problem}); runs use the local executor"
    return executor
