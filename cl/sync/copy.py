"""`cl cp [REMOTE::]SPEC [REMOTE::]WS`, `cl wadd [REMOTE::]WS
[REMOTE::]WS` and `cl add … --dest-worksheet [REMOTE::]WS` with a remote
anywhere: add a bundle (or a worksheet's items, or text) to a worksheet in
this or another repository, bringing every bundle along with its
dependencies — which CodaLab's cp never did.  Objects travel through the local store; a
remote worksheet gets a new commit on top of its head, written in memory
and pushed (no need to fetch the worksheet's whole closure).

A bundle removed in this repository stays removed: copying it here is
refused, and `wadd` here leaves its items out and says so."""

import contextlib

from cl.bundles.specs import resolve_bundle, resolve_worksheet
from cl.objects.ids import ObjectId
from cl.objects.store import MemoryStore, ObjectStore, write_object
from cl.objects.types import Item, Worksheet
from cl.objects.value import replace
from cl.refs.store import MemoryRefStore
from cl.remote import exchange
from cl.repo import Repository, now_ns
from cl.sync import closure
from cl.sync.refstore import RepoRefStore
from cl.sync.remotes import open_remote
from cl.sync.view import RemoteView, split_remote


class OverlayStore(ObjectStore):
    """New objects in memory over a store that is only read."""

    def __init__(self, base: ObjectStore):
        self.base = base
        self.top = MemoryStore()

    def has(self, oid):
        return self.top.has(oid) or self.base.has(oid)

    def _pick(self, oid):
        return self.top if self.top.has(oid) else self.base

    def read_bytes(self, oid):
        return self._pick(oid).read_bytes(oid)

    def open(self, oid, verify=True):
        return self._pick(oid).open(oid, verify)

    def size(self, oid):
        return self._pick(oid).size(oid)

    def write_bytes(self, data):
        return self.top.write_bytes(data)

    def write_stream(self, stream, expected=None):
        return self.top.write_stream(stream, expected)


def _ref_values(repo: Repository, names) -> dict[str, str]:
    return {n: repo.refs.get(n) for n in names if repo.refs.get(n)}


class _Copy:
    def __init__(self, repo: Repository, stack: contextlib.ExitStack):
        self.repo = repo
        self.stack = stack
        self.clients: dict[str, object] = {}

    def client(self, name: str):
        if name not in self.clients:
            self.clients[name] = self.stack.enter_context(open_remote(self.repo, name))
        return self.clients[name]

    def gather(self, remote: str | None, bids: list[str]) -> dict[str, str]:
        """Bundle refs (with ancestors) of the source, their objects in the local store."""
        if remote is None:
            return _ref_values(self.repo, closure.bundle_refs(self.repo, bids))
        values, _ = exchange.fetch_closure(self.repo.store, self.client(remote),
                                           [f"bundles/{b}" for b in bids])
        return {n: v for n, v in values.items() if n.startswith("bundles/")}

    def deliver(self, src: str | None, dst: str | None, values: dict[str, str]) -> list[str]:
        """Make the destination hold those bundle refs; rejected lines, if any."""
        if not values or src == dst:
            return []
        if dst is None:
            outcome = exchange.pull(self.repo.store, RepoRefStore(self.repo), self.client(src),
                                    list(values))
        else:
            refs = MemoryRefStore()
            for name, value in values.items():
                refs.set_if_equals(name, None, value)
            outcome = exchange.push(self.repo.store, refs, self.client(dst), list(values))
        return [f"{u.name}: {u.status}" for u in outcome.rejected]

    def check(self, dst: str | None, ws_spec: str) -> None:
        """Refuse a destination worksheet that does not exist or is frozen,
        before anything is copied there."""
        if dst is None:
            ws = self.repo.worksheet_head(resolve_worksheet(self.repo, ws_spec))[1]
            where = ""
        else:
            view = RemoteView(self.client(dst))
            ws = view.worksheet(view.resolve_worksheet(ws_spec))[1]
            where = f" on remote '{dst}'"
        if ws.frozen:
            from cl.errors import CLError
            raise CLError(f"worksheet '{ws.name}'{where} is frozen; nothing was added",
                          hint=f"unfreeze it {'there ' if dst else ''}first: cl wedit {ws.name} --unfreeze")

    def append(self, dst: str | None, ws_spec: str, items: list[Item], message: str,
               replace_items: bool = False) -> str:
        """Append items to the destination worksheet (or replace its items);
        its name."""
        def kept(ws: Worksheet) -> tuple[Item, ...]:
            return () if replace_items else ws.items
        if dst is None:
            wid = resolve_worksheet(self.repo, ws_spec)
            self.repo.commit_worksheet(wid, lambda ws: replace(ws, items=kept(ws) + tuple(items)), message)
            return self.repo.worksheet_head(wid)[1].name
        client = self.client(dst)
        view = RemoteView(client)
        wid = view.resolve_worksheet(ws_spec)
        head, ws = view.worksheet(wid)
        if ws.frozen:  # frozen since check(): the push would be refused anyway
            from cl.errors import CLError
            raise CLError(f"worksheet '{ws.name}' on remote '{dst}' is frozen",
                          hint=f"unfreeze it there first: cl wedit {ws.name} --unfreeze")
        new = replace(ws, parents=(ObjectId(head),), time=now_ns(), author=self.repo.user(),
                      message=message, items=kept(ws) + tuple(items))
        overlay = OverlayStore(self.repo.store)
        commit = write_object(overlay, new)
        refs = MemoryRefStore()
        refs.set_if_equals(f"worksheets/{wid}", None, commit)
        outcome = exchange.push(overlay, refs, client, [f"worksheets/{wid}"])
        if outcome.rejected:
            from cl.errors import Conflict
            raise Conflict(f"worksheet '{ws.name}' on remote '{dst}': {outcome.rejected[0].status}")
        return f"{dst}::{ws.name}"


def _where(remote: str | None, name: str) -> str:
    return f"{remote}::{name}" if remote else name


def _removed_here(repo: Repository, bids) -> list[str]:
    """Those of `bids` this repository has and has removed (`cl rm`)."""
    return [b for b in bids if repo.refs.get(f"bundles/{b}") is not None and repo.index.bundle(b) is None]


def _unfinished(repo: Repository, job: _Copy, src: str | None, bids: list[str]) -> list[str]:
    """Those of `bids` not ready, failed or killed at the source: CodaLab's
    wadd copies only bundles in a final state (a queued run copied to
    another repository would be run there too)."""
    from cl.objects.types import FINAL_STATES
    if src is None:
        rows = {r.id: r for r in repo.index.bundles(bids)}
        return [b for b in bids if b in rows and rows[b].state not in FINAL_STATES]
    view = RemoteView(job.client(src))
    heads = view.bundle_heads()
    states = view.objects([heads[b] for b in bids if b in heads])
    return [b for b in bids if b in heads and states[heads[b]].state not in FINAL_STATES]


def copy_bundle(repo: Repository, spec: str, ws_spec: str) -> str:
    src, bundle_spec = split_remote(spec)
    dst, ws_name = split_remote(ws_spec)
    with contextlib.ExitStack() as stack:
        job = _Copy(repo, stack)
        if src is None:
            bid = resolve_bundle(repo, bundle_spec)
        else:
            bid = RemoteView(job.client(src)).resolve_bundle(bundle_spec)
        job.check(dst, ws_name)
        if dst is None and _removed_here(repo, [bid]):
            from cl.errors import CLError
            raise CLError(f"bundle 0x{bid[:8]} was removed here; nothing was added",
                          hint="a removed bundle stays removed")
        problems = job.deliver(src, dst, job.gather(src, [bid]))
        if problems:
            from cl.errors import Conflict
            raise Conflict("could not copy: " + "; ".join(problems))
        where = job.append(dst, ws_name, [Item("bundle", bid)], f"cp 0x{bid[:8]}")
    return f"0x{bid[:8]} added to worksheet {where if dst else _where(dst, where)}"


def copy_items(repo: Repository, source: str, dest: str, replace_items: bool = False) -> str:
    """Append the items (but worksheet links) of `source` to `dest`, each
    maybe `REMOTE::`, bringing the bundles along; `replace_items` replaces
    the destination's items instead (its bundles are only detached).  As in
    CodaLab, a bundle that has not finished (a queued or running run) is
    left out, and the message names it."""
    src, src_ws = split_remote(source)
    dst, dst_ws = split_remote(dest)
    with contextlib.ExitStack() as stack:
        job = _Copy(repo, stack)
        if src is None:
            ws: Worksheet = repo.worksheet_head(resolve_worksheet(repo, src_ws))[1]
        else:
            view = RemoteView(job.client(src))
            ws = view.worksheet(view.resolve_worksheet(src_ws))[1]
        job.check(dst, dst_ws)
        items = [i for i in ws.items if i.kind != "worksheet"]
        bids = list(dict.fromkeys(i.value for i in items if i.kind == "bundle"))
        removed = set(_removed_here(repo, bids)) if dst is None else set()
        unfinished = set(_unfinished(repo, job, src, [b for b in bids if b not in removed]))
        problems = job.deliver(src, dst, job.gather(src, [b for b in bids if b not in removed | unfinished]))
        if problems:
            from cl.errors import Conflict
            raise Conflict("could not copy: " + "; ".join(problems))
        if dst is None:  # a merge on the way may have met a removal too
            removed |= set(_removed_here(repo, bids))
        items = [i for i in items if not (i.kind == "bundle" and i.value in removed | unfinished)]
        where = job.append(dst, dst_ws, items, f"wadd {_where(src, ws.name)}", replace_items)
    left_out = (f" ({len(removed)} removed here left out: "
                + ", ".join(f"0x{b[:8]}" for b in sorted(removed)) + ")") if removed else ""
    if unfinished:
        left_out += (f" ({len(unfinished)} not finished left out: "
                     + ", ".join(f"0x{b[:8]}" for b in sorted(unfinished)) + ")")
    verb = "replaced the items of" if replace_items else "added to"
    return f"{len(items)} items of {_where(src, ws.name)} {verb} worksheet {where}{left_out}"


def add_items(repo: Repository, dest: str | None, *, texts=(), bundles=(), worksheets=(),
              copy_dependencies: bool = False) -> str:
    """`cl add` where the destination or a source is `REMOTE::`: append
    text, bundles (each `[REMOTE::]SPEC`, with their dependencies first when
    `copy_dependencies`) and worksheet links to worksheet `dest`, copying
    every bundle the destination lacks, as CodaLab's `add` copies bundles
    between instances; the destination's name.  Text is read here (its
    `{spec}` references name bundles of this repository, copied too); a
    worksheet link cannot cross repositories, as in CodaLab."""
    from cl.bundles.specs import expand
    from cl.errors import Conflict, UsageError
    from cl.worksheets.edit import parse_added_text

    dst, dst_ws = split_remote(dest or ".")
    with contextlib.ExitStack() as stack:
        job = _Copy(repo, stack)
        job.check(dst, dst_ws)
        views: dict[str, RemoteView] = {}

        def view(remote: str) -> RemoteView:
            if remote not in views:
                views[remote] = RemoteView(job.client(remote))
            return views[remote]

        items: list[Item] = []
        sources: dict[str | None, list[str]] = {}
        for text in texts:
            for item in parse_added_text(repo, text, repo.current_worksheet()) or (Item("markup", ""),):
                if item.kind == "worksheet" and dst is not None:
                    raise UsageError(f"a worksheet link cannot cross repositories: '{text}' added to "
                                     f"'{dest}'")
                if item.kind == "bundle":
                    sources.setdefault(None, []).append(item.value)
                items.append(item)
        for spec in bundles:
            src, rest = split_remote(spec)
            if src is None:
                ids = [str(b) for b in expand(repo, [rest])]
                read = repo.bundle
            else:
                ids = [str(b) for b in view(src).resolve_bundles(rest)]
                read = view(src).bundle
            if copy_dependencies:
                ids = list(dict.fromkeys(d for b in ids for d in (*(str(x.bundle) for x in read(b).dependencies), b)))
            sources.setdefault(src, []).extend(ids)
            items.extend(Item("bundle", b) for b in ids)
        for spec in worksheets:
            src, rest = split_remote(spec)
            if src != dst:
                raise UsageError(f"a worksheet link cannot cross repositories: '{spec}' added to "
                                 f"'{dest or '.'}'")
            items.append(Item("worksheet", resolve_worksheet(repo, rest) if src is None
                              else view(src).resolve_worksheet(rest)))
        if not items:
            raise UsageError("nothing to add: give -m TEXT, bundle specs or -w SUBWS")
        if dst is None:
            removed = _removed_here(repo, [b for src, bids in sources.items() if src for b in bids])
            if removed:
                from cl.errors import CLError
                raise CLError(f"bundle 0x{removed[0][:8]} was removed here; nothing was added",
                              hint="a removed bundle stays removed")
        for src, bids in sources.items():
            problems = job.deliver(src, dst, job.gather(src, list(dict.fromkeys(bids))))
            if problems:
                raise Conflict("could not copy: " + "; ".join(problems))
        where = job.append(dst, dst_ws, items, f"add {len(items)} item(s)")
    return where
