"""The executors by name: one line each ("name": "module:Class"), imported
only when chosen, as commands are in cl/cli/main.py.  Adding an executor is
a module (a subclass of cl.runs.executor.Executor that passes
tests/runs/test_executor_contract.py) and a line here.

`auto` is not an executor but a choice: Docker when an engine answers, else
local with a note saying why.  This module imports nothing heavy: `cl run`
and the CLI's option lists read it."""

import importlib

from cl.errors import InputError

# name -> "module:Class"; imported only when chosen.
EXECUTORS = {
    "docker": "cl.runs.docker_executor:DockerExecutor",
    "local": "cl.runs.local_executor:LocalExecutor",
    "local-unsafe": "cl.runs.local_executor:UnsafeLocalExecutor",
    "slurm": "cl.runs.slurm_executor:SlurmExecutor",
}
CHOICES = ("auto", *EXECUTORS)
AUTO_FIRST, AUTO_FALLBACK = "docker", "local"


class UnknownExecutor(InputError):
    def __init__(self, name: str):
        super().__init__(f"unknown executor '{name}' (choose from {', '.join(CHOICES)})")


def executor_class(name: str) -> type:
    """The class of the executor named `name` (importing its module)."""
    target = EXECUTORS.get(name)
    if target is None:
        raise UnknownExecutor(name)
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def sweeps(repo) -> list:
    """The sweepers of every executor that keeps files of this repository's
    runs outside it (Executor.sweeper), for `cl gc` to call under its lock."""
    classes = dict.fromkeys(executor_class(name) for name in EXECUTORS)  # one per class
    return [sweep for cls in classes if (sweep := cls.sweeper(repo)) is not None]


def choose(choice: str, config=None) -> tuple[str, str]:
    """The executor a choice names, and a note for the user: `auto` is
    Docker when an engine answers, else local with a note saying why."""
    if choice != "auto":
        executor_class(choice)
        return choice, ""
    problem = executor_class(AUTO_FIRST).problem(config)
    if problem is None:
        return AUTO_FIRST, ""
    return AUTO_FALLBACK, f"{problem}; runs use the {AUTO_FALLBACK} executor"


