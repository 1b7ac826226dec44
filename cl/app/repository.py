"""Opening and creating repositories, `cl status` and `cl config`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cl.errors import InputError, UsageError
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Initialized, Status
    from cl.config import Config

__all__ = ["Repository", "open_repository", "init", "status", "config_data", "config_text", "config_get",
           "config_set", "config_lookup", "config_list"]


def open_repository(start: str | None = None) -> Repository:
    """The repository holding `start` (default: the working directory),
    walking up as git does; NotARepository if there is none."""
    return Repository.find(start)


def init(directory: str, bare: bool = False, worksheet: str | None = None) -> tuple[Repository, Initialized]:
    """Create a repository in `directory` (made if missing); the open
    repository and what was made."""
    from cl.app.records import Initialized
    try:
        os.makedirs(directory, exist_ok=True)
        repo = Repository.init(directory, bare=bare, worksheet=worksheet)
    except OSError as exc:
        raise InputError(f"cannot create a repository in '{directory}': {exc.strerror or exc}") from None
    wid = repo.current_worksheet()
    ws = repo.index.worksheet(wid) if wid else None
    return repo, Initialized(repository=repo.root, worksheet=ws["name"] if ws else None)


def status(repo: Repository) -> Status:
    """Where the repository is, its current worksheet and what it holds."""
    from cl.app.records import Status
    objects = total = 0
    for stored in repo.store.stored():  # one listing with sizes, whatever the store's layout
        objects += 1
        total += stored.size
    wid = repo.current_worksheet()
    ws = repo.index.worksheet(wid) if wid else None
    return Status(repository=repo.root, worksheet=ws["name"] if ws else None,
                  bundles=repo.index.counts_by_state(), objects=objects, bytes=total)


def _settings(repo: Repository | None, user_wide: bool) -> Config:
    """The config a `cl config` call reads and writes: the repository's
    (with the user's file and the environment under and over it), or the
    user's own file (`--global`, no repository needed)."""
    from cl.config import Config
    if user_wide:
        return Config.user_wide()
    if repo is None:
        raise UsageError("no repository given for its configuration")
    return repo.config


def config_data(repo: Repository | None, user_wide: bool = False) -> dict[str, Any]:
    """The whole of one config file, table by table."""
    return dict(_settings(repo, user_wide).data)


def config_text(repo: Repository | None, user_wide: bool = False) -> str:
    """One config file as text."""
    from cl.config import dumps
    return dumps(_settings(repo, user_wide).data)


def config_lookup(repo: Repository | None, key: str, user_wide: bool = False) -> tuple[Any, str]:
    """(value, where it comes from) of a known setting: an environment
    variable, a file, or "default"; InputError with a did-you-mean for an
    unknown key."""
    from cl.config import known
    known(key)
    table, _, name = key.rpartition(".")
    return _settings(repo, user_wide).lookup(table, name)


def config_get(repo: Repository | None, key: str, user_wide: bool = False) -> Any:
    """The value of a known setting (its default when unset), or None."""
    return config_lookup(repo, key, user_wide)[0]


def config_set(repo: Repository | None, key: str, value: str, user_wide: bool = False) -> Any:
    """Set a known setting from its text, checked against its type (see
    cl/config.py SETTINGS); returns the value stored."""
    settings = _settings(repo, user_wide)
    table, _, name = key.rpartition(".")
    settings.set(table, name, value)
    settings.save()
    node: Any = settings.data
    for part in (*table.split("."), name) if table else (name,):
        node = node[part]
    return node


def config_list(repo: Repository | None, user_wide: bool = False) -> list[dict[str, str]]:
    """Every setting: key, value, origin, type and help (`cl config --list`)."""
    return [dict(zip(("key", "value", "origin", "type", "help"), row))
            for row in _settings(repo, user_wide).listing()]


def index_damage(exc: BaseException):
    """IndexDamaged when `exc` is SQLite saying repo.db is damaged (for the
    front ends' last resort: a cursor read row by row); else None."""
    from cl.errors import IndexDamaged
    from cl.refs.db import damage
    problem = damage(exc)
    return IndexDamaged("repo.db", problem) if problem else None


def config_display(value: Any) -> str:
    """A setting's value as `cl config KEY` prints it (booleans as TOML writes them)."""
    from cl.config import display
    return display(value)


def config_remove(repo: Repository | None, key: str, user_wide: bool = False) -> Any:
    """Unset a setting in one config file (`cl config -r`); returns the
    value it had there.  UsageError when that file does not set it."""
    from cl.config import known
    known(key)
    settings = _settings(repo, user_wide)
    table, _, name = key.rpartition(".")
    node: Any = settings.data
    for part in table.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    old = node.get(name) if isinstance(node, dict) else None
    if old is None:
        raise UsageError(f"config '{key}' is not set")
    settings.set(table, name, None)
    settings.save()
    return old
