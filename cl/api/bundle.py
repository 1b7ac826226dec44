"""`cl.Bundle` and `cl.Run`: handles on one bundle of an open repository."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

from cl.app import bundles as app_bundles
from cl.app import runs as app_runs
from cl.app import worksheets as app_ws

if TYPE_CHECKING:
    from cl.app.repository import Repository as _Repo

# the fields a bundle shows in a notebook, in this order
SHOWN = ("id", "name", "kind", "state", "description", "tags", "created", "command", "data_size")


class Bundle:
    """A bundle: its id, and its metadata, state and files read on demand."""

    def __init__(self, repo: _Repo, bid: str) -> None:
        self._repo = repo
        self.hex = bid

    @property
    def id(self) -> str:
        """`0x` and the 64 hex digits of the bundle's id."""
        return "0x" + self.hex

    def info(self, verbose: bool = False) -> dict[str, Any]:
        """The bundle's record (the shape of `cl info --json`)."""
        [record] = app_bundles.info(self._repo, [self.id], verbose)
        return record

    @property
    def name(self) -> str:
        """The bundle's name now."""
        return str(app_bundles.metadata(self._repo, self.hex).get("name", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        """Name, description, tags and the rest of the metadata, now."""
        return app_bundles.metadata(self._repo, self.hex)

    @property
    def kind(self) -> str:
        """dataset, program, make or run."""
        return app_bundles.kind(self._repo, self.hex) or ""

    @property
    def state(self) -> str:
        """The state now: created, staged, running, ready, failed, killed, …"""
        return app_runs.state(self._repo, self.hex)

    def open(self, path: str = "") -> IO[bytes]:
        """A binary file object for a file of the bundle (`""`: the bundle
        itself, when it is one file)."""
        return app_bundles.open_file(self._repo, self.hex, path)

    def read_bytes(self, path: str = "") -> bytes:
        """The bytes of a file of the bundle."""
        with self.open(path) as f:
            return f.read()

    def read_text(self, path: str = "", encoding: str = "utf-8") -> str:
        """The text of a file of the bundle (UnicodeDecodeError if it is not text)."""
        return self.read_bytes(path).decode(encoding)

    def download(self, dest: str | os.PathLike[str], force: bool = False) -> str:
        """Copy the bundle's files to `dest` (writable copies); the absolute path."""
        return app_bundles.download(self._repo, self.id, os.fspath(dest), force)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bundle) and other.hex == self.hex

    def __hash__(self) -> int:
        return hash(self.hex)

    def __repr__(self) -> str:
        return f"<cl.{type(self).__name__} {self.name} 0x{self.hex[:8]}>"

    def _repr_html_(self) -> str:
        record = self.info()
        return app_ws.record_html(self.hex, str(record["name"]),
                                  [(k, record[k]) for k in SHOWN if record.get(k) not in (None, "", [])])


class Run(Bundle):
    """A run: a bundle whose contents a worker makes by running a command."""

    def __init__(self, repo: _Repo, bid: str, reused: bool = False, note: str | None = None) -> None:
        super().__init__(repo, bid)
        self.reused = reused   # memoize found an identical finished run
        self.note = note       # what waking the worker had to say (e.g. the local executor was chosen)

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run has ended (ready, failed or killed) and return
        it; WaitTimeout (a CLError) after `timeout` seconds."""
        app_runs.follow(self._repo, self.hex, timeout=timeout)
        return self

    def kill(self) -> None:
        """Kill the run (queued: at once; running: through its worker, which
        keeps its partial output)."""
        for _ in app_runs.kill(self._repo, [self.id]):
            pass

    @property
    def failure(self) -> str | None:
        """None if the run ended ready (or has not ended); otherwise how it ended."""
        waited = app_runs.waited(self._repo, self.hex, self._repo.head_state(self.hex)[1])
        return waited.failure if waited.state in ("failed", "killed") else None


def handle(repo: _Repo, bid: str) -> Bundle:
    """The handle of a bundle: a Run for a run, a Bundle otherwise."""
    return Run(repo, bid) if app_bundles.kind(repo, bid) == "run" else Bundle(repo, bid)
