"""Evaluating genpaths on bundles: metadata fields from the index and the
bundle's objects, and values read out of files inside the bundle (or, for
a run still going, its live run directory).

A `Reader` serves one rendering: it loads index rows in batches and caches
trees and results, so a table of a thousand runs reads each object once."""

import json
from dataclasses import dataclass

from cl.bundles.live import open_live
from cl.errors import CLError
from cl.index.index import BundleRow
from cl.objects.trees import split_path
from cl.objects.types import MODE_DIR, MODE_LINK, Bundle, Contents, Result, Tree
from cl.repo import Repository
from cl.bundles import postproc
from cl.worksheets import structured
from cl.worksheets.schemas import Field, Genpath, parse_genpath

MAX_READ = 16 << 20     # never pull more than this into memory for one value
SMALL = 1 << 20         # files up to this size are cached for the page
PREFETCH_THREADS = 8
PREFETCH_MIN = 32       # tables with fewer rows are read in order


@dataclass(frozen=True)
class FileRef:
    """A file or directory inside a bundle: stored contents or a live path."""

    contents: Contents | None = None
    live: tuple | None = None      # (run directory, path parts): opened by cl/bundles/live.py

    def open_live(self):
        return open_live(self.live[0], list(self.live[1]), "run")

    @property
    def is_dir(self) -> bool:
        if self.live is not None:
            try:
                node = self.open_live()
            except CLError:  # gone, or a link, since
                return False
            if node is None:
                return False
            with node:
                return node.is_dir
        return self.contents.mode == MODE_DIR


class Reader:
    def __init__(self, repo: Repository):
        self.repo = repo
        self._rows: dict[str, BundleRow | None] = {}
        self._trees: dict[str, Tree] = {}
        self._results: dict[str, Result] = {}
        self._bundles: dict[str, Bundle] = {}
        self._blobs: dict[str, bytes] = {}

    # --- rows and objects ------------------------------------------------------

    def preload(self, ids) -> None:
        missing = [i for i in dict.fromkeys(ids) if i not in self._rows]
        for row in self.repo.index.bundles(missing):
            self._rows[row.id] = row
        for i in missing:
            self._rows.setdefault(i, None)

    def row(self, bid: str) -> BundleRow | None:
        if bid not in self._rows:
            self._rows[bid] = self.repo.index.bundle(bid, include_deleted=True)
        return self._rows[bid]

    def bundle(self, bid: str) -> Bundle:
        if bid not in self._bundles:
            self._bundles[bid] = self.repo.bundle(bid)
        return self._bundles[bid]

    def result(self, bid: str) -> Result | None:
        row = self.row(bid)
        if row is None or not row.result:
            return None
        if row.result not in self._results:
            self._results[row.result] = self.repo.read(row.result, Result)
        return self._results[row.result]

    def tree(self, oid: str) -> Tree:
        if oid not in self._trees:
            self._trees[oid] = self.repo.read(oid, Tree)
        return self._trees[oid]

    def contents(self, bid: str) -> Contents | None:
        row = self.row(bid)
        if row is None or row.data_deleted:
            return None
        if row.kind != "run":
            return self.bundle(bid).contents
        result = self.result(bid)
        return result.contents if result else None

    # --- files -----------------------------------------------------------------

    def file(self, bid: str, path: str) -> FileRef | None:
        """The file or directory at `path` ('' the whole bundle), or None."""
        try:
            parts = split_path(path)
        except CLError:  # a path that leaves the bundle names nothing in it
            return None
        contents = self.contents(bid)
        row = self.row(bid)
        if contents is None:
            if row is None or row.kind != "run" or row.result:
                return None
            ref = FileRef(live=(self.repo.path("runs", bid), tuple(parts)))
            try:
                node = ref.open_live()
            except CLError:  # missing, or a link (never followed in a live run)
                return None
            if node is None:
                return None
            node.close()
            return ref
        for part in parts:
            if contents.mode != MODE_DIR:
                return None
            entry = self.tree(contents.id).get(part)
            if entry is None:
                return None
            contents = Contents(entry.mode, entry.size, entry.id)
        return FileRef(contents=contents)

    def read(self, ref: FileRef, limit: int = MAX_READ) -> bytes | None:
        """A file's bytes (None for a directory or one too large)."""
        if ref.is_dir:
            return None
        if ref.live is not None:
            try:
                node = ref.open_live()
                if node is None:
                    return None
                with node:
                    if node.is_dir or node.size > limit:
                        return None
                    with node.open() as f:
                        data = f.read(limit + 1)  # it may have grown since
                    return None if len(data) > limit else data
            except CLError:
                return None
        if ref.contents.mode == MODE_LINK or ref.contents.size > limit:
            return None
        oid = ref.contents.id
        if oid in self._blobs:
            return self._blobs[oid]
        data = self.repo.store.read_bytes(oid)
        if len(data) <= SMALL:
            self._blobs[oid] = data
        return data

    def prefetch(self, bids, paths) -> None:
        """Read ahead, in a few threads, the objects a table of these
        bundles will need (results, trees along `paths`, small files), so
        the ordered pass that follows finds them in the caches.  Only the
        reads overlap; rows must be preloaded (no SQL happens here)."""
        from concurrent.futures import ThreadPoolExecutor

        def one(bid):
            try:
                self.result(bid)
                for path in paths:
                    ref = self.file(bid, path)
                    if ref is not None and ref.contents is not None and ref.contents.size <= SMALL:
                        self.read(ref)
            except CLError:
                pass        # a missing or damaged object: the ordered pass meets it and shows it
        def some(chunk):
            for bid in chunk:
                one(bid)

        bids = [b for b in bids if self._rows.get(b) is not None]
        # one task per thread, each a stride of the rows: a future per row
        # cost the main thread more in locks than the reads it overlapped
        with ThreadPoolExecutor(max_workers=PREFETCH_THREADS) as pool:
            list(pool.map(some, [bids[i::PREFETCH_THREADS] for i in range(PREFETCH_THREADS)]))

    def listing(self, ref: FileRef) -> list[tuple[str, int, bool]]:
        """(name, size, is_dir) of a directory's entries."""
        if ref.live is not None:
            try:
                node = ref.open_live()
            except CLError:
                return []
            if node is None:
                return []
            with node:
                return [(name, size, kind == "directory") for name, kind, size in node.listing()
                        ] if node.is_dir else []
        return [(e.name, e.size, e.is_dir) for e in self.tree(ref.contents.id).entries]

    # --- values ----------------------------------------------------------------

    def value(self, bid: str, genpath: Genpath):
        """The raw value of a genpath on a bundle (None when absent)."""
        if genpath.is_file:
            ref = self.file(bid, genpath.path)
            if ref is None:
                return None
            if genpath.key is None:
                if ref.is_dir:
                    return " ".join(name for name, _, _ in self.listing(ref))
                data = self.read(ref)
                return None if data is None else data.decode("utf-8", errors="replace").rstrip("\n")
            data = self.read(ref)
            if data is None:
                return None
            return structured.extract(data, genpath.path, genpath.key)
        return self.field(bid, genpath.field)

    def field(self, bid: str, name: str):
        row = self.row(bid)
        if row is None:
            return "0x" + bid if name in ("uuid", "id") else None
        simple = _FIELDS.get(name)
        if simple is not None:
            return simple(self, bid, row)
        if name in _RESULT_FIELDS:
            return self._result_field(bid, name)
        if name.startswith("dependencies/"):
            return self._dep(bid, name.split("/", 1)[1])
        if name.startswith(("request_", "request/")):
            return self.bundle(bid).request.get(name[len("request_"):])
        if name.startswith("metadata/"):
            name = name.split("/", 1)[1]
        return row.meta.get(name)

    def _result_field(self, bid: str, name: str):
        result = self.result(bid)
        if result is None:
            return None
        if name == "time":
            return (result.finished - result.started) / 1e9 if result.finished else None
        if name in ("started", "finished"):
            ns = getattr(result, name)
            return ns // 10**9 if ns else None
        if name in ("cpu_user", "cpu_system"):
            return getattr(result, name) / 1e9
        if name in ("peak_memory", "memory"):
            return result.peak_memory
        if name == "image":
            return result.image.get("name") or None
        return getattr(result, name)

    def _deps(self, bid: str) -> str:
        return " ".join(f"{key}:{self._dep_text(parent, path)}" if key else self._dep_text(parent, path)
                        for key, parent, path in self.repo.index.dependencies(bid))

    def _dep(self, bid: str, key: str):
        for k, parent, path in self.repo.index.dependencies(bid):
            if k == key:
                return self._dep_text(parent, path)
        return None

    def _dep_text(self, parent: str, path: str) -> str:
        row = self.row(parent)
        name = row.name if row else "0x" + parent[:8]
        return name + (f"/{path}" if path else "")

    def _summary(self, bid: str, row: BundleRow) -> str:
        if row.kind == "run":
            return row.command or ""
        if row.kind == "make":
            return self._deps(bid)
        return ""

    def _host_worksheets(self, bid: str) -> str:
        names = []
        for wid in self.repo.index.host_worksheets(bid):
            ws = self.repo.index.worksheet(wid)
            if ws:
                names.append(ws["name"])
        return " ".join(names)

    def formatted(self, bid: str, f: Field) -> str:
        return text(postproc.apply(f.post or _HUMAN.get(f.genpath.field, ()), self.value(bid, f.genpath)))


# a field given without a post-processor still shows bytes and seconds in
# human units (CodaLab shows 1048576 and 0.123456789)
_HUMAN = {"data_size": (postproc.Step("size"),), "peak_memory": (postproc.Step("size"),),
          "memory": (postproc.Step("size"),), "time": (postproc.Step("duration"),),
          "cpu_user": (postproc.Step("duration"),), "cpu_system": (postproc.Step("duration"),)}


_FIELDS = {
    "uuid": lambda r, bid, row: "0x" + bid, "id": lambda r, bid, row: "0x" + bid,
    "name": lambda r, bid, row: row.name, "description": lambda r, bid, row: row.description,
    "tags": lambda r, bid, row: row.tag_list, "kind": lambda r, bid, row: row.kind,
    "bundle_type": lambda r, bid, row: row.kind, "state": lambda r, bid, row: row.state,
    "command": lambda r, bid, row: row.command, "created": lambda r, bid, row: row.created // 10**9,
    "updated": lambda r, bid, row: row.updated // 10**9, "data_size": lambda r, bid, row: row.data_size,
    "creator": lambda r, bid, row: row.creator, "owner": lambda r, bid, row: row.creator,
    "summary": lambda r, bid, row: r._summary(bid, row), "dependencies": lambda r, bid, row: r._deps(bid),
    "args": lambda r, bid, row: r.bundle(bid).args,
    "host_worksheets": lambda r, bid, row: r._host_worksheets(bid),
}
def _live(r, bid: str, row, key: str):
    """A run's live stage (`staged`: no worker can meet its request) or why
    it waits, as `cl info -f run_status,staged_status` shows them; a
    finished bundle's stage is its state."""
    if row.kind != "run" or row.state in ("ready", "failed", "killed"):
        return row.state if key == "stage" else None
    from cl.index.runs import run_status
    status = run_status(r.repo.db, bid) or {}
    return status.get(key) or (row.state if key == "stage" else None)


_FIELDS.update({
    "run_status": lambda r, bid, row: _live(r, bid, row, "stage"),
    "staged_status": lambda r, bid, row: _live(r, bid, row, "reason"),
    "state_details": lambda r, bid, row: _live(r, bid, row, "reason"),
})
_RESULT_FIELDS = frozenset(("time", "started", "finished", "exit_code", "failure", "host", "executor",
                            "image", "cpu_user", "cpu_system", "peak_memory", "memory"))


def text(value) -> str:
    """A value as table text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(value)
    if isinstance(value, (list, tuple)):
        return " ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def genpath(text_: str) -> Genpath:
    return parse_genpath(text_)
