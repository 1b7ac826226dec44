"""Repository upkeep: `cl fsck` (re-hash every object, check connectivity),
`cl gc` (delete what no bundle or worksheet reaches), `cl reindex` (rebuild
the index and the heads from the objects alone)."""

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from cl.bundles import roots
from cl.errors import CLError, CorruptObject, ObjectMissing
from cl.objects import encoding
from cl.objects.ids import ObjectId, hash_bytes
from cl.objects.store import decode_object
from cl.objects.trees import read_tree
from cl.objects.itemlists import as_worksheet
from cl.objects.types import (MODE_DIR, WORKSHEET_TYPES, Bundle, Contents, ItemChunk, ItemIndex, Result,
                              State, Worksheet, children)
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
        with repo.store.open(oid, verify=False) as f:  # decode_object verifies
            head = f.read(1)
            if not encoding.looks_like_map(head):
                return None
            data = head + f.read()
        return decode_object(oid, data)
    except (CorruptObject, ObjectMissing):
        return None


class _Walker:
    """Walks the closure of the refs, calling `visit(oid, expected_type)`."""

    def __init__(self, repo: Repository, report: Report | None):
        self.repo = repo
        self.report = report
        self.seen: set[str] = set()
        self.walked: dict[str, str] = {}  # ref name -> the value walked from

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
        """Everything `c` reaches: trees read and checked, blobs through
        `blob` as their tree lists them (no stack entry per file)."""
        if c.mode != MODE_DIR:
            if c.id not in self.seen:
                self.blob(c, named_by)
            return
        stack = [(c, named_by)]
        while stack:
            c, by = stack.pop()
            if c.id in self.seen:
                continue
            try:
                tree = read_tree(self.repo.store, c.id)
            except ObjectMissing:
                self.problem(f"missing tree 0x{c.id} (named by {by})")
                continue
            except CorruptObject as exc:
                self.problem(str(exc))
                continue
            self.seen.add(c.id)
            self.size(c, by, tree.size)
            here = f"tree 0x{c.id[:12]}"
            for e in tree.entries:
                if e.id in self.seen:
                    continue
                if e.mode == MODE_DIR:
                    stack.append((e, here))
                else:
                    self.blob(e, here)

    def blob(self, c, by: str):
        """A blob (`c`: Contents or a tree entry) reached.  For gc that is
        all (whether it is there is fsck's question); fsck asks its size,
        one lookup that also says it is there."""
        if self.report is None:
            self.seen.add(c.id)
            return
        try:
            actual = self.repo.store.size(c.id)
        except ObjectMissing:
            self.problem(f"missing blob 0x{c.id} (named by {by})")
            return
        self.seen.add(c.id)
        self.size(c, by, actual)

    def size(self, c: Contents, by: str, actual: int):
        """`actual`: a blob's length, or the sum a tree's entries record
        (each checked in turn as the tree is walked)."""
        if actual != c.size:
            self.problem(f"{by} records {c.size} bytes for 0x{c.id}, which has {actual}")

    def bundle(self, bid: str, ref: str, ref_name: str):
        bundle = self.obj(bid, Bundle, "refs") if bid not in self.seen else self.repo.bundle(bid)
        if bundle is None:
            return
        head = self.obj(ref, State, f"ref {ref_name.removesuffix(bid[12:])}")
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
        if rid in self.seen and with_contents:  # seen as history, now live
            result = self.repo.read(rid, Result)
        else:
            result = self.obj(rid, Result, by)
        if result is not None and result.contents and with_contents:
            self.contents(result.contents, f"result 0x{rid[:12]}")

    def raw(self, oid: str, classes, what: str, named_by: str):
        """A typed object read as stored (no chunked items gathered)."""
        try:
            value = self.repo.read(oid)
        except ObjectMissing:
            self.problem(f"missing {what} 0x{oid} (named by {named_by})")
            return None
        except CorruptObject as exc:
            self.problem(str(exc))
            return None
        if not isinstance(value, classes):
            self.problem(f"object 0x{oid} is a {value.TYPE}, expected a {what} (named by {named_by})")
            return None
        self.seen.add(oid)
        return value

    def item_tree(self, root: str, cid: str) -> list:
        """The items of the chunk nodes under `root` not seen before (each
        node is marked live); older nodes' items were checked already."""
        out, stack = [], [root]
        while stack:
            oid = stack.pop()
            if oid in self.seen:
                continue
            node = self.raw(oid, (ItemIndex, ItemChunk), "item chunk", f"worksheet 0x{cid[:12]}")
            if isinstance(node, ItemIndex):
                stack.extend(node.children)
            elif node is not None:
                out.extend(node.items)
        return out

    def worksheet(self, wid: str, head: str):
        stack = [head]
        while stack:
            cid = stack.pop()
            if cid in self.seen:
                continue
            ws = self.raw(cid, WORKSHEET_TYPES, "worksheet", f"worksheet {wid[:12]}")
            if ws is None:
                continue
            stack.extend(ws.parents)
            items = ws.items if isinstance(ws, Worksheet) else (
                list(ws.tail) + (self.item_tree(ws.chunks, cid) if ws.chunks else []))
            for item in items:
                if item.kind == "bundle" and item.value not in self.seen:
                    if self.repo.store.has(item.value):
                        self.seen.add(item.value)
                    else:
                        self.problem(f"missing bundle 0x{item.value} (named by worksheet 0x{cid[:12]})")

    def refs(self):
        """Walk from every root (cl/bundles/roots.py: the local heads and the
        remote-tracking refs) not walked before at its present value."""
        for name, bid, value in roots.bundle_roots(self.repo.refs):
            if self.walked.get(name) != value:
                self.walked[name] = value
                self.bundle(bid, value, name)
        for name, wid, value in roots.worksheet_roots(self.repo.refs):
            if self.walked.get(name) != value:
                self.walked[name] = value
                self.worksheet(wid, value)

    def closure(self, root: str):
        """Mark `root` and everything it names, whatever it is."""
        stack = [root]
        while stack:
            oid = stack.pop()
            if oid in self.seen:
                continue
            self.seen.add(oid)
            obj = _typed_or_none(self.repo, oid)
            if obj is not None:
                stack.extend(c for c in children(obj) if c not in self.seen)


def fsck(repo: Repository, progress=None) -> Report:
    report = Report()
    for path in repo.store.strays():
        report.problems.append(f"'{path}' is not an object file (left alone, never read)")
    problems, notes = repo.store.pack_report()  # every packed object re-hashed there
    report.problems += problems
    report.notes += notes
    for oid, size, _, packed in repo.store.stored():
        report.objects += 1
        report.bytes += size
        if packed:  # re-hashed by the pack's check above
            if progress:
                progress(size)
            continue
        try:
            if size <= TYPED_MAX:
                ok = hash_bytes(repo.store.read_bytes(oid)) == oid
            else:
                ok = repo.store.verify(oid)
        except ObjectMissing:
            continue  # deleted since it was listed (by gc)
        except CorruptObject as exc:
            report.problems.append(str(exc))
            continue
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
    swept: int = 0  # entries executors keep outside .codalab/ (`sweeps`)


def _older(path: str, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False


def gc(repo: Repository, dry_run: bool = False, grace_seconds: float = 3600,
       busy_checkouts: Callable[[], set[str]] | None = None,
       waiting: Callable[[], None] | None = None,
       sweeps: tuple[Callable[[set[str], bool], int], ...] = ()) -> GcReport:
    """Delete the objects that neither a ref nor an object stored within
    the grace period reaches, stale tmp files and unused checkouts.

    Safe beside every writer (docs/design.md, "Garbage collection and
    concurrent writers"): the refs are walked first without the gc lock,
    then, holding it exclusively -- so no writer is between its first
    object write and its ref update -- the refs that moved meanwhile are
    walked too, the store is listed, and what nothing reaches is deleted,
    an object before the objects it names.  `busy_checkouts` names the
    checkouts runs are using (asked under the lock); `waiting` is called
    if writers make gc wait.  Each of `sweeps` (executors' own leftovers
    outside the repository, cl/runs/registry.py) is called under the lock
    too, with those names and `dry_run`, and says how many it removed."""
    cutoff_ns = time.time_ns() - int(grace_seconds * 1e9)
    walker = _Walker(repo, None)
    walker.refs()
    report = GcReport()
    with repo.store.collecting(waiting):
        walker.refs()  # only refs that moved since are walked again
        # what the refs do not reach (at a million objects, a few): kept in
        # full, rather than the whole listing
        unreached = [s for s in repo.store.stored() if s.id not in walker.seen]
        if not walker.walked and unreached:
            raise CLError("no bundle or worksheet refs, so gc would delete every object; "
                          "if repo.db lost them, 'cl reindex' finds them again")
        for s in unreached:  # recent objects are roots, with all they name
            if s.id not in walker.seen and s.mtime_ns >= cutoff_ns:
                walker.closure(s.id)
        doomed = {s.id: s.size for s in unreached if s.id not in walker.seen}
        order, named = _parents_first(repo, doomed)
        report.objects = len(order)
        report.bytes = sum(doomed.values())
        if not dry_run:
            # only the grace period keeps what the recent roots reached
            _delete(repo.store, order, named, {s.id for s in unreached if s.id in walker.seen})
        cutoff = cutoff_ns / 1e9
        for name in os.listdir(repo.path("tmp")):
            path = repo.path("tmp", name)
            if _older(path, cutoff):
                report.tmp += 1
                if not dry_run:
                    _remove(path)
        busy = busy_checkouts() if busy_checkouts else set()
        for name in os.listdir(repo.path("checkouts")):
            if name in busy:
                continue
            report.checkouts += 1
            if not dry_run:
                _remove(repo.path("checkouts", name))
        for sweep in sweeps:  # the executors' hook
            report.swept += sweep(busy, dry_run)
    return report


def _delete(store, order: list[str], named: dict[str, list[str]], young: set) -> None:
    """Delete `order` (parents first) from loose files and packs.  A
    packed object goes when its pack is rewritten (`store.compact`), all
    of a pack's doomed objects at once; so before a loose object that a
    doomed packed one names is deleted, the packs are rewritten, and a gc
    cut short still leaves no object without what it names.  At the end
    the packs are rewritten once more, gathering small loose objects and
    small packs (`young`: what only the grace period keeps)."""
    drop: set = set()
    named_by_drop: set = set()
    for oid in order:
        if store.packed(oid):
            drop.add(oid)
            named_by_drop.update(named.get(oid, ()))
        elif oid in named_by_drop:
            store.compact(drop, young)
            drop.clear()
            named_by_drop.clear()
        store.delete(oid)  # its loose copy, if any
    store.compact(drop, young, gather=True)


def _parents_first(repo: Repository, doomed: dict[str, int]) -> tuple[list[str], dict]:
    """`doomed` ordered so that an object comes before every object it
    names: a gc cut short leaves no object without what it names, so
    "present" keeps meaning "present with everything it names" (which
    the sync protocol's `have` relies on); and what each names of them."""
    named: dict[str, list[str]] = {}
    parents = dict.fromkeys(doomed, 0)
    for oid in doomed:
        obj = _typed_or_none(repo, oid)
        if obj is None:
            continue
        kids = [c for c in dict.fromkeys(children(obj)) if c in parents and c != oid]
        named[oid] = kids
        for c in kids:
            parents[c] += 1
    ready = [oid for oid, n in parents.items() if n == 0]
    order = []
    while ready:
        oid = ready.pop()
        order.append(oid)
        for c in named.get(oid, ()):
            parents[c] -= 1
            if parents[c] == 0:
                ready.append(c)
    return order, named


def _remove(path: str):
    """A stale tmp file or an unused checkout.  A failure reaches the user
    (main names the path): what is left is only space, and a rerun of gc
    takes it (rmtree with ignore_errors would recurse on deep trees and hide why)."""
    from cl.objects.checkout import remove_tree
    remove_tree(path)


# --- reindex ----------------------------------------------------------------


def reindex(repo: Repository) -> dict:
    """Rebuild heads and the index from the objects alone.  Where a bundle
    or worksheet has several heads (diverged, never merged) the newest wins;
    `cl pull` is what merges."""
    with repo.store.writing():  # gc must not take what the rebuilt refs will name
        return _reindex(repo)


def _reindex(repo: Repository) -> dict:
    bundles: dict[str, Bundle] = {}
    states: dict[str, State] = {}
    sheets: dict = {}
    for oid in repo.store.ids():
        obj = _typed_or_none(repo, oid)
        if isinstance(obj, Bundle):
            bundles[oid] = obj
        elif isinstance(obj, State):
            states[oid] = obj
        elif isinstance(obj, WORKSHEET_TYPES):
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
            repo.index.put_worksheet(cid, as_worksheet(sheets[cid], repo.read))
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
