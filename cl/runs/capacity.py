"""What a worker can give one run — CPUs, GPUs, memory — and why no live
worker can give a run what it requests.

CodaLab keeps a run whose request no worker can meet `staged`, with a
message saying why, instead of starting it and letting the container fail
(Docker refuses more CPUs than the machine has, or a GPU it has not) or
leaving it queued without a word.  A worker registers its capacity (its
executor's, narrowed by `--cpuset`/`--gpuset`); it never takes a run that
exceeds it, and when no live worker could take it either, it records the
message in the index (cl/index/runs.py `set_unmet`), where `cl info` and
`cl wait` read it.

A capacity field that is None is unknown and limits nothing: an executor
that decides for itself (a batch system) reports no capacity at all."""

from __future__ import annotations

import os
import re
from typing import Iterable

from cl.objects.value import Value, _set

RESOURCES = ("cpus", "gpus", "memory")


class Capacity(Value):
    """The most one run can get from a worker (None: unknown, no limit)."""

    __slots__ = RESOURCES

    def __init__(self, cpus: int | None = None, gpus: int | None = None, memory: int | None = None):
        _set(self, "cpus", cpus)
        _set(self, "gpus", gpus)
        _set(self, "memory", memory)

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in RESOURCES if getattr(self, name) is not None}

    @classmethod
    def from_json(cls, data: dict | None) -> "Capacity | None":
        if not isinstance(data, dict):
            return None
        return cls(**{name: int(data[name]) for name in RESOURCES
                      if isinstance(data.get(name), int) and not isinstance(data.get(name), bool)})

    def narrowed(self, cpuset: Iterable | None = None, gpuset: Iterable | None = None) -> "Capacity":
        """This capacity as a worker limited to `cpuset`/`gpuset` sees it."""
        cpus, gpus = self.cpus, self.gpus
        if cpuset is not None:
            cpus = len(tuple(cpuset))
        if gpuset is not None:
            gpus = len(tuple(gpuset))
        return Capacity(cpus, gpus, self.memory)


def host_gpus() -> int:
    """The NVIDIA GPUs of this host, as /dev shows them (nvidia0, nvidia1, …)."""
    return sum(1 for name in os.listdir("/dev") if re.fullmatch(r"nvidia[0-9]+", name))


def host_capacity() -> Capacity:
    """This machine (Linux): the CPUs this process may use, its physical
    memory, its GPUs."""
    return Capacity(len(os.sched_getaffinity(0)), host_gpus(),
                    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _wanted(request: dict) -> dict:
    """What a request asks for, resource by resource (a run asks for one CPU
    when it names none; GPUs and memory only when it names them)."""
    wanted = {"cpus": int(request.get("cpus") or 1), "gpus": int(request.get("gpus") or 0)}
    if request.get("memory"):
        wanted["memory"] = int(request["memory"])
    return wanted


def shortfalls(request: dict, capacity: Capacity | None) -> list[str]:
    """The resources of `request` that `capacity` cannot give (none when it
    can run it, or when the capacity is unknown)."""
    if capacity is None:
        return []
    return [name for name, amount in _wanted(request).items()
            if getattr(capacity, name) is not None and amount > getattr(capacity, name)]


def _number(name: str, value: int) -> str:
    if name == "memory":
        from cl.bundles.postproc import size  # CodaLab's sizes: 512m, 23.4g
        return size(value)
    return str(value)


def _amount(name: str, value: int) -> str:
    if name == "memory":
        return f"{_number(name, value)} of memory"
    return f"{value} {'CPU' if name == 'cpus' else 'GPU'}{'' if value == 1 else 's'}"


def describe(capacity: Capacity | None) -> str:
    """A capacity for `cl workers`: `2 CPUs, 0 GPUs, 23.5g`; `-` when the
    executor decides (unknown)."""
    if capacity is None:
        return "-"
    parts = [_amount(name, getattr(capacity, name)) for name in ("cpus", "gpus")
             if getattr(capacity, name) is not None]
    if capacity.memory is not None:
        parts.append(_number("memory", capacity.memory))
    return ", ".join(parts) or "-"


def unmet_reason(request: dict, capacities: list[Capacity | None]) -> str | None:
    """Why none of these workers (their capacities; None: unknown) can run
    a request, or None when one can.  Says what is asked and the most any
    of them has: `no worker can meet its request: 100 GPUs (the most a
    worker here has: 0)`."""
    if not capacities or any(not shortfalls(request, c) for c in capacities):
        return None
    wanted = _wanted(request)
    parts = []
    for name, amount in wanted.items():
        known = [getattr(c, name) for c in capacities if c is not None and getattr(c, name) is not None]
        if known and amount > max(known):
            parts.append(f"{_amount(name, amount)} (the most a worker here has: {_number(name, max(known))})")
    if not parts:  # each resource is somewhere, but never all on one worker
        parts = [" and ".join(_amount(name, amount) for name, amount in wanted.items()) + " on one worker"]
    return "no worker can meet its request: " + ", ".join(parts)
