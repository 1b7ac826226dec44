"""Opening and creating repositories, `cl status` and `cl config`."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from cl.errors import InputError, UsageError
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Initialized, Status

__all__ = ["Repository", "open_repository", "init", "status", "config_data", "config_text", "config_get",
           "config_set"]


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
    from cl.errors import ObjectMissing
    objects = total = 0
    for oid in repo.store.ids():
        try:
            total += repo.store.size(oid)
        except ObjectMissing:  # deleted by a gc meanwhile: no longer held
            continue
        objects += 1
    wid = repo.current_worksheet()
    ws = repo.index.worksheet(wid) if wid else None
    return Status(repository=repo.root, worksheet=ws["name"] if ws else None,
                  bundles=repo.index.counts_by_state(), objects=objects, bytes=total)


def config_data(repo: Repository) -> dict[str, Any]:
    """The whole configuration, table by table."""
    return dict(repo.config.data)


def config_text(repo: Repository) -> str:
    """config.toml as text."""
    from cl.config import dumps
    return dumps(repo.config.data)


_KEY = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+\Z")


def _split_key(key: str) -> tuple[str, str]:
    if "." not in key:
        raise UsageError(f"config keys look like 'table.key': '{key}'")
    if not _KEY.match(key):
        raise UsageError(f"invalid config key: '{key}' (words of letters, digits, '_' and '-', joined by '.')")
    table, name = key.rsplit(".", 1)
    return table, name


def _check_tables(repo: Repository, table: str) -> None:
    """Every part of `table` that is set must be a table, not a value."""
    node: Any = repo.config.data
    for depth, part in enumerate(table.split("."), 1):
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
        if not isinstance(node, dict):
            prefix = ".".join(table.split(".")[:depth])
            raise UsageError(f"config '{prefix}' is a value, not a table")


def config_get(repo: Repository, key: str) -> Any:
    """The value of `table.key`, or None when it is not set."""
    table, name = _split_key(key)
    _check_tables(repo, table)
    return repo.config.get(table, name)


def config_remove(repo: Repository, key: str) -> Any:
    """Unset `table.key` (`cl config -r`); returns the value it had."""
    table, name = _split_key(key)
    _check_tables(repo, table)
    old = repo.config.table(table).get(name)
    if old is None:
        raise UsageError(f"config '{key}' is not set")
    if isinstance(old, dict):
        raise UsageError(f"config '{key}' is a table, not a value")
    repo.config.set(table, name, None)
    repo.config.save()
    return old


def config_set(repo: Repository, key: str, value: str) -> Any:
    """Set `table.key` from its text (true/false and digits are typed);
    returns the value stored."""
    table, name = _split_key(key)
    _check_tables(repo, table)
    parsed: Any = {"true": True, "false": False}.get(value.lower(), value)
    if isinstance(parsed, str) and parsed.isdigit():
        parsed = int(parsed)
    repo.config.set(table, name, parsed)
    repo.config.save()
    return parsed
