"""Who may read and change what (CodaLab's model, DESIGN.md §10).

A request carries a Principal -- a user (or nobody: anonymous), whether
root, and the groups it is in (`public` always).  A Policy answers for that
principal:

* refs: the level (0 none, 1 read, 2 all) on `bundles/<id>` and
  `worksheets/<wid>`: root and the owner have all; otherwise the highest
  level any of the principal's groups was given.  A ref with no recorded
  owner (made on the server's own repository, or before permissions
  existed) belongs to root.  `HEAD` is readable when the worksheet it names
  is.  Creating a ref that does not exist yet needs only a signed-in user,
  who becomes its owner.
* objects: only those reachable from the heads of readable refs, plus the
  ones this user has uploaded (and so proven to hold).  The sync protocol
  never serves, nor admits holding, an object by id alone; a ref update
  whose closure leaves that set is refused, so knowing an id is never
  enough to make another's data readable.

Reaching a worksheet commit reaches the bundle objects its items name (the
spec, and an upload's data): that is the object graph's closure, as the
design says; the bundle's states, results and run outputs need the bundle
ref itself."""

from __future__ import annotations

import dataclasses
import re
import threading

from cl.auth.passwords import check_password, token_digest
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, read_object
from cl.objects.types import (MODE_DIR, Bundle, ItemChunk, ItemIndex, Result, State, Tree, Worksheet,
                              WorksheetCommit, children)
from cl.refs.access import AccessStore
from cl.refs.store import RefStore

PUBLIC = "public"
LEVELS = {"none": 0, "read": 1, "all": 2}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
LEGACY_PREFIX = "server/tokens/"
LEGACY_USER = "root"
_OWNED = re.compile(r"(bundles/[0-9a-f]{64}|worksheets/[0-9A-Za-z_\-]{1,128})\Z")


@dataclasses.dataclass(frozen=True)
class Principal:
    user: str | None  # None: anonymous
    root: bool = False
    groups: frozenset = frozenset({PUBLIC})

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Principal(None)


def owned_ref(name: str) -> bool:
    """Whether `name` is a ref that has an owner and permissions."""
    return bool(_OWNED.match(name))


def _edges(obj) -> list[tuple[str, bool]]:
    """(child id, child is typed) of a typed object."""
    if isinstance(obj, Tree):
        return list(zip(obj.ids, [m == MODE_DIR for m in obj.modes]))
    if isinstance(obj, (Bundle, Result)):
        out = ([(d.bundle, True) for d in obj.dependencies] if isinstance(obj, Bundle)
               else [(obj.bundle, True)])
        if obj.contents:
            out.append((obj.contents.id, obj.contents.mode == MODE_DIR))
        return out
    if isinstance(obj, State):
        out = [(obj.bundle, True)] + [(p, True) for p in obj.parents]
        if obj.result:
            out.append((obj.result, True))
        return out
    if isinstance(obj, (Worksheet, WorksheetCommit, ItemIndex, ItemChunk)):
        return [(child, True) for child in children(obj)]  # all typed: commits, chunks, bundles
    return []


def closure(store: ObjectStore, head: str, stop=frozenset()) -> set[str]:
    """Every id reachable from `head` (head included) that the store holds,
    not walking past ids in `stop`."""
    seen: set[str] = set()
    stack = [(head, True)]
    while stack:
        oid, is_typed = stack.pop()
        if oid in seen or oid in stop or not store.has(oid):
            continue
        seen.add(oid)
        if is_typed:
            stack.extend(_edges(read_object(store, oid)))
    return seen


class Access:
    """The permissions of one served repository, for the server's lifetime:
    turns credentials into a Principal and a Principal into a Policy, and
    keeps the closure of each ref head it has walked (heads are immutable
    objects, so an entry never goes stale)."""

    def __init__(self, store: AccessStore, objects: ObjectStore, refs: RefStore):
        self.store = store
        self.objects = objects
        self.refs = refs
        self._closures: dict[str, frozenset] = {}
        self._lock = threading.Lock()

    def principal(self, user: str) -> Principal:
        row = self.store.user(user)
        root = bool(row and row[2]) or (row is None and user == LEGACY_USER)
        groups = frozenset([PUBLIC] + [g for g, _ in self.store.memberships(user)])
        return Principal(user, root, groups)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization` header: anonymous without
        one, None (refused) for a token or password that is not right.
        `Bearer <token>` takes a token; `Basic` is not taken (passwords
        are for the sign-in page, later)."""
        if not authorization:
            return ANONYMOUS
        if not authorization.startswith("Bearer "):
            return None
        token = authorization[len("Bearer "):].strip()
        digest = token_digest(token)
        user = self.store.token_user(digest)
        if user is not None:
            return self.principal(user) if self.store.user(user) else None
        for _, value in self.refs.items(LEGACY_PREFIX):
            if value == digest:  # a token made before users existed: root's
                return Principal(LEGACY_USER, True, frozenset({PUBLIC}))
        return None

    def sign_in(self, user: str, password: str) -> Principal | None:
        row = self.store.user(user)
        if row is None or not check_password(password, row[1]):
            return None
        return self.principal(user)

    def policy(self, principal: Principal) -> Policy:
        return Policy(self, principal)

    def head_closure(self, head: str) -> frozenset:
        with self._lock:
            got = self._closures.get(head)
        if got is None:
            got = frozenset(closure(self.objects, head))
            with self._lock:
                if len(self._closures) > 100_000:
                    self._closures.clear()
                self._closures[head] = got
        return got


class Policy:
    """can-read / can-write for refs and objects, for one principal."""

    def __init__(self, access: Access, principal: Principal):
        self.access = access
        self.principal = principal
        self._readable: set[str] | None = None

    keeps_permissions = True  # the sync protocol's hello says so; `access` answers

    @property
    def everything(self) -> bool:
        return self.principal.root

    def level(self, name: str) -> int:
        p = self.principal
        if p.root:
            return 2
        if name == "HEAD":
            wid = self.access.refs.get("HEAD")
            return min(1, self.level(f"worksheets/{wid}")) if wid else 0
        if not owned_ref(name):
            return 0
        store = self.access.store
        if p.user is not None and store.owner(name) == p.user:
            return 2
        perms = store.perms(name)
        level = max((perms.get(g, 0) for g in p.groups), default=0)
        return min(level, 1) if p.anonymous else level

    def can_read_ref(self, name: str) -> bool:
        return self.level(name) >= 1

    def sees(self, prefix: str):
        """A search's filter: whether this principal may read the ref
        `prefix` + id ("bundles/", "worksheets/"); None when it reads
        everything, so the search need not ask."""
        if self.everything:
            return None
        return lambda oid: self.can_read_ref(prefix + oid)

    def may_update(self, name: str, old: str | None, new: str | None) -> str | None:
        """Why this principal may not move `name` from `old` to `new`, or None."""
        p = self.principal
        if p.root:
            return None
        if p.anonymous:
            return "sign in to push (anonymous users may only read)"
        exists = self.access.refs.get(name) is not None or self.access.store.owner(name)
        if exists and self.level(name) < 2:
            return f"{p.user} may not change '{name}' (needs 'all' permission)"
        if new is not None:
            try:
                ObjectId(new)
            except ValueError:
                return None  # the server's own value check names it
            foreign = self.unreadable_closure(new)
            if foreign:
                return (f"{p.user} may not point '{name}' at data it cannot read "
                        f"(upload {len(foreign)} object(s) instead)")
        return None

    def updated(self, name: str) -> None:
        """After a successful update: a new ref becomes the pusher's."""
        if self.principal.user is not None and owned_ref(name):
            self.access.store.claim(name, self.principal.user)

    def act(self, action, args) -> dict:
        """One of CodaLab's user/group/permission actions (cl/auth/admin.py)."""
        from cl.auth.admin import act
        return act(self, action, args)

    # --- objects -------------------------------------------------------------

    def readable_ids(self) -> set[str]:
        """The union of the closures of every ref this principal may read."""
        if self._readable is None:
            out: set[str] = set()
            for prefix in ("bundles/", "worksheets/"):
                for name, value in self.access.refs.items(prefix):
                    if self.can_read_ref(name):
                        try:
                            out |= self.access.head_closure(ObjectId(value))
                        except ValueError:
                            continue
            self._readable = out
        return self._readable

    def readable(self, ids: list[str]) -> set[str]:
        """Those of `ids` this principal may see (hold, get)."""
        if self.everything:
            return set(ids)
        readable = self.readable_ids()
        out = {i for i in ids if i in readable}
        rest = [i for i in ids if i not in out]
        if rest and self.principal.user is not None:
            out |= self.access.store.proven(self.principal.user, rest)
        return out

    def unreadable_closure(self, head: str) -> set[str]:
        """The ids under `head` this principal neither may read nor has
        uploaded."""
        reach = closure(self.access.objects, head, stop=self.readable_ids())
        if not reach:
            return set()
        ids = sorted(reach)
        return set(ids) - self.access.store.proven(self.principal.user or "", ids)

    def prove(self, ids: list[str]) -> None:
        """Record that this principal uploaded `ids` (verified on arrival)."""
        if not self.everything and self.principal.user is not None and ids:
            self.access.store.prove(self.principal.user, ids)
