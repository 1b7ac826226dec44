"""What the web pages (cl/web) ask of the workflows, always for one person:
each function takes the request's Policy (cl/auth/policy.py) and refuses
(`Refused`, a 403 to the pages) what that person may not read or change.

* Worksheets: the list (only readable ones), a worksheet's page rendered
  as `cl print --html` renders it but with names linking to the server's
  pages, the states of its bundles (what the open page polls), its text
  form and saving it with `cl wedit`'s compare-and-swap, adding text and
  creating a run.
* Bundles: the info record, the provenance graph both ways, directory
  listings, file bytes and a running bundle's stdout/stderr from an offset,
  its owner and permissions.

A bundle on a readable worksheet that the person may not read (its ref is
another's) is shown as "(private)": its row keeps its place, its values,
state and contents are not shown."""

from __future__ import annotations

import dataclasses
from typing import IO, TYPE_CHECKING, Any, Iterable

from cl.errors import CLError, InputError
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.users import ServedAccess

FINAL = ("ready", "failed", "killed")
PRIVATE = "(private)"
LEVEL_NAMES = {0: "none", 1: "read", 2: "all"}


class Refused(CLError):
    """The person may not see or do this (a 403 page)."""


class SignInNeeded(Refused):
    """Anonymous: signing in may help."""


# --- who ---------------------------------------------------------------------------


def served(repo: Repository) -> ServedAccess:
    """The permission database and closure cache the pages use for the
    server's lifetime."""
    from cl.app.users import ServedAccess
    return ServedAccess(repo)


def policy_of(access: ServedAccess, user: str | None) -> Any:
    """The Policy of a signed-in `user` (None: anonymous), or None when
    that user no longer exists (removed while signed in)."""
    from cl.auth.policy import ANONYMOUS, LEGACY_USER
    a = access.access
    if user is None:
        return a.policy(ANONYMOUS)
    if access.store.user(user) is None and user != LEGACY_USER:
        return None
    return a.policy(a.principal(user))


def check_password(access: ServedAccess, user: str, password: str) -> str | None:
    """The user name when the password is right, else None."""
    principal = access.access.sign_in(user, password)
    return None if principal is None else principal.user


def check_token(access: ServedAccess, token: str) -> str | None:
    """The user a token is bound to, else None."""
    principal = access.access.authenticate("Bearer " + token.strip()) if token.strip() else None
    return None if principal is None or principal.anonymous else principal.user


def _need(policy: Any, ref: str, level: int, what: str) -> None:
    if policy.level(ref) >= level:
        return
    verb = "read" if level == 1 else "change"
    if policy.principal.anonymous:
        raise SignInNeeded(f"sign in to {verb} {what}: it is not public")
    raise Refused(f"{policy.principal.user} may not {verb} {what}")


def _ws_ref(wid: str) -> str:
    return f"worksheets/{wid}"


def _b_ref(bid: str) -> str:
    return f"bundles/{bid}"


# --- worksheets ---------------------------------------------------------------------


def worksheet_rows(repo: Repository, policy: Any, keywords: Iterable[str] = ()) -> list[Any]:
    """The worksheets this person may read, as WorksheetRows (`cl wls`)."""
    from cl.app import worksheets as app_ws
    return [r for r in app_ws.search(repo, list(keywords)).rows if policy.level(_ws_ref(r.id)) >= 1]


def readable_worksheet(repo: Repository, policy: Any, spec: str) -> str:
    """The id of the worksheet `spec` names, if this person may read it."""
    from cl.app import worksheets as app_ws
    wid = app_ws.resolve(repo, spec)
    _need(policy, _ws_ref(wid), 1, f"worksheet {spec}")
    return wid


def writable_worksheet(repo: Repository, policy: Any, wid: str) -> None:
    _need(policy, _ws_ref(wid), 2, f"worksheet 0x{wid[:8]}")


def can_write(policy: Any, wid: str) -> bool:
    return policy.level(_ws_ref(wid)) >= 2


@dataclasses.dataclass(frozen=True)
class WorksheetView:
    wid: str
    head: str
    name: str
    title: str
    document: str       # the whole `cl print --html` document, names linking to `server`
    private: int        # bundles shown as (private)


def worksheet_view(repo: Repository, policy: Any, wid: str, server: str) -> WorksheetView:
    """The page of a readable worksheet, rendered by `cl print --html`'s
    renderer with names linking to `server`/bundles/0x… (a relative base
    such as `..` works)."""
    from cl.app import worksheets as app_ws
    from cl.worksheets import html as html_ops
    from cl.worksheets import pagerefs
    head, ws = repo.worksheet_head(wid)
    p = app_ws.page(repo, "0x" + wid, embed=True)
    refs = pagerefs.collect(repo, p)
    hidden = {c.id for c in refs.bundles if policy.level(_b_ref(c.id)) < 1}
    hidden_ws = {w.id for w in refs.worksheets if policy.level(_ws_ref(w.id)) < 1}
    if hidden or hidden_ws:
        p, refs = _redacted(p, refs, hidden, hidden_ws)
    p = _humanized(p)
    return WorksheetView(wid, str(head), str(ws.name), str(ws.title),
                         html_ops.render_page(p, refs, server), len(hidden))


def _redacted(p: Any, refs: Any, hidden: set[str], hidden_ws: set[str]) -> tuple[Any, Any]:
    """The page and its cards with the `hidden` bundles' values, states
    and contents, and the `hidden_ws` worksheets' names and titles, taken
    out."""
    from cl.worksheets import blocks as b
    from cl.worksheets.pagerefs import BundleCard, WorksheetCard

    def block(blk: Any) -> Any:
        if isinstance(blk, b.Table):
            rows = tuple(dataclasses.replace(r, cells=tuple(PRIVATE if c else c for c in r.cells))
                         if r.bundle in hidden else r for r in blk.rows)
            return dataclasses.replace(blk, rows=rows)
        if isinstance(blk, b.Graph):
            if any(bid in hidden for bid, _ in blk.bundles):
                return b.Problem("a graph of bundles you may not read")
            return blk
        if isinstance(blk, (b.Record, b.Inline, b.FileView, b.Link)) and blk.bundle in hidden:
            return b.Problem(f"bundle 0x{blk.bundle[:8]}: {PRIVATE}")
        if isinstance(blk, b.WorksheetLink) and blk.worksheet in hidden_ws:
            return dataclasses.replace(blk, name=PRIVATE, title="")
        return blk
    cards = tuple(BundleCard(c.id, PRIVATE) if c.id in hidden else c for c in refs.bundles)
    ws_cards = tuple(WorksheetCard(w.id, PRIVATE) if w.id in hidden_ws else w for w in refs.worksheets)
    return (dataclasses.replace(p, blocks=tuple(block(x) for x in p.blocks)),
            dataclasses.replace(refs, bundles=cards, worksheets=ws_cards))


SIZE_COLUMNS = {"data_size", "size", "memory", "peak_memory", "request_memory", "request_disk", "disk"}
TIME_COLUMNS = {"time", "request_time", "run_time", "elapsed"}


def _humanized(p: Any) -> Any:
    """The page with table columns of bytes and seconds (data_size,
    memory, time, …) in human units (1.5 MiB, 3 min 5 s)."""
    from cl.worksheets import blocks as b

    def cell(header: str, value: str) -> str:
        try:
            if header in SIZE_COLUMNS:
                return human_bytes(int(value))
            if header in TIME_COLUMNS:
                return human_seconds(float(value))
        except ValueError:
            pass
        return value

    def table(blk: Any) -> Any:
        heads = [h.lower() for h in blk.headers]
        if not SIZE_COLUMNS.union(TIME_COLUMNS).intersection(heads):
            return blk
        rows = tuple(dataclasses.replace(r, cells=tuple(cell(heads[i] if i < len(heads) else "", c)
                                                        for i, c in enumerate(r.cells)))
                     for r in blk.rows)
        return dataclasses.replace(blk, rows=rows)
    return dataclasses.replace(p, blocks=tuple(table(x) if isinstance(x, b.Table) else x for x in p.blocks))


def worksheet_states(repo: Repository, policy: Any, wid: str) -> dict[str, Any]:
    """What the open page polls: the worksheet's head commit and each
    readable bundle's state."""
    from cl.app.listing import listing_rows
    head, _ = repo.worksheet_head(wid)
    states = {}
    for row in listing_rows(repo, "0x" + wid):
        bid = row["id"][2:]
        if bid not in states and policy.level(_b_ref(bid)) >= 1:
            states[bid] = row["state"]
    return {"head": str(head), "states": states}


def _unreadable(policy: Any, items: Iterable[Any]) -> list[Any]:
    """The bundle and worksheet items this person may not read."""
    return [i for i in items if i.kind == "bundle" and policy.level(_b_ref(i.value)) < 1
            or i.kind == "worksheet" and policy.level(_ws_ref(i.value)) < 1]


def _check_named(policy: Any, items: Iterable[Any]) -> None:
    """Refuse text naming a bundle or worksheet this person may not read:
    the item would put it in the worksheet's closure, which the
    worksheet's readers may fetch.  (No id in the message: a name must not
    turn into another's id.)"""
    bad = _unreadable(policy, items)
    if bad:
        who = policy.principal.user or "anonymous"
        raise Refused(f"the text names a {bad[0].kind} that does not exist or that {who} may not read")


def editing(repo: Repository, policy: Any, wid: str) -> tuple[str, str]:
    """(head commit, text form) of a worksheet this person may change.
    A worksheet holding items they may not read is refused: its text form
    would name them."""
    from cl.app import worksheets as app_ws
    writable_worksheet(repo, policy, wid)
    head, ws = repo.worksheet_head(wid)
    hidden = _unreadable(policy, ws.items)
    if hidden:
        who = policy.principal.user or "anonymous"
        raise Refused(f"worksheet {ws.name} holds {len(hidden)} item(s) {who} may not read; its text would name "
                      "them, so it cannot be edited here (add text instead, or ask its owner)")
    head, _, text = app_ws.editing(repo, wid)
    return str(head), text


def save(repo: Repository, policy: Any, wid: str, text: str, expected_head: str) -> str | None:
    """Save edited markup unless the worksheet moved past `expected_head`
    (cl.errors.Conflict, as `cl wedit`); the new commit, None when nothing
    changed.  `!COMMAND` lines are refused (the page runs no commands), as
    is text naming a bundle or worksheet this person may not read.  The
    items checked are the items committed (names are resolved once)."""
    from cl.objects.value import replace
    from cl.worksheets import edit, markup
    writable_worksheet(repo, policy, wid)
    _, current = repo.worksheet_head(wid)
    if current.deleted:
        raise CLError(f"worksheet '{current.name}' has been removed")
    lines = markup.parse(text)
    for line in lines:
        if isinstance(line, markup.Command):
            raise markup.MarkupError(line.lineno, f"'!{line.argv[0]}' commands are not run from the web page "
                                                  "(use cl wedit); take the line out to save")
    resolved = edit.resolve(repo, lines, wid)
    _check_named(policy, resolved.items)
    title = resolved.title if resolved.title is not None else current.title
    if resolved.items == current.items and title == current.title:
        return None
    commit = repo.commit_worksheet(wid, lambda ws: replace(ws, items=resolved.items, title=title), "edit",
                                   expected_head=expected_head)
    return str(commit)


def add_text(repo: Repository, policy: Any, wid: str, text: str) -> None:
    """Append text (Markdown, directives, references) as `cl add -m`
    does, refusing references to what this person may not read."""
    from cl.worksheets import edit, ops
    writable_worksheet(repo, policy, wid)
    if not text.strip():
        raise InputError("nothing to add: the text is empty")
    items = edit.parse_added_text(repo, text, wid)
    _check_named(policy, items)
    ops.add_items(repo, wid, list(items), f"add {len(items)} item(s)")


def create_run(repo: Repository, policy: Any, wid: str, command: str, dependencies: Iterable[str] = (),
               name: str | None = None) -> str:
    """A run of `command` on the worksheet over [KEY:]BUNDLE[/PATH]
    dependencies (names looked up on the worksheet), each of which this
    person must be able to read; the new run is theirs.  Its id."""
    from cl.app import runs as app_runs
    from cl.bundles.make import parse_keyed
    from cl.bundles.specs import resolve_target
    writable_worksheet(repo, policy, wid)
    if policy.principal.anonymous:
        raise SignInNeeded("sign in to create a run")
    if not command.strip():
        raise InputError("a run needs a command")
    targets = []
    for dep in dependencies:
        if "::" in dep:
            raise InputError(f"'{dep}': a run made on the server reads only the server's bundles")
        key, spec = parse_keyed(dep)
        t = resolve_target(repo, spec, wid)
        _need(policy, _b_ref(str(t.bundle)), 1, f"bundle {spec}")
        full = f"0x{t.bundle}" + (f"/{t.path}" if t.path else "")
        targets.append(f"{key}:{full}" if key else full)
    launched = app_runs.run(repo, targets, command, name=name or None, worksheet="0x" + wid)
    bid = str(launched.id).removeprefix("0x")
    policy.updated(_b_ref(bid))
    return bid


# --- bundles ------------------------------------------------------------------------


def readable_bundle(repo: Repository, policy: Any, spec: str) -> str:
    """The id of the bundle `spec` (0x… or a name) names, if this person
    may read it."""
    from cl.bundles.specs import resolve_bundle
    bid = str(resolve_bundle(repo, spec, None))
    _need(policy, _b_ref(bid), 1, f"bundle {spec}")
    return bid


def bundle_info(repo: Repository, bid: str) -> dict[str, Any]:
    from cl.app import bundles
    [rec] = bundles.info(repo, ["0x" + bid], verbose=True)
    return rec


def provenance(repo: Repository, policy: Any, bid: str, depth: int = 4) -> dict[str, Any]:
    """Ancestors and descendants of a bundle (`cl ancestors/descendants
    --json`), bundles this person may not read named (private)."""
    from cl.app import provenance as prov
    out = {}
    for direction in ("ancestors", "descendants"):
        g = prov.graph_json(prov.graph(repo, "0x" + bid, direction, depth))
        for node in g["nodes"]:
            node["readable"] = policy.level(_b_ref(node["id"].removeprefix("0x"))) >= 1
            if not node["readable"]:
                node.update(name=PRIVATE, state="", kind="")
        out[direction] = g
    return out


def list_dir(repo: Repository, bid: str, path: str) -> list[Any] | None:
    """The entries (name, type, size) at `path` in the bundle if it is a
    directory, else None (a running bundle: what it has written so far)."""
    from cl.bundles import read as read_ops
    from cl.bundles.specs import Target
    from cl.objects.ids import ObjectId
    from cl.objects.trees import split_path
    return read_ops.list_dir(repo, Target(ObjectId(bid), "/".join(split_path(path))))


def open_file(repo: Repository, bid: str, path: str) -> IO[bytes]:
    from cl.app import bundles
    return bundles.open_file(repo, bid, path)


def output(repo: Repository, bid: str, stream: str, offset: int, limit: int = 1 << 20) -> dict[str, Any]:
    """A run's stdout or stderr from byte `offset` (at most `limit` bytes):
    {"data": text, "offset": the next offset, "state": …, "final": the run
    has ended and this is all}.  Read from the run directory while it runs,
    from its contents afterwards (the same bytes)."""
    from cl.app import runs as app_runs
    from cl.runs.paths import STREAMS, run_dir
    if stream not in STREAMS:
        raise InputError(f"no such output: {stream}")
    state = app_runs.state(repo, bid)
    data = b""
    if state in FINAL:
        # a run that ended before it started (killed while staged) has no output files
        top = list_dir(repo, bid, "") if repo.contents(bid) is not None else None
        if top is not None and any(e.name == stream for e in top):
            with open_file(repo, bid, stream) as f:
                f.seek(offset)
                data = f.read(limit)
    else:
        try:
            with open(f"{run_dir(repo, bid)}/{stream}", "rb") as f:
                f.seek(offset)
                data = f.read(limit)
        except FileNotFoundError:
            data = b""
    more = len(data) == limit
    return {"data": data.decode("utf-8", errors="replace"), "offset": offset + len(data), "state": state,
            "final": state in FINAL and not more}


def permissions(policy: Any, bid: str) -> dict[str, Any]:
    """The owner of a bundle and each group's level on it."""
    store = policy.access.store
    ref = _b_ref(bid)
    return {"owner": store.owner(ref) or "root",
            "groups": {g: LEVEL_NAMES.get(v, str(v)) for g, v in sorted(store.perms(ref).items())},
            "yours": LEVEL_NAMES[policy.level(ref)]}


def trusted_proxies(repo: Repository) -> frozenset[str]:
    """The addresses whose X-Forwarded-Proto is believed: config
    `server.proxy_ips` (default 127.0.0.1) when `server.behind_proxy` is
    set (a TLS proxy fronts the server), else none."""
    if not repo.config.get("server", "behind_proxy", False):
        return frozenset()
    ips = str(repo.config.get("server", "proxy_ips", "127.0.0.1") or "127.0.0.1")
    return frozenset(ip.strip() for ip in ips.split(",") if ip.strip())


def human_bytes(n: int | None) -> str:
    from cl.worksheets.html import human_bytes as hb
    return "" if n is None else hb(int(n))


def human_seconds(s: float | None) -> str:
    from cl.worksheets.html import human_seconds as hs
    return "" if s is None else hs(float(s))
