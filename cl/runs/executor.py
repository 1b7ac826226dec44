"""What an executor is: the interface every executor implements.

An executor starts a run described by a `RunPlan` and hands back a
`Process`; a worker waits on it, samples its resource use, kills it, and
finally removes it.  A process describes itself by a `handle()`: a small
JSON-able dict that the worker stores in the run's claim without looking
inside (a container id, a pid, a Slurm job id).  After a worker died, the
next one hands that handle back to `recover` to find what is left of the
run, so it can finish it (or, where `reattach` is False, stop it and fail
it with its output kept).

Executors are looked up by name in cl/runs/registry.py; `make_executor`
makes one.  Each must pass tests/runs/test_executor_contract.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from cl.runs.paths import run_dir
from cl.runs.registry import AUTO_FALLBACK, AUTO_FIRST, choose, executor_class

if TYPE_CHECKING:
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
    time: int | None = None       # seconds; the worker enforces it too
    queue: str | None = None      # --request-queue (a partition, for batch executors)
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Exit:
    """How a process ended: its exit code (None when unknown), whether
    the kernel killed it for memory, and `killed` when the executor's own
    scheduler ended it (a batch system's time limit), saying why."""

    code: int | None
    oom: bool = False
    message: str | None = None
    killed: str | None = None


@dataclass
class Usage:
    cpu_user: int = 0      # ns
    cpu_system: int = 0    # ns
    peak_memory: int = 0   # bytes


class Process:
    """A started run."""

    ident: str = ""        # "container 3f2a…", "pid 123", "Slurm job 42": for people

    def handle(self) -> dict:
        """What finds this process again after the worker died (JSON-able)."""
        return {}

    # Set by whoever waits on `waiting()`; a process that sets it when its
    # state changes says so with `notifies`, and is then not polled.
    on_change = None       # threading.Event | None
    notifies = False

    def waiting(self) -> str | None:
        """None once the run runs (or ended); while it waits for the
        executor's resources (a queued batch job), why."""
        return None

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
    reattach = True        # a recovered process can be waited for to its real end
    routes_queues = False  # --request-queue goes to the executor, not to worker tags
    # limits a run cannot exceed: the worker enforces time and disk for all;
    # an executor that also enforces memory (a cgroup) adds "memory"
    enforces = frozenset({"time", "disk"})
    remedy = ""            # what a user can do when `problem()` says no

    @classmethod
    def create(cls, config=None) -> "Executor":
        """A new executor; `config` is the repository's Config, when there is one."""
        return cls()

    @classmethod
    def problem(cls, config=None) -> str | None:
        """Why this executor cannot start here now, cheaply (no SDK import),
        or None.  `config` is the repository's Config, when there is one."""
        return None

    @classmethod
    def sweeper(cls, repo) -> Callable[[set[str], bool], int] | None:
        """What `cl gc` calls to remove what this executor keeps of the
        repository's runs outside `.codalab/` that no run needs any more, or
        None when it keeps nothing there.  gc calls it holding the gc lock
        (so no worker is staging dependencies) with the names of the
        checkouts claimed runs may use and whether it is a dry run; it
        returns how many entries it removed (or would)."""
        return None

    def image(self, name: str | None, progress) -> dict:
        """Resolve (pulling if absent) the image a run asked for: name, id, digest."""
        return {}

    def capacity(self):
        """The most one run can get from this executor (a
        cl.runs.capacity.Capacity: cpus, gpus, memory), or None when the
        executor decides itself (a batch system queues what it cannot run
        yet).  A worker never takes a run asking for more; see capacity.py."""
        return None

    def run_dir(self, repo, bid: str) -> str:
        """Where the run's directory is made (the default: .codalab/runs/<id>)."""
        return run_dir(repo, bid)

    def stage(self, repo, mounts: tuple[Mount, ...]) -> tuple[Mount, ...]:
        """Put the dependencies where the run will see them (the default:
        where they are, the repository's shared checkouts)."""
        return mounts

    def start(self, plan: RunPlan) -> Process:
        raise NotImplementedError

    def recover(self, bid: str, handle: dict, repo_root: str) -> Process | None:
        """What is left of a run whose worker died (`handle` is what its
        process's `handle()` said), or None."""
        return None

    def leftovers(self, repo_root: str) -> dict[str, Process]:
        """Processes of runs of this repository, by bundle id (containers
        found by label), whoever started them."""
        return {}

    def close(self) -> None:
        pass


def make_executor(choice: str, config=None) -> Executor:
    """The executor named `choice` (a key of EXECUTORS, or `auto`), ready
    to start runs; its `note` says why `auto` fell back, if it did."""
    name, note = choose(choice, config)
    cls = executor_class(name)
    if choice == "auto" and name == AUTO_FIRST:
        try:
            return cls.create(config)
        except Exception as exc:  # the engine stopped answering in between
            first = str(getattr(exc, "message", "") or exc).splitlines()[0]
            name, note = AUTO_FALLBACK, f"{first}; runs use the {AUTO_FALLBACK} executor"
            cls = executor_class(name)
    executor = cls.create(config)
    if note:
        executor.note = note
    return executor
