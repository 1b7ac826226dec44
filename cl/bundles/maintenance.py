"""Repository upkeep: `cl fsck` (re-hash every object, check connectivity),
`cl gc` (delete what no bundle or worksheet reaches), `cl reindex` (rebuild
the index and the heads from the objects alone)."""

import os
import shutil
import time
from dataclasses import dataclass, field

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import encoding
from cl.objects.ids import ObjectId, hash_bytes
from cl.objects.store import decode_object, verify_blob
from cl.objects.trees import read_tree, wrong_size
from cl.objects.types import MODE_DIR, Bundle, Contents, Result, State, Worksheet
from cl.repo import Repository

TYPED_MAX = 64 << 20  # typed objects are small; a bigger file is a blob


@dataclass
class Report:
    objects: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _typed_or_none(repo: Repository, oid: str):
    """Decode an object as a typed object if it is one, else None."""
    try:
        size = repo.store.size(oid)
        if size > TYPED_MAX:
            return None
        with repo.store.open(oid) as f:
            head = f.read(1)
            if not encoding.looks_like_map(head):
                return None
            data = head + f.read()
        return decode_object(oid, data)
    except CorruptObject:
        return None


class _Walker:
    """Walks the closure of the refs, calling `visit(oid, expected_type)`."""

    def __init__(self, repo: Repository, report: Report | None):
        self.repo = repo
        self.report = report
        self.seen: set[str] = set()

    def problem(self, text: str):
        if self.report is not None:
            self.report.problems.append(text)

    def obj(self, oid: str, cls, named_by: str):
        if oid in self.seen and cls is not None:
            return None
        try:
            value = self.repo.read(oid, cls)
        except ObjectMissing:
            self.problem(f"missing {cls.TYPE} 0x{oid} (named by {named_by})")
            return None
        except CorruptObject as exc:
            self.problem(str(exc))
            return None
        self.seen.add(oid)
        return value

    def contents(self, c: Contents, named_by: str):
        stack = [(c, named_by)]
        while stack:
            c, by = stack.pop()
            if c.id in self.seen:
                continue
            if c.mode == MODE_DIR:
                try:
                    tree = read_tree(self.repo.store, c.id)
                except ObjectMissing:
                    self.problem(f"missing tree 0x{c.id} (named by {by})")
                    continue
                except CorruptObject as exc:
                    self.problem(str(exc))
                    continue
                self.seen.add(c.id)
                self.size(c, by, tree)
                for e in tree.entries:
                    stack.append((Contents(e.mode, e.size, e.id), f"tree 0x{c.id[:12]}"))
            else:
                if not self.repo.store.has(c.id):
                    self.problem(f"missing blob 0x{c.id} (named by {by})")
                    continue
                self.seen.add(c.id)
                self.size(c, by)

    def size(self, c: Contents, by: str, tree=None):
        actual = wrong_size(self.repo.store, c, tree)
        if actual is not None:
            self.problem(f"{by} records {c.size} bytes for 0x{c.id}, which has {actual}")

    def bundle(self, bid: str):
        ref = self.repo.refs.get(f"bundles/{bid}")
        bundle = self.obj(bid, Bundle, "refs") if bid not in self.seen else self.repo.bundle(bid)
        if bundle is None or ref is None:
            return
        head = self.obj(ref, State, f"ref bundles/{bid[:12]}")
        if head is None:
            return
        alive = not (head.deleted or head.data_deleted)
        for dep in bundle.dependencies:
            if dep.bundle not in self.seen:
                self.obj(dep.bundle, Bundle, f"bundle 0x{bid[:12]}")
        if bundle.contents and alive:
            self.contents(bundle.contents, f"bundle 0x{bid[:12]}")
        stack = list(head.parents)
        if head.result:
            self.result(head.result, alive, f"state 0x{ref[:12]}")
        while stack:
            sid = stack.pop()
            state = self.obj(sid, State, f"bundle 0x{bid[:12]} history")
            if state is not None:
                stack.extend(state.parents)
                if state.result and state.result not in self.seen:
                    self.result(state.result, False, f"state 0x{sid[:12]}")

    def result(self, rid: str, with_contents: bool, by: str):
        result = self.obj(rid, Result, by)
        if result is not None and result.contents and with_contents:
            self.contents(result.contents, f"result 0x{rid[:12]}")

    def worksheet(self, wid: str, head: str):
        stack = [head]
        while stack:
            cid = stack.pop()
            ws = self.obj(cid, Worksheet, f"worksheet {wid[:12]}")
            if ws is None:
                continue
            stack.extend(ws.parents)
            for item in ws.items:
                if item.kind == "bundle" and item.value not in self.seen:
                    if not self.repo.store.has(item.value):
                        self.problem(f"missing bundle 0x{item.value} (named by worksheet 0x{cid[:12]})")

    def refs(self):
        for name, value in self.repo.refs.items("bundles/"):
            self.bundle(name.split("/", 1)[1])
        for name, value in self.repo.refs.items("worksheets/"):
            self.worksheet(name.split("/", 1)[1], value)


def fsck(repo: Repository, progress=None) -> Report:
    report = Report()
    for oid in repo.store.ids():
        report.objects += 1
        size = repo.store.size(oid)
        report.bytes += size
        if size <= TYPED_MAX:
            data = repo.store.read_bytes(oid)
            ok = hash_bytes(data) == oid
        else:
            ok = verify_blob(repo.store, oid)
        if not ok:
            report.problems.append(f"object 0x{oid} is corrupt: its bytes do not hash to its id")
        if progress:
            progress(size)
    walker = _Walker(repo, report)
    walker.refs()
    stale = os.listdir(repo.path("tmp"))
    if stale:
        report.notes.append(f"{len(stale)} temporary file(s) left by interrupted commands ('cl gc' removes them)")
    for bid, head, deleted, _ in repo.index.all_heads():
        if repo.refs.get(f"bundles/{bid}") != head:
            report.problems.append(f"index is stale for bundle 0x{bid[:12]} ('cl reindex' rebuilds it)")
    # The re-hash and the walk both meet a corrupt object: say it once.
    report.problems = list(dict.fromkeys(report.problems))
    return report


# --- gc ---------------------------------------------------------------------


@dataclass
class GcReport:
    objects: int = 0
    bytes: int = 0
    tmp: int = 0
    checkouts: int = 0


def _older(path: str, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False


def gc(repo: Repository, dry_run: bool = False, grace_seconds: float = 3600,
       busy_checkouts: set[str] | None = None) -> GcReport:
    """Delete objects nothing live reaches, older than the grace period (so
    an upload still writing its objects is never cut short), stale tmp files
    and unused checkouts."""
    walker = _Walker(repo, None)
    walker.refs()
    live = walker.seen
    cutoff = time.time() - grace_seconds
    report = GcReport()
    for oid in list(repo.store.ids()):
        if oid in live:
            continue
        path = repo.store.local_path(oid)
        if path and not _older(path, cutoff):
            continue
        report.objects += 1
        report.bytes += repo.store.size(oid)
        if not dry_run:
            repo.store.delete(oid)
    for name in os.listdir(repo.path("tmp")):
        path = repo.path("tmp", name)
        if _older(path, cutoff):
            report.tmp += 1
            if not dry_run:
                _remove(path)
    for name in os.listdir(repo.path("checkouts")):
        if busy_checkouts and name in busy_checkouts:
            continue
        report.checkouts += 1
        if not dry_run:
            _remove(repo.path("checkouts", name))
    return report


def _remove(path: str):
    from cl.objects.checkout import remove_tree
    try:
        remove_tree(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


# --- reindex ----------------------------------------------------------------


def reindex(repo: Repository) -> dict:
    """Rebuild heads and the index from the objects alone.  Where a bundle
    or worksheet has several heads (diverged, never merged) the newest wins;
    `cl pull` is what merges."""
    bundles: dict[str, Bundle] = {}
    states: dict[str, State] = {}
    sheets: dict[str, Worksheet] = {}
    for oid in repo.store.ids():
        obj = _typed_or_none(repo, oid)
        if isinstance(obj, Bundle):
            bundles[oid] = obj
        elif isinstance(obj, State):
            states[oid] = obj
        elif isinstance(obj, Worksheet):
            sheets[oid] = obj
    heads = _heads(states, lambda s: s.bundle)
    ws_heads = _heads(sheets, lambda w: w.worksheet)
    current = repo.refs.get("HEAD")
    with repo.db.transaction():
        repo.index.clear()
        repo.refs.clear("bundles/")
        repo.refs.clear("worksheets/")
        order = sorted((b.created, bid) for bid, b in bundles.items() if bid in heads)
        for _, bid in order:
            sid = heads[bid]
            repo.refs.set_if_equals(f"bundles/{bid}", None, sid)
            state = states[sid]
            repo.index.put_bundle(bid, bundles[bid], sid, state, repo._data_size(bundles[bid], state))
        for wid, cid in ws_heads.items():
            repo.refs.set_if_equals(f"worksheets/{wid}", None, cid)
            repo.index.put_worksheet(cid, sheets[cid])
        if current and current not in ws_heads:
            repo.refs.set_if_equals("HEAD", current, None)
    return {"bundles": len(order), "worksheets": len(ws_heads), "states": len(states)}


def _heads(commits: dict, key) -> dict[str, ObjectId]:
    named_as_parent = {p for c in commits.values() for p in c.parents}
    best: dict[str, tuple[int, str]] = {}
    for cid, c in commits.items():
        if cid in named_as_parent:
            continue
        k = key(c)
        if k not in best or (c.time, cid) > best[k]:
            best[k] = (c.time, cid)
    return {k: ObjectId(v[1]) for k, v in best.items()}
