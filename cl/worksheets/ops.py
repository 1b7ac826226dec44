"""Operations on worksheets as functions of (repo, values): create, switch,
remove, add items, detach bundles, change name/title/tags, and history
(`cl wlog`, `WS@N`).  Every change is a new worksheet commit made by
compare-and-swap (Repository.commit_worksheet); nothing is rewritten."""

import re
from dataclasses import dataclass, field
from functools import cached_property

from cl.errors import CLError, InputError, SpecError
from cl.index import worksheets as wsindex
from cl.objects.ids import ObjectId
from cl.objects.types import WORKSHEET_TYPES, Item, Worksheet
from cl.objects.value import replace
from cl.repo import Repository, valid_worksheet_name

_VERSION = re.compile(r"(?P<ws>.*)@(?P<n>-?\d+)\Z")


# --- naming ---------------------------------------------------------------------


def resolve(repo: Repository, spec: str) -> str:
    """A worksheet spec (name, pattern, 0x-prefix, `.`) to its id; a full id
    also finds a removed worksheet."""
    from cl.bundles.specs import resolve_worksheet
    m = re.fullmatch(r"0x([0-9a-f]{32})", spec or "")
    if m and wsindex.by_exact_id(repo.db, m[1]):
        return m[1]
    return resolve_worksheet(repo, spec or ".")


def split_version(spec: str) -> tuple[str, int | None]:
    """`WS@N` -> (WS, N); a spec without `@N` -> (spec, None)."""
    m = _VERSION.match(spec or "")
    if m:
        return m["ws"] or ".", int(m["n"])
    return spec, None


def describe(repo: Repository, wid: str) -> str:
    row = repo.index.worksheet(wid)
    return f"{row['name']} (0x{wid[:8]})" if row else f"0x{wid[:8]}"


# --- create, switch, remove ---------------------------------------------------------


def create(repo: Repository, name: str, title: str = "", link: bool = True) -> str:
    """A new worksheet.  As in CodaLab, the current worksheet gets a link to
    it and it gets a link back."""
    with repo.store.writing(), repo.db.transaction():  # the span first (docs/design.md)
        wid = repo.new_worksheet(name, title)
        current = repo.current_worksheet()
        if link and current:
            repo.append_to_worksheet(current, (Item("worksheet", wid),), f"link to {name}")
            repo.append_to_worksheet(wid, (Item("worksheet", current),), "link back")
    return wid


def switch(repo: Repository, wid: str) -> None:
    row = repo.index.worksheet(wid)
    if row is None or row["deleted"]:
        raise CLError(f"worksheet 0x{wid[:8]} has been removed")
    with repo.db.transaction():
        repo.refs.set_if_equals("HEAD", repo.refs.get("HEAD"), wid)


def remove(repo: Repository, wid: str, force: bool = False) -> ObjectId:
    """Mark a worksheet removed (a new version with deleted=True).  Bundles
    on it are untouched.  A worksheet with items needs `force`."""
    _, ws = repo.worksheet_head(wid)
    if ws.deleted:
        raise CLError(f"worksheet '{ws.name}' is already removed")
    if ws.items and not force:
        raise CLError(f"worksheet '{ws.name}' has {len(ws.items)} item(s); use --force to remove it",
                      hint="its bundles stay; only the worksheet goes")
    return repo.commit_worksheet(wid, lambda w: replace(w, deleted=True), "remove")


# --- items ------------------------------------------------------------------------


def add_items(repo: Repository, wid: str, items, message: str) -> ObjectId:
    """Append items in one commit, without reading the items already
    there (`Repository.append_to_worksheet`).  The read-modify-write
    happens inside one write transaction, so concurrent adds all land."""
    _check_live(repo, wid)
    return repo.append_to_worksheet(wid, tuple(items), message)


def detach(repo: Repository, wid: str, bids: list[str], index: int | None = None) -> ObjectId:
    """Take bundles off a worksheet; the bundles themselves stay.  As in
    CodaLab, a bundle that appears more than once needs `index` to say
    which appearance goes, counting from the end (1 = the last); with
    `index`, that appearance of each bundle goes.  The places are found in
    the head the commit is made from, so a concurrent change cannot shift
    them."""
    _check_live(repo, wid)
    if index is not None and index < 1:
        raise InputError(f"invalid index: {index} (1 is the last appearance, 2 the one before, …)")
    bids = list(dict.fromkeys(bids))

    def change(w):
        return replace(w, items=_detached(w, bids, index))
    return repo.commit_worksheet(wid, change, f"detach {len(bids)} bundle(s)")


def _detached(ws: Worksheet, bids: list[str], index: int | None) -> tuple[Item, ...]:
    places: dict[str, list[int]] = {}
    for pos, item in enumerate(ws.items):
        if item.kind == "bundle":
            places.setdefault(item.value, []).append(pos)
    gone: set[int] = set()
    for bid in bids:
        found = places.get(bid, [])
        if not found:
            raise SpecError("0x" + bid[:8], f"bundle is not on worksheet '{ws.name}'")
        if index is None and len(found) > 1:
            raise SpecError("0x" + bid[:8], f"bundle appears {len(found)} times on worksheet '{ws.name}': "
                            "say which with -n N (1 = the last)")
        if index is not None and index > len(found):
            raise SpecError("0x" + bid[:8], f"bundle appears {len(found)} times on worksheet '{ws.name}', "
                            f"so there is no -n {index}")
        gone.add(found[-(index or 1)])
    return tuple(item for pos, item in enumerate(ws.items) if pos not in gone)


def set_info(repo: Repository, wid: str, name: str | None = None, title: str | None = None,
             tags: tuple[str, ...] | None = None) -> ObjectId:
    _check_live(repo, wid)
    if name is not None:
        if not valid_worksheet_name(name):
            raise InputError(f"invalid worksheet name: '{name}' (letters, digits, _ . - ; not starting with a digit)")
        if any(w["wid"] != wid for w in repo.index.worksheets(name)):
            raise CLError(f"a worksheet named '{name}' already exists")

    def change(w):
        return replace(w, name=w.name if name is None else name,
                       title=w.title if title is None else title,
                       tags=w.tags if tags is None else tuple(tags))
    what = ", ".join(k for k, v in (("name", name), ("title", title), ("tags", tags)) if v is not None)
    return repo.commit_worksheet(wid, change, f"set {what}")


def _check_live(repo: Repository, wid: str) -> None:
    row = repo.index.worksheet(wid)
    if row is None:
        raise CLError(f"no such worksheet: 0x{wid[:8]}")
    if row["deleted"]:
        raise CLError(f"worksheet '{row['name']}' has been removed")


# --- history ------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One version; `stored` is the commit as stored (its items may be
    chunked), `worksheet` the full value, gathered only when asked for."""
    number: int                 # 1 = the first version
    commit: ObjectId
    stored: object = field(repr=False)
    repo: Repository = field(repr=False, compare=False)

    @cached_property
    def worksheet(self) -> Worksheet:
        return self.repo.read(self.commit, Worksheet)

    @property
    def item_count(self) -> int:
        s = self.stored
        return len(s.items) if isinstance(s, Worksheet) else s.count + len(s.tail)


def history(repo: Repository, wid: str) -> list[Version]:
    """Every version reachable from the head, oldest first (merges bring
    several parents; all are walked), numbered from 1."""
    head, _ = repo.worksheet_head(wid)
    seen: dict = {}
    stack = [head]
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        ws = repo.read(cid)  # as stored: a chunked commit's items are not gathered
        if not isinstance(ws, WORKSHEET_TYPES):
            raise CLError(f"0x{cid[:12]} in the history of worksheet 0x{wid[:8]} is not a worksheet commit")
        seen[cid] = ws
        stack.extend(p for p in ws.parents if p not in seen and repo.store.has(p))
    ordered = sorted(seen.items(), key=lambda kv: (kv[1].time, kv[0]))
    return [Version(n, ObjectId(cid), ws, repo) for n, (cid, ws) in enumerate(ordered, 1)]


def version(repo: Repository, wid: str, n: int) -> Version:
    """The N-th version (1 the first; -1 the latest, -2 the one before)."""
    versions = history(repo, wid)
    index = n - 1 if n > 0 else len(versions) + n
    if n == 0 or not 0 <= index < len(versions):
        raise SpecError(f"@{n}", f"worksheet has versions 1 to {len(versions)}")
    return versions[index]
