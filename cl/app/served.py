"""What a served repository gives one principal (the REST API's workflows).

Every function takes the served repository, the request's Policy
(cl/auth/policy.py) and plain values, checks the policy first and then
calls the same workflows as the `cl` command.  A user sees only what
they may read: a bundle or worksheet they may not read is reported as
missing (NotFound), exactly like one that does not exist, so an id or a
name is never confirmed to a stranger; one they may read but not change
is Forbidden.  What a signed-in user creates (an upload, a run) becomes
theirs, as a push does.

Reaching a worksheet reaches the bundle objects its items name, so a
worksheet page shows a bundle's state, results and files only to those
who may read the bundle's ref; others see the row as private.  Saving
markup refuses items naming bundles or worksheets the editor may not
read: otherwise an edit would publish another's data to the worksheet's
readers."""

from __future__ import annotations

import dataclasses
import re
from typing import IO, Any, Iterable

from cl.errors import CLError, Conflict, InputError, UsageError
from cl.repo import Repository

PRIVATE = "<private>"
_HEX = re.compile(r"(?:0x)?([0-9a-f]{8,64})\Z")
_WORKER_LOG_LINES = 200


class NotFound(CLError):
    """No such thing, or the principal may not read it (the same answer)."""


class Forbidden(CLError):
    """The principal may read this but not do what was asked."""


class SignInNeeded(CLError):
    """Anonymous requests only read."""


def outcome(exc: CLError) -> str:
    """What kind of refusal an error is, for a front end to choose its
    answer: not_found, forbidden, sign_in, conflict, unavailable or bad
    (the request itself is wrong)."""
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, SignInNeeded):
        return "sign_in"
    if isinstance(exc, Conflict):
        return "conflict"
    from cl.auth.admin import AccessDenied
    if isinstance(exc, (Forbidden, AccessDenied)):
        return "forbidden"
    from cl.refs.db import DatabaseUnavailable
    if isinstance(exc, DatabaseUnavailable):
        return "unavailable"
    return "bad"


def _signed_in(policy: Any, repo: Repository | None = None) -> str:
    """The principal's user name; with `repo` (a connection of the server's
    own, never shared between requests at once), what it writes from now on
    is recorded as that user's (states, worksheet versions)."""
    if policy.principal.user is None:
        raise SignInNeeded("sign in to change anything (anonymous requests only read)")
    if repo is not None:
        repo.acting_user = str(policy.principal.user)
    return str(policy.principal.user)


# --- names ---------------------------------------------------------------------


def bundle_id(repo: Repository, policy: Any, spec: str, level: int = 1) -> str:
    """The full id of the bundle `spec` (hex, 0x optional, 8 to 64 digits)
    names, if the principal has `level` on it (1 read, 2 all)."""
    m = _HEX.match(spec.lower()) if isinstance(spec, str) else None
    if m is None:
        raise InputError(f"a bundle is named by its id (0x and 8 to 64 hex digits), not '{spec}'")
    from cl.bundles.specs import resolve_bundle
    try:
        bid = resolve_bundle(repo, "0x" + m.group(1))
    except CLError:
        raise NotFound(f"no such bundle: '{spec}'") from None
    _check(policy, f"bundles/{bid}", level, f"no such bundle: '{spec}'")
    return bid


def worksheet_id(repo: Repository, policy: Any, spec: str, level: int = 1) -> str:
    """The id of the worksheet `spec` (a name or 0x-id) names, if the
    principal has `level` on it."""
    from cl.bundles.specs import resolve_worksheet
    if not isinstance(spec, str) or not spec or spec.startswith(("/", ".", "^")) or "::" in spec:
        raise NotFound(f"no such worksheet: '{spec}'")
    try:
        wid = str(resolve_worksheet(repo, spec))
    except CLError:
        raise NotFound(f"no such worksheet: '{spec}'") from None
    _check(policy, f"worksheets/{wid}", level, f"no such worksheet: '{spec}'")
    return wid


def _check(policy: Any, ref: str, level: int, missing: str) -> None:
    have = policy.level(ref)
    if have < 1:
        raise NotFound(missing)
    if have < level:
        if policy.principal.user is None:
            raise SignInNeeded("sign in to change anything (anonymous requests only read)")
        raise Forbidden(f"{policy.principal.user} may not change '{ref}' (needs 'all' permission)")


def _permissions(policy: Any, ref: str) -> dict[str, Any]:
    shown = policy.act("show", {"refs": [ref]})["permissions"].get(ref)
    return shown or {}


# --- who -------------------------------------------------------------------------


def whoami(policy: Any) -> dict[str, Any]:
    p = policy.principal
    return {"user": p.user, "root": p.root, "groups": sorted(p.groups)}


def act(policy: Any, action: str, args: dict[str, Any]) -> dict[str, Any]:
    """One of CodaLab's user/group/permission actions (cl/auth/admin.py)."""
    result: dict[str, Any] = policy.act(action, args)
    return result


def set_permission(repo: Repository, policy: Any, kind: str, spec: str, group: str, level: str) -> dict:
    ref = _ref(repo, policy, kind, spec)
    _signed_in(policy)
    return act(policy, "perm", {"refs": [ref], "group": group, "level": level})


def set_owner(repo: Repository, policy: Any, kind: str, spec: str, user: str) -> dict:
    ref = _ref(repo, policy, kind, spec)
    _signed_in(policy)
    return act(policy, "chown", {"refs": [ref], "user": user})


def permissions(repo: Repository, policy: Any, kind: str, spec: str) -> dict[str, Any]:
    """Owner, group permissions and the asker's own level."""
    return _permissions(policy, _ref(repo, policy, kind, spec))


def _ref(repo: Repository, policy: Any, kind: str, spec: str) -> str:
    if kind == "bundle":
        return f"bundles/{bundle_id(repo, policy, spec)}"
    return f"worksheets/{worksheet_id(repo, policy, spec)}"


# --- worksheets --------------------------------------------------------------------


def worksheets(repo: Repository, policy: Any, keywords: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The worksheets the principal may read that the keywords find (the
    worksheet search language of `cl wls`), each with its permissions."""
    from cl.app.worksheets import search
    keywords = [k for k in keywords if k]
    if any(k == ".count" for k in keywords):
        raise UsageError("the REST API lists worksheets: leave out .count")
    out = []
    for row in search(repo, keywords).rows:
        ref = f"worksheets/{row.id}"
        if policy.can_read_ref(ref):
            record = row.to_json()
            record.pop("current", None)
            out.append({**record, "permissions": _permissions(policy, ref)})
    return out


def worksheet(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """A worksheet's head: id, name, title, head commit, items, permissions."""
    wid = worksheet_id(repo, policy, spec)
    head, ws = repo.worksheet_head(wid)
    return {"id": "0x" + wid, "name": ws.name, "title": ws.title, "head": "0x" + head,
            "tags": list(ws.tags), "frozen": bool(ws.frozen), "author": ws.author,
            "items": [{"kind": i.kind, "value": _item_value(policy, i)} for i in ws.items],
            "permissions": _permissions(policy, f"worksheets/{wid}")}


def new_worksheet(repo: Repository, policy: Any, name: str, title: str = "") -> dict[str, Any]:
    """A new, empty worksheet owned by the principal (names are the
    server's: one taken by anyone is refused)."""
    from cl.app.worksheets import new
    _signed_in(policy, repo)
    wid = new(repo, name, title, link=False)
    policy.updated(f"worksheets/{wid}")
    return {"id": "0x" + wid, "name": name}


def _item_value(policy: Any, item: Any) -> str:
    if item.kind == "bundle":
        return "0x" + item.value if policy.can_read_ref(f"bundles/{item.value}") else PRIVATE
    if item.kind == "worksheet":
        return "0x" + item.value if policy.can_read_ref(f"worksheets/{item.value}") else PRIVATE
    return str(item.value)


def page(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """A worksheet interpreted as display blocks (`cl print --json`), with
    what the principal may not read shown as private."""
    from cl.app.worksheets import page as interpret, page_json
    wid = worksheet_id(repo, policy, spec)
    p = interpret(repo, "0x" + wid)
    p = dataclasses.replace(p, blocks=tuple(_redact(policy, b) for b in p.blocks))
    return page_json(p)


def _redact(policy: Any, block: Any) -> Any:
    """A block without what the principal may not read."""
    def readable(bid: str) -> bool:
        return bool(policy.can_read_ref(f"bundles/{bid}"))
    kind = type(block).__name__
    if kind == "Table":
        rows = tuple(r if readable(r.bundle) else dataclasses.replace(r, bundle="", cells=(PRIVATE,) * len(r.cells))
                     for r in block.rows)
        return dataclasses.replace(block, rows=rows)
    if kind == "Graph":
        keep = {b for b, _ in block.bundles if readable(b)}
        if len(keep) == len(block.bundles):
            return block
        return dataclasses.replace(block, bundles=tuple(b for b in block.bundles if b[0] in keep), series=(),
                                   error="some of its bundles are private")
    if kind == "WorksheetLink":
        if policy.can_read_ref(f"worksheets/{block.worksheet}"):
            return block
        return dataclasses.replace(block, worksheet="", name=PRIVATE, title="")
    bid = getattr(block, "bundle", None)
    if bid is None or readable(bid):
        return block
    if kind == "Record":
        return dataclasses.replace(block, bundle="", name=PRIVATE, rows=())
    if kind == "Inline":
        return dataclasses.replace(block, bundle="", name=PRIVATE, value=PRIVATE)
    if kind == "FileView":
        return dataclasses.replace(block, bundle="", name=PRIVATE, lines=(), data=None, error="private")
    if kind == "Link":
        return dataclasses.replace(block, bundle="", name=PRIVATE)
    return dataclasses.replace(block, bundle="")


def markup(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """The text `cl wedit` edits and the head it was read at (to save with)."""
    from cl.app.worksheets import editing
    wid = worksheet_id(repo, policy, spec)
    head, name, text = editing(repo, wid)
    return {"id": "0x" + wid, "name": name, "head": "0x" + head, "text": text}


def save_markup(repo: Repository, policy: Any, spec: str, text: str, head: str) -> dict[str, Any]:
    """Save edited markup unless the worksheet moved past `head` (Conflict).
    Commands (`!…`) are not run from the API; every bundle and worksheet
    the text names must be readable by the editor."""
    from cl.objects.value import replace
    from cl.worksheets import edit, markup as parse_markup
    if not isinstance(text, str) or not isinstance(head, str):
        raise UsageError("give 'text' and 'head' (the head the text was read at) as strings")
    wid = worksheet_id(repo, policy, spec, level=2)
    _signed_in(policy, repo)
    expected = head[2:] if head.startswith("0x") else head
    lines = parse_markup.parse(text)
    for line in lines:
        if isinstance(line, parse_markup.Command):
            raise parse_markup.MarkupError(line.lineno, "commands ('!…') run only from 'cl wedit'")
    current_head, current = repo.worksheet_head(wid)
    if current_head != expected:
        raise Conflict(f"worksheet '{current.name}' changed since it was read (head is 0x{current_head})")
    resolved = edit.resolve(repo, lines, wid)
    for item in resolved.items:
        if item.kind in ("bundle", "worksheet") and _item_value(policy, item) == PRIVATE:
            # (no id in the message: a name must not turn into another's id)
            raise NotFound(f"the markup names a {item.kind} that does not exist or that "
                           f"{policy.principal.user} may not read")
    title = resolved.title if resolved.title is not None else current.title
    if resolved.items == current.items and title == current.title:
        return {"id": "0x" + wid, "head": "0x" + current_head, "changed": False}
    commit = repo.commit_worksheet(wid, lambda ws: replace(ws, items=resolved.items, title=title),
                                   "edit", expected_head=expected)
    return {"id": "0x" + wid, "head": "0x" + commit, "changed": True}


# --- bundles -------------------------------------------------------------------


def search(repo: Repository, policy: Any, keywords: Iterable[str]) -> list[dict[str, Any]]:
    """The bundles CodaLab's search language finds that the principal may read."""
    from cl.app.bundles import search as search_bundles
    from cl.app.listing import bundle_json
    keywords = [k for k in keywords if k]
    if any(k.startswith((".count", ".sum", ".format")) or re.match(r"\w+=\.sum\Z", k) for k in keywords):
        raise UsageError("the REST API lists bundles: leave out .count, .sum and .format")
    rows = [r for r in search_bundles(repo, keywords).rows if policy.can_read_ref(f"bundles/{r.id}")]
    return bundle_json(rows)


def info(repo: Repository, policy: Any, spec: str, verbose: bool = False) -> dict[str, Any]:
    """`cl info` of one bundle, with its permissions."""
    from cl.bundles.info import record
    from cl.objects.ids import ObjectId
    bid = bundle_id(repo, policy, spec)
    rec = record(repo, ObjectId(bid), verbose)
    return {**rec, "permissions": _permissions(policy, f"bundles/{bid}")}


def edit(repo: Repository, policy: Any, spec: str, *, name: str | None = None,
         description: str | None = None, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """Change a bundle's name, description or tags (a new state), as `cl edit`."""
    from cl.app.bundles import edit as edit_bundle
    bid = bundle_id(repo, policy, spec, level=2)
    _signed_in(policy, repo)
    edit_bundle(repo, "0x" + bid, name=name, description=description,
                tags=None if tags is None else tuple(tags))
    return info(repo, policy, "0x" + bid)


def remove(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """Remove a bundle nothing else depends on, as `cl rm`."""
    from cl.app.bundles import plan_removal, remove as remove_bundles
    bid = bundle_id(repo, policy, spec, level=2)
    _signed_in(policy, repo)
    dependents = repo.index.dependents(bid)
    if dependents:  # counted, not named: the principal may not read them
        raise Conflict(f"0x{bid[:8]} has {len(dependents)} dependent bundle(s): remove them first")
    remove_bundles(repo, plan_removal(repo, ["0x" + bid]))
    return {"id": "0x" + bid, "deleted": True}


def provenance(repo: Repository, policy: Any, spec: str, direction: str,
               depth: int | None = None) -> dict[str, Any]:
    """A bundle's ancestors or descendants, without bundles the principal
    may not read (nor the edges to them)."""
    from cl.app.provenance import graph, graph_json
    if direction not in ("ancestors", "descendants"):
        raise UsageError(f"direction is ancestors or descendants, not '{direction}'")
    bid = bundle_id(repo, policy, spec)
    g = graph_json(graph(repo, "0x" + bid, direction, depth))
    hidden = {n["id"] for n in g.get("nodes", []) if not policy.can_read_ref(f"bundles/{_bare(n['id'])}")}
    if hidden:
        g["nodes"] = [n for n in g["nodes"] if n["id"] not in hidden]
        g["edges"] = [e for e in g.get("edges", [])
                      if e.get("parent") not in hidden and e.get("child") not in hidden]
        g["private"] = len(hidden)
    return g


def _bare(oid: str) -> str:
    return oid[2:] if oid.startswith("0x") else oid


def contents(repo: Repository, policy: Any, spec: str, path: str = "") -> dict[str, Any]:
    """What is at `path` in a bundle: a directory's entries, or a file's size."""
    from cl.bundles import read
    from cl.bundles.specs import Target
    from cl.objects.ids import ObjectId
    from cl.objects.trees import split_path
    bid = bundle_id(repo, policy, spec)
    target = Target(ObjectId(bid), "/".join(split_path(path or "")))
    entries = read.list_dir(repo, target)
    if entries is not None:
        return {"bundle": "0x" + bid, "path": target.path, "type": "directory",
                "entries": [{"name": e.name, "type": e.type, "size": e.size} for e in entries]}
    f, size = open_file(repo, policy, "0x" + bid, target.path)
    f.close()
    return {"bundle": "0x" + bid, "path": target.path, "type": "file", "size": size}


def open_file(repo: Repository, policy: Any, spec: str, path: str = "") -> tuple[IO[bytes], int | None]:
    """A file of a bundle, opened, and its size when it can be known
    without reading it (None for a file still being written by a run)."""
    from cl.app.bundles import open_file as open_bundle_file
    bid = bundle_id(repo, policy, spec)
    f = open_bundle_file(repo, bid, path or "")
    size = None
    try:
        if f.seekable():
            size = f.seek(0, 2)
            f.seek(0)
    except OSError:
        size = None
    return f, size


def check_upload(repo: Repository, policy: Any, worksheet: str) -> None:
    """Refuse an upload before its body is read: the principal must be
    signed in and may change `worksheet`."""
    _signed_in(policy)
    worksheet_id(repo, policy, worksheet, level=2)


def upload(repo: Repository, policy: Any, path: str, worksheet: str, *, name: str | None = None,
           description: str = "", tags: Iterable[str] = ()) -> str:
    """Upload a file (an archive is unpacked, as `cl upload` does) as a
    bundle on a worksheet the principal may change; the bundle is theirs."""
    from cl.app.bundles import upload as upload_bundle
    _signed_in(policy, repo)
    wid = worksheet_id(repo, policy, worksheet, level=2)
    bid = str(upload_bundle(repo, [path], name=name or None, description=description, tags=tuple(tags),
                            worksheet="0x" + wid))
    policy.updated(f"bundles/{bid}")
    return bid


def run(repo: Repository, policy: Any, dependencies: Iterable[str], command: str, worksheet: str, *,
        name: str | None = None, description: str = "", tags: Iterable[str] = (),
        request: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a run of `command` over `KEY:0xID[/path]` dependencies the
    principal may read, on a worksheet they may change; it is theirs and
    queued for the server's workers."""
    from cl.app.runs import run as create_run
    from cl.bundles.make import parse_keyed
    _signed_in(policy, repo)
    if not isinstance(command, str) or not command.strip():
        raise UsageError("'command' must be a non-empty string")
    wid = worksheet_id(repo, policy, worksheet, level=2)
    targets = []
    for dep in dependencies:
        if not isinstance(dep, str):
            raise UsageError("each dependency is a string KEY:0xID[/PATH]")
        key, target = parse_keyed(dep)
        if not key:
            raise UsageError(f"a dependency needs a key: KEY:0xID[/PATH], not '{dep}'")
        spec, _, sub = target.partition("/")
        bid = bundle_id(repo, policy, spec)
        targets.append(f"{key}:0x{bid}" + (f"/{sub}" if sub else ""))
    launched = create_run(repo, targets, command, name=name or None, description=description,
                          tags=tuple(tags), request=request or None, worksheet="0x" + wid)
    bid = str(launched.id)
    policy.updated(f"bundles/{bid}")
    return {"id": "0x" + bid, "reused": launched.reused}


def kill(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """Kill a run the principal may change."""
    from cl.app.runs import kill as kill_runs
    bid = bundle_id(repo, policy, spec, level=2)
    _signed_in(policy, repo)
    for _ in kill_runs(repo, ["0x" + bid]):
        pass
    return {"id": "0x" + bid, "state": repo.index.bundle(bid).state}


# --- workers in the server's process -------------------------------------------


class ServedWorkers:
    """`cl server --workers N`: one worker (cl/runs/worker.py) running up to
    N of the served repository's queued runs at a time, in a thread of the
    server's own process, on its own connection to the repository."""

    def __init__(self, root: str, parallel: int, log):
        import threading

        from cl.runs.worker import Worker, WorkerOptions
        if parallel < 1:
            raise UsageError("--workers takes a number of at least 1")
        self.repo = Repository(root)
        executor = self.repo.config.get("run", "executor", "auto")
        self.worker = Worker(self.repo, WorkerOptions(parallel=parallel, executor=executor), log)
        self.chosen = self.worker.setup()
        self.thread = threading.Thread(target=self._run, name="cl-server-worker", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.worker.run(install_signals=False)
        except BaseException as exc:  # kept for stop() to re-raise in the main thread
            self.error = exc

    def start(self) -> str:
        """Start the worker; a line saying what it runs with."""
        self.thread.start()
        note = f" ({self.chosen.note})" if self.chosen.note else ""
        return (f"cl server: running queued runs here, {self.worker.options.parallel} at a time, "
                f"with the {self.chosen.name} executor{note}")

    def stop(self) -> None:
        """Take no new runs, let the running ones finish, then close."""
        self.worker.stop()
        self.thread.join()
        self.repo.close()
        if self.error is not None and not isinstance(self.error, SystemExit):
            raise self.error
