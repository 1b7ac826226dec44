"""cl: git for experiments.

Bundles, runs, provenance and worksheets stored as content-addressed objects
in a `.codalab` directory.  See docs/design.md for the layers.

This is also the Python API (docs/api.md):

    import cl
    repo = cl.open()                       # or cl.init(path), cl.clone(url, path)
    data = repo.upload("a.txt")
    run = repo.run("wc -l input > output", deps={"input": data}).wait()
    print(run.read_text("output"))

`import cl` loads nothing else: the API (cl/api) is imported on first use,
so the `cl` command, which starts by importing this package, pays nothing."""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from cl.api import Bundle, Graph, Item, Repository, Run, Table, Worksheet
    from cl.errors import (Conflict, CLError, DependencyError, InputError, NotARepository, ObjectMissing,
                           SpecError, UsageError)
    from cl.runs.follow import WaitTimeout

__all__ = ["Bundle", "CLError", "Conflict", "DependencyError", "Graph", "InputError", "Item", "NotARepository",
           "ObjectMissing", "Repository", "Run", "SpecError", "Table", "UsageError", "WaitTimeout", "Worksheet",
           "clone", "init", "open"]

_API = {"Bundle", "Graph", "Item", "Repository", "Run", "Table", "Worksheet"}
_ERRORS = {"CLError", "Conflict", "DependencyError", "InputError", "NotARepository", "ObjectMissing",
           "SpecError", "UsageError"}


def init(path: str | os.PathLike[str] = ".", bare: bool = False, worksheet: str | None = None) -> Repository:
    """Create a repository in `path` (made if missing) and open it."""
    from cl.api.repository import init as init_repository
    return init_repository(path, bare=bare, worksheet=worksheet)


def open(path: str | os.PathLike[str] | None = None) -> Repository:  # noqa: A001 -- the API's name
    """The repository holding `path` (default: the working directory),
    looking in parent directories as the `cl` command does."""
    from cl.api.repository import open as open_repository
    return open_repository(path)


def clone(url: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
          settings: Mapping[str, str] | None = None) -> Repository:
    """Copy the repository at `url` into `path`, with `origin` set to it;
    `settings` ("table.key": value) go into its config first."""
    from cl.api.repository import clone as clone_repository
    return clone_repository(url, path, settings)


def __getattr__(name: str) -> object:
    """The API's classes and the CLError hierarchy, imported on first use."""
    if name in _API:
        import cl.api
        return getattr(cl.api, name)
    if name in _ERRORS:
        import cl.errors
        return getattr(cl.errors, name)
    if name == "WaitTimeout":
        from cl.runs.follow import WaitTimeout
        return WaitTimeout
    raise AttributeError(f"module 'cl' has no attribute '{name}'")
