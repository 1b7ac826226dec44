"""Remote-tracking refs: each named remote's worksheets and bundles as this
repository last saw them, under `remotes/NAME/worksheets/<wid>`,
`remotes/NAME/bundles/<id>` and `remotes/NAME/HEAD` (DESIGN §5 lets the
refs table hold them; the sync protocol never serves or moves them).

`fetch` brings a remote's objects and records its refs here without moving
a local worksheet or bundle; push and pull record what they saw.  `status`
compares each local worksheet with its tracking ref: up to date, ahead,
behind or diverged.  `worksheets` lists a remote's worksheets from the last
fetch, with no connection."""

from dataclasses import dataclass

from cl.bundles.roots import TRACKING
from cl.objects.ids import ObjectId
from cl.objects.types import WORKSHEET_TYPES
from cl.remote import exchange
from cl.remote.client import Client
from cl.repo import Repository
from cl.sync.remotes import open_remote, remotes, resolve

PREFIX = TRACKING  # what gc keeps as roots (cl/bundles/roots.py)
SYNCED = ("bundles/", "worksheets/")


def tracking_name(remote: str, name: str) -> str:
    return f"{PREFIX}{remote}/{name}"


def tracked(repo: Repository, remote: str) -> dict[str, str]:
    """The remote's refs as last seen: {'worksheets/<wid>': commit, …}."""
    start = len(tracking_name(remote, ""))
    return {name[start:]: value for name, value in repo.refs.items(tracking_name(remote, ""))}


def record(repo: Repository, remote: str, values: dict[str, str | None], complete: bool = False) -> None:
    """Set the tracking refs of `remote` to `values` (None: gone there).
    `complete`: `values` is everything the remote has; drop the rest."""
    if remote not in remotes(repo):
        return  # a bare URL has no name to track it under
    with repo.db.transaction():
        seen = tracked(repo, remote)
        if complete:
            values = {**{name: None for name in seen}, **values}
        for name, value in values.items():
            if seen.get(name) != value:
                repo.refs.set_if_equals(tracking_name(remote, name), seen.get(name), value)


def record_fetched(repo: Repository, remote: str, values: dict[str, str]) -> None:
    """After a pull: the remote's refs as fetched, whose objects are here
    now (asked again, one pushed there meanwhile would be recorded
    without them)."""
    record(repo, remote, {n: v for n, v in values.items() if n.startswith(SYNCED)})


def record_after(repo: Repository, client: Client, names: list[str]) -> None:
    """After a push of `names`: what the remote holds for them now."""
    wanted = [n for n in names if n.startswith(SYNCED)]
    if not wanted:
        return
    now = client.refs(names=wanted)
    record(repo, client.name, {n: now.get(n) for n in wanted})


@dataclass(frozen=True)
class Fetched:
    remote: str
    worksheets: int
    bundles: int
    changed: int
    received: int


def fetch(repo: Repository, remote: str | None) -> Fetched:
    """Bring every worksheet and bundle head of the remote (with their
    closures) into the store and record them as tracking refs; no local
    worksheet or bundle moves."""
    label, _ = resolve(repo, remote)
    with open_remote(repo, remote) as client:
        refs = client.refs(prefixes=list(SYNCED), names=["HEAD"])
        head = refs.pop("HEAD", None)
        values, _ = exchange.fetch_closure(repo.store, client, sorted(refs), known=refs, release=True)
        before = tracked(repo, label)
        new = {name: values[name] for name in values if name.startswith(SYNCED)}
        new["HEAD"] = head
        record(repo, label, new, complete=True)
        changed = sum(1 for name, value in new.items() if before.get(name) != value)
        return Fetched(label, sum(n.startswith("worksheets/") for n in new),
                       sum(n.startswith("bundles/") for n in new), changed,
                       client.stats.received_objects)


@dataclass(frozen=True)
class WorksheetStatus:
    wid: str
    name: str
    state: str          # up to date | ahead | behind | diverged | not on the remote
    ahead: int          # commits here that the remote's head lacks
    behind: int         # commits there that the local head lacks


def _ancestors(read, head: str) -> set[str]:
    seen, stack = set(), [head]
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        stack.extend(read(cid).parents)
    return seen


def status(repo: Repository, remote: str | None) -> tuple[str, list[WorksheetStatus]]:
    """Each live local worksheet against remote's tracking ref (as of the
    last fetch, push or pull)."""
    label, _ = resolve(repo, remote)
    there = tracked(repo, label)
    out = []
    for row in repo.index.worksheets():
        wid, name, head = row["wid"], row["name"], row["head"]
        theirs = there.get(f"worksheets/{wid}")
        if theirs is None:
            out.append(WorksheetStatus(wid, name, "not on the remote", 0, 0))
            continue
        if theirs == head:
            out.append(WorksheetStatus(wid, name, "up to date", 0, 0))
            continue
        mine_all, theirs_all = _ancestors(repo.read, head), _ancestors(repo.read, theirs)
        ahead, behind = len(mine_all - theirs_all), len(theirs_all - mine_all)
        state = "ahead" if not behind else "behind" if not ahead else "diverged"
        out.append(WorksheetStatus(wid, name, state, ahead, behind))
    return label, out


def worksheets(repo: Repository, remote: str) -> list[tuple[str, str, object]]:
    """(wid, head, commit) of the remote's live worksheets as last fetched."""
    out = []
    for name, head in sorted(tracked(repo, remote).items()):
        if not name.startswith("worksheets/") or not repo.store.has(head):
            continue
        commit = repo.read(head)
        if isinstance(commit, WORKSHEET_TYPES) and not commit.deleted:
            out.append((name[len("worksheets/"):], ObjectId(head), commit))
    return out
