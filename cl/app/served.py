"""What a served repository gives one principal (the REST API's workflows):
names, people, permissions and worksheets here; bundles and runs in
cl/app/served_bundles.py; the server's own workers in served_workers.py.

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
from typing import Any, Iterable

from cl.errors import CLError, Conflict, InputError, UsageError
from cl.repo import Repository

PRIVATE = "<private>"
_HEX = re.compile(r"(?:0x)?([0-9a-f]{8,64})\Z")


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


def signed_in(policy: Any, repo: Repository | None = None) -> str:
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


def bare_id(oid: str) -> str:
    return oid[2:] if oid.startswith("0x") else oid


def permissions_of(policy: Any, ref: str) -> dict[str, Any]:
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
    signed_in(policy)
    return act(policy, "perm", {"refs": [ref], "group": group, "level": level})


def set_owner(repo: Repository, policy: Any, kind: str, spec: str, user: str) -> dict:
    ref = _ref(repo, policy, kind, spec)
    signed_in(policy)
    return act(policy, "chown", {"refs": [ref], "user": user})


def permissions(repo: Repository, policy: Any, kind: str, spec: str) -> dict[str, Any]:
    """Owner, group permissions and the asker's own level."""
    return permissions_of(policy, _ref(repo, policy, kind, spec))


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
    for row in search(repo, keywords, visible=policy.sees("worksheets/")).rows:
        record = row.to_json()
        record.pop("current", None)
        out.append({**record, "permissions": permissions_of(policy, f"worksheets/{row.id}")})
    return out


def worksheet(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """A worksheet's head: id, name, title, head commit, items, permissions."""
    wid = worksheet_id(repo, policy, spec)
    head, ws = repo.worksheet_head(wid)
    return {"id": "0x" + wid, "name": ws.name, "title": ws.title, "head": "0x" + head,
            "tags": list(ws.tags), "frozen": bool(ws.frozen), "author": ws.author,
            "items": [{"kind": i.kind, "value": _item_value(policy, i)} for i in ws.items],
            "permissions": permissions_of(policy, f"worksheets/{wid}")}


def new_worksheet(repo: Repository, policy: Any, name: str, title: str = "") -> dict[str, Any]:
    """A new, empty worksheet owned by the principal (names are the
    server's: one taken by anyone is refused)."""
    from cl.app.worksheets import new
    signed_in(policy, repo)
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
    signed_in(policy, repo)
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
