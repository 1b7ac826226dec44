"""The records the application layer returns: frozen values that a front
end formats, and whose `to_json()` is the documented, stable shape that
`--json` prints and the Python API hands out (docs/api.md, "JSON shapes").

Ids inside are full hex strings; `to_json` shows them as `0x…` text.
(`cl ls` never imports this module: dataclasses costs its start-up.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _hex(oid: str | None) -> str | None:
    return None if oid is None else "0x" + oid


@dataclass(frozen=True)
class Initialized:
    """`cl init`: where the repository is and its first worksheet."""
    repository: str
    worksheet: str | None

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "worksheet": self.worksheet}


@dataclass(frozen=True)
class Status:
    """`cl status`."""
    repository: str
    worksheet: str | None
    bundles: dict[str, int]
    objects: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "worksheet": self.worksheet, "bundles": self.bundles,
                "objects": self.objects, "bytes": self.bytes}


@dataclass(frozen=True)
class Launched:
    """`cl run`: the run, whether an identical finished run was reused
    (`-m`), the worker notice, and why waiting could never end (if so)."""
    id: str
    reused: bool
    started: str | None = None
    blocking: str | None = None


@dataclass(frozen=True)
class Waited:
    """A run followed to its end: its final state and, unless it ended
    `ready`, the one line that says how it ended."""
    id: str
    name: str
    state: str
    failure: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": _hex(self.id), "name": self.name, "state": self.state, "failure": self.failure}


@dataclass(frozen=True)
class Claim:
    """A run a worker holds, and how far it got (stage)."""
    bundle: str
    name: str
    stage: str


@dataclass(frozen=True)
class LiveWorker:
    """`cl workers`: a live worker (the index's row) and the runs it holds."""
    info: dict[str, Any]
    claims: tuple[Claim, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.info, "runs": [c.bundle for c in self.claims]}


@dataclass(frozen=True)
class MimicStep:
    """One line of a mimic plan (`new` is None in a dry run)."""
    old: str
    old_name: str
    name: str
    kind: str
    new: str | None = None
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"old": _hex(self.old), "old_name": self.old_name, "name": self.name, "kind": self.kind,
                "new": _hex(self.new), "reused": self.reused}


@dataclass(frozen=True)
class Mimicked:
    """`cl mimic`, `cl macro`, `cl rerun`: the steps, and the new runs a
    worker must execute."""
    steps: tuple[MimicStep, ...]
    new_runs: tuple[str, ...] = ()

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]


@dataclass(frozen=True)
class RefLine:
    """One ref of a sync report: `worksheet demo: ok`."""
    kind: str
    label: str
    status: str
    rejected: bool

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "status": self.status, "rejected": self.rejected}


@dataclass(frozen=True)
class SyncReport:
    """`cl push`, `cl pull`, `cl clone`: one line per ref and the object counts."""
    remote: str
    lines: tuple[RefLine, ...]
    sent: int = 0
    received: int = 0
    warnings: tuple[str, ...] = ()  # what the remote said about its upkeep (the refs stand)

    @property
    def rejected(self) -> bool:
        return any(line.rejected for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "refs": [line.to_json() for line in self.lines],
                "sent": self.sent, "received": self.received, "rejected": self.rejected,
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Cloned:
    """`cl clone`: where the copy is and how much it holds."""
    url: str
    directory: str
    worksheets: int
    bundles: int

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "directory": self.directory, "worksheets": self.worksheets,
                "bundles": self.bundles}


@dataclass(frozen=True)
class Fsck:
    """`cl fsck`: what was checked and each problem found."""
    objects: int
    bytes: int
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"objects": self.objects, "bytes": self.bytes, "problems": list(self.problems),
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Gc:
    """`cl gc`: what was (or would be) deleted."""
    dry_run: bool
    objects: int
    bytes: int
    tmp: int
    checkouts: int
    swept: int = 0  # staged dependencies and run directories in slurm.shared_dir

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "objects": self.objects, "bytes": self.bytes, "tmp": self.tmp,
                "checkouts": self.checkouts, "swept": self.swept}


@dataclass(frozen=True)
class WorksheetVersion:
    """`cl wlog`: one version of a worksheet."""
    number: int
    commit: str
    time: int
    author: str
    message: str
    name: str
    items: int
    deleted: bool

    def to_json(self) -> dict[str, Any]:
        from cl.index.index import local_time
        return {"version": self.number, "commit": _hex(self.commit), "time": local_time(self.time) or "",
                "author": self.author, "message": self.message, "name": self.name, "items": self.items,
                "deleted": self.deleted}


@dataclass(frozen=True)
class WorksheetRow:
    """`cl wls`: a worksheet, its counts and whether it is the current one."""
    id: str
    name: str
    title: str
    tags: list[str]
    bundles: int
    items: int
    time: int | None
    author: str
    current: bool
    permissions: dict[str, Any] | None = None  # owner, perms, mine: from a server that keeps them

    def to_json(self) -> dict[str, Any]:
        from cl.index.index import local_time
        out = {"id": _hex(self.id), "name": self.name, "title": self.title, "tags": self.tags,
               "bundles": self.bundles, "items": self.items, "updated": local_time(self.time) or "",
               "author": self.author, "current": self.current}
        if self.permissions is not None:
            out["permissions"] = self.permissions
        return out


@dataclass(frozen=True)
class WorksheetSearch:
    """`cl wls`: the worksheets found, or only their count (`.count`)."""
    rows: tuple[WorksheetRow, ...] = ()
    count: int | None = None


@dataclass(frozen=True)
class Removal:
    """`cl rm`: the bundles a removal takes (the domain plan is kept to apply it)."""
    bundles: tuple[str, ...]
    plan: Any = field(default=None, compare=False, repr=False)
