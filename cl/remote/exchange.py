"""Push and pull of refs between a local (store, refs) pair and a remote
client (docs/protocol.md §6): per ref, fast-forward, report `up to date`,
or merge diverged heads (cl/refs/merge.py) into a new commit with both
parents; every move is a compare-and-swap and a lost race is a `rejected`
line, never an overwrite.  Ref names tell what a head is: `bundles/<id>` →
state, `worksheets/<wid>` → worksheet commit."""

from dataclasses import dataclass, field

from cl.errors import CLError
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, write_object
from cl.objects.itemlists import as_worksheet, items_of
from cl.objects.types import WORKSHEET_TYPES, Bundle, State, Worksheet
from cl.refs import merge
from cl.refs.store import RefStore
from cl.remote.client import Client
from cl.remote.graph import history, is_ancestor, merge_base
from cl.remote.heads import NOT_HERE, check_received
from cl.remote.transfer import Fetcher, negotiate, send

OK, UP_TO_DATE, MERGED, FORCED = "ok", "up to date", "merged", "forced"
SEND_TRIES = 3  # sends of what a ref names, when gc on the remote took it before the update


@dataclass(frozen=True)
class RefUpdate:
    """One line of the per-ref report."""

    name: str
    status: str
    old: str | None = None
    new: str | None = None

    @property
    def rejected(self) -> bool:
        return self.status.startswith("rejected")


@dataclass
class Outcome:
    updates: list[RefUpdate]
    sent: int = 0
    received: int = 0
    fetched: dict[str, str] = field(default_factory=dict)  # a pull's: the remote's value of each ref, as fetched

    @property
    def rejected(self) -> list[RefUpdate]:
        return [u for u in self.updates if u.rejected]


def ref_order(name: str) -> tuple[int, str]:
    """Bundles before the worksheets that name them."""
    return (0 if name.startswith("bundles/") else 1, name)


def write_merge(store: ObjectStore, read, name: str, ours: str, theirs: str) -> ObjectId:
    """Merge two diverged heads of `name` into a new commit."""
    base_id = merge_base(read, ours, theirs)
    base = read(base_id) if base_id else None
    a, b = (ours, read(ours)), (theirs, read(theirs))
    if not name.startswith("bundles/"):  # worksheets merge as values, chunked items gathered
        base = None if base is None else as_worksheet(base, read)
        a, b = (ours, as_worksheet(a[1], read)), (theirs, as_worksheet(b[1], read))
    if name.startswith("bundles/"):
        merged = merge.merge_states(base, a, b)
    else:
        merged = merge.merge_worksheets(base, a, b)
    return write_object(store, merged)


def _set_local(refs: RefStore, name: str, old, new, status: str) -> RefUpdate:
    try:
        refs.set_if_equals(name, old, new)
    except CLError as exc:
        return RefUpdate(name, f"rejected: {exc.message}", old, new)
    return RefUpdate(name, status, old, new)


# --- push -------------------------------------------------------------------


def push(store: ObjectStore, refs: RefStore, client: Client, names: list[str],
         force: bool = False, decoded: dict | None = None, empty_plan=None) -> Outcome:
    """`decoded`: local typed objects already read, and `empty_plan` what
    was made of them for a remote that holds nothing (transfer.Prefetch)."""
    client.hello()
    names = sorted(dict.fromkeys(names), key=ref_order)
    local = {n: refs.get(n) for n in names}
    remote = client.refs(names=[n for n in names if local[n]])
    fetcher = Fetcher(store, client)
    read = fetcher.read
    decided: dict[str, tuple[str, str | None, str]] = {}  # name -> (status, remote old, new)
    report: dict[str, RefUpdate] = {}

    diverged = []
    for name in names:
        mine, theirs = local[name], remote.get(name)
        if mine is None:
            continue
        if theirs == mine:
            report[name] = RefUpdate(name, UP_TO_DATE, theirs, mine)
        elif theirs is None:
            decided[name] = (OK, None, mine)
        elif force:
            decided[name] = (FORCED, theirs, mine)
        elif is_ancestor(read, theirs, mine, has=fetcher.has):
            decided[name] = (OK, theirs, mine)
        else:
            diverged.append(name)

    if diverged:
        fetcher.fetch([remote[n] for n in diverged])
        check_heads(fetcher, {n: remote[n] for n in diverged})
        fetcher.commit()
        for name in diverged:
            mine, theirs = local[name], remote[name]
            if is_ancestor(read, mine, theirs):
                report[name] = RefUpdate(name, UP_TO_DATE + " (the remote is ahead)", theirs, mine)
                continue
            merged = write_merge(store, read, name, mine, theirs)
            line = _set_local(refs, name, mine, merged, MERGED)
            if line.rejected:
                report[name] = line
                continue
            decided[name] = (MERGED, theirs, merged)

    outcome = Outcome([])
    pending = sorted(decided, key=ref_order)
    for attempt in range(SEND_TRIES):
        if not pending:
            break
        # a gc on the remote between `put` and `update` takes what was sent
        # (docs/design.md, "Receives"): those refs are sent and updated again
        plan = negotiate(store, client, [decided[n][2] for n in pending], decoded, empty_plan)
        outcome.sent += send(store, client, plan)
        results = client.update([(n, decided[n][1], decided[n][2]) for n in pending])
        again = []
        for name, result in zip(pending, results):
            status, old, new = decided[name]
            if result != "ok":
                if result.endswith(NOT_HERE) and attempt + 1 < SEND_TRIES:
                    again.append(name)
                    continue
                status = result if result.startswith("rejected") else f"rejected: {result}"
            report[name] = RefUpdate(name, status, old, new)
        pending = again
    outcome.received = fetcher.blobs
    outcome.updates = [report[n] for n in sorted(report, key=ref_order)]
    return outcome


# --- pull -------------------------------------------------------------------


def bundles_named(read, head: str) -> list[str]:
    """The bundles a head brings along: a state's bundle, a worksheet
    commit's bundle items; with every ancestor of those through the
    bundles' dependencies."""
    obj = read(head)
    if isinstance(obj, State):
        roots = [obj.bundle]
    elif isinstance(obj, WORKSHEET_TYPES):
        roots = [i.value for i in items_of(obj, read) if i.kind == "bundle"]
    else:
        return []
    seen: dict[str, None] = {}
    stack = list(roots)
    while stack:
        bid = stack.pop()
        if bid in seen:
            continue
        seen[bid] = None
        bundle = read(bid)
        if isinstance(bundle, Bundle):
            stack.extend(d.bundle for d in bundle.dependencies)
    return list(seen)


def check_heads(fetcher: Fetcher, heads: dict[str, str]) -> None:
    """Each fetched head is of its ref (cl/remote/heads.py), checked before
    anything is stored or merged."""
    for name, value in heads.items():
        check_received(fetcher.client.name, name, value, fetcher.read(value))


def fetch_closure(store: ObjectStore, client: Client, names: list[str],
                  known: dict[str, str] | None = None,
                  release: bool = False) -> tuple[dict[str, str], Fetcher]:
    """Fetch the closure of the remote refs `names` — with the refs of every
    bundle they bring along — without moving a local ref.  Returns the
    remote values of all those refs and the committed fetcher.  `release`:
    the caller asks nothing more, so the remote's session may end while
    the objects are stored."""
    fetcher = Fetcher(store, client)
    remote = dict(known) if known is not None else client.refs(names=names)
    asked = set(names) | set(remote)
    tips = list(remote.values())
    fresh = dict(remote)
    while tips:
        fetcher.fetch(tips)
        check_heads(fetcher, fresh)
        wanted = []
        for value in tips:
            for bid in bundles_named(fetcher.read, value):
                name = f"bundles/{bid}"
                if name not in asked:
                    asked.add(name)
                    wanted.append(name)
        more = client.refs(names=wanted) if wanted else {}
        remote.update(more)
        fresh = more
        tips = list(more.values())
    if release:
        client.release()
    fetcher.commit()
    return remote, fetcher


def pull(store: ObjectStore, refs: RefStore, client: Client, names: list[str],
         release: bool = False) -> Outcome:
    """Fetch `names` and bring the local refs up to date; `release`: as
    for fetch_closure."""
    client.hello()
    remote, fetcher = fetch_closure(store, client, names, release=release)
    read = fetcher.read
    outcome = Outcome([], received=client.stats.received_objects, fetched=remote)
    for name in sorted(remote, key=ref_order):
        theirs, mine = remote[name], refs.get(name)
        if mine == theirs:
            line = RefUpdate(name, UP_TO_DATE, mine, theirs)
        elif mine is None:
            line = _set_local(refs, name, None, theirs, OK)
        elif is_ancestor(read, mine, theirs):
            line = _set_local(refs, name, mine, theirs, OK)
        elif is_ancestor(read, theirs, mine):
            line = RefUpdate(name, UP_TO_DATE, mine, mine)
        else:
            merged = write_merge(store, read, name, mine, theirs)
            line = _set_local(refs, name, mine, merged, MERGED)
        outcome.updates.append(line)
    return outcome


__all__ = ["push", "pull", "fetch_closure", "bundles_named", "RefUpdate", "Outcome", "history"]
