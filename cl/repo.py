"""The repository: finds and opens `.codalab`, wires the object store, the
refs and the index, and owns the write ordering of bundle states and
worksheet commits (objects first, then the ref moved by compare-and-swap and
the index updated in the same SQLite transaction).

The object store and the object types are imported by the methods that use
them, so that commands that only query the index and the refs (`cl ls`)
never load them, their dataclasses or msgpack."""

from __future__ import annotations

import functools
import os
import re
import time
from typing import TYPE_CHECKING, Callable

from cl.config import Config
from cl.errors import CLError, Conflict, NotARepository
from cl.index.index import Index
from cl.objects.ids import ObjectId
from cl.refs.db import Database
from cl.refs.store import SqliteRefStore

if TYPE_CHECKING:
    from cl.objects.store import ObjectStore
    from cl.objects.types import Bundle, Contents, State, Worksheet

DIRNAME = ".codalab"
WS_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*\Z"  # compiled by re on first use


def now_ns() -> int:
    return time.time_ns()


def new_nonce() -> str:
    """32 random hex digits from the OS (what secrets.token_hex(16) gives,
    without importing secrets and hashlib)."""
    return os.urandom(16).hex()


def valid_worksheet_name(name: str) -> bool:
    return bool(re.match(WS_NAME, name))


def find_repository_dir(start: str | None = None) -> str:
    env = os.environ.get("CODALAB_DIR")
    if env:
        if not os.path.isfile(os.path.join(env, "repo.db")):
            raise NotARepository(f"CODALAB_DIR is not a cl repository: '{env}'")
        return os.path.abspath(env)
    here = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(here, DIRNAME)
        if os.path.isfile(os.path.join(candidate, "repo.db")):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            raise NotARepository("not a cl repository (or any parent)",
                                 hint="run 'cl init' to make one here")
        here = parent


class Repository:
    """An open repository.  Operations on bundles, worksheets and runs are
    functions of (repo, values) in the layers above; this class only offers
    the primitives they share."""

    def __init__(self, root: str):
        self.root = root
        self.db = Database(os.path.join(root, "repo.db"))
        self.refs = SqliteRefStore(self.db)
        self.index = Index(self.db)

    @functools.cached_property
    def store(self) -> ObjectStore:
        from cl.objects.store import DiskStore
        return DiskStore(os.path.join(self.root, "objects"), os.path.join(self.root, "tmp"))

    @functools.cached_property
    def config(self) -> Config:
        """config.toml, read when a command first needs it (`cl ls` never does)."""
        return Config(os.path.join(self.root, "config.toml"))

    # --- opening -------------------------------------------------------------

    @classmethod
    def find(cls, start: str | None = None) -> Repository:
        return cls(find_repository_dir(start))

    @classmethod
    def init(cls, directory: str, bare: bool = False, worksheet: str | None = None,
             empty: bool = False) -> Repository:
        """`empty`: no first worksheet (`cl clone` brings the remote's)."""
        directory = os.path.abspath(directory)
        root = directory if bare else os.path.join(directory, DIRNAME)
        if os.path.exists(os.path.join(root, "repo.db")):
            raise CLError(f"already a cl repository: '{root}'")
        for sub in ("objects", "tmp", "runs", "checkouts"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        for i in range(256):
            os.makedirs(os.path.join(root, "objects", f"{i:02x}"), exist_ok=True)
        repo = cls(root)
        repo.config.set("core", "bare", bare)
        repo.config.save()
        if empty:
            return repo
        name = worksheet or default_worksheet_name(directory)
        wid = repo.new_worksheet(name)
        repo.refs.set_if_equals("HEAD", None, wid)
        return repo

    @property
    def project_dir(self) -> str | None:
        return None if self.config.get("core", "bare") else os.path.dirname(self.root)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def user(self) -> str:
        name = self.config.get("user", "name")
        if name:
            return name
        import getpass  # only commands that write need the user's name
        try:
            return getpass.getuser()
        except Exception:
            return "unknown"

    def close(self) -> None:
        self.db.close()

    # --- objects -------------------------------------------------------------

    def read(self, oid: str, expected_type=None):
        from cl.objects.store import read_object
        return read_object(self.store, oid, expected_type)

    def write(self, obj) -> ObjectId:
        from cl.objects.store import write_object
        return write_object(self.store, obj)

    def bundle(self, bid: str) -> Bundle:
        from cl.objects.types import Bundle
        return self.read(bid, Bundle)

    # --- bundle states -------------------------------------------------------

    def head_state(self, bid: str) -> tuple[ObjectId, State]:
        head = self.refs.get(f"bundles/{bid}")
        if head is None:
            raise CLError(f"no such bundle: 0x{bid}")
        from cl.objects.types import State
        return ObjectId(head), self.read(head, State)

    def add_bundle(self, bundle: Bundle, state: str = "ready", worksheet: str | None = None,
                   result: ObjectId | None = None) -> ObjectId:
        """Write a new bundle and its first state; put it on a worksheet
        (the current one unless told; "" for none)."""
        from cl.objects.value import replace

        from cl.objects.types import Item, State
        bid = self.write(bundle)
        first = State(bundle=bid, parents=(), time=now_ns(), author=self.user(),
                      metadata=dict(bundle.metadata), state=state, result=result)
        sid = self.write(first)
        wid = self.current_worksheet() if worksheet is None else worksheet
        with self.db.transaction():
            self.refs.set_if_equals(f"bundles/{bid}", None, sid)
            self.index.put_bundle(bid, bundle, sid, first, self._data_size(bundle, first))
            if wid:
                self.commit_worksheet(wid, lambda ws: replace(ws, items=ws.items + (Item("bundle", bid),)),
                                      f"add 0x{bid[:8]}")
        return bid

    def update_state(self, bid: str, change: Callable[[State], State]) -> State:
        """Append a state made by `change` from the head; compare-and-swap."""
        from cl.objects.value import replace
        with self.db.transaction():
            head, old = self.head_state(bid)
            new = replace(change(old), bundle=old.bundle, parents=(head,), time=now_ns(),
                          author=self.user())
            sid = self.write(new)
            self.refs.set_if_equals(f"bundles/{bid}", head, sid)
            bundle = self.bundle(bid)
            self.index.put_bundle(bid, bundle, sid, new, self._data_size(bundle, new))
        return new

    def set_head(self, bid: str, old: str | None, new_state: ObjectId) -> None:
        """Move a bundle's head to an already-written state (sync, merges)."""
        from cl.objects.types import State
        state = self.read(new_state, State)
        bundle = self.bundle(bid)
        with self.db.transaction():
            self.refs.set_if_equals(f"bundles/{bid}", old, new_state)
            self.index.put_bundle(bid, bundle, new_state, state, self._data_size(bundle, state))

    def contents(self, bid: str, state: State | None = None) -> Contents | None:
        """A bundle's data: its own contents, or for a run its result's."""
        from cl.objects.types import Result
        bundle = self.bundle(bid)
        if bundle.contents is not None:
            return bundle.contents
        state = state or self.head_state(bid)[1]
        if state.result is None:
            return None
        return self.read(state.result, Result).contents

    def _data_size(self, bundle: Bundle, state: State) -> int | None:
        from cl.objects.types import Result
        if bundle.contents is not None:
            return bundle.contents.size
        if state.result is not None:
            contents = self.read(state.result, Result).contents
            return contents.size if contents else None
        return None

    # --- worksheets ----------------------------------------------------------

    def current_worksheet(self) -> str | None:
        wid = self.refs.get("HEAD")
        return wid if wid and self.index.is_live_worksheet(wid) else None

    def worksheet_head(self, wid: str) -> tuple[ObjectId, Worksheet]:
        head = self.refs.get(f"worksheets/{wid}")
        if head is None:
            raise CLError(f"no such worksheet: {wid}")
        from cl.objects.types import Worksheet
        return ObjectId(head), self.read(head, Worksheet)

    def new_worksheet(self, name: str, title: str = "", wid: str | None = None) -> str:
        if not valid_worksheet_name(name):
            raise CLError(f"invalid worksheet name: '{name}' (letters, digits, _ . - ; not starting with a digit)")
        if self.index.worksheets(name):
            raise CLError(f"a worksheet named '{name}' already exists")
        wid = wid or os.urandom(16).hex()  # random, like a nonce
        from cl.objects.types import Worksheet
        ws = Worksheet(worksheet=wid, parents=(), time=now_ns(), author=self.user(),
                       message="create", name=name, title=title)
        commit = self.write(ws)
        with self.db.transaction():
            self.refs.set_if_equals(f"worksheets/{wid}", None, commit)
            self.index.put_worksheet(commit, ws)
        return wid

    def commit_worksheet(self, wid: str, change: Callable[[Worksheet], Worksheet], message: str,
                         expected_head: str | None = None) -> ObjectId:
        """Commit a new version made by `change` from the head.  Inside one
        write transaction the read-modify-write cannot race another local
        process; `expected_head` makes it refuse if the head moved since the
        caller read it (for editors)."""
        from cl.objects.value import replace
        with self.db.transaction():
            head, old = self.worksheet_head(wid)
            if expected_head is not None and head != expected_head:
                raise Conflict(f"worksheet '{old.name}' changed since it was read")
            new = replace(change(old), worksheet=old.worksheet, parents=(head,), time=now_ns(),
                          author=self.user(), message=message)
            if old.frozen and new.frozen and not new.deleted:
                raise CLError(f"worksheet '{old.name}' is frozen", hint=f"unfreeze it first: cl wedit {old.name} --unfreeze")
            commit = self.write(new)
            self.refs.set_if_equals(f"worksheets/{wid}", head, commit)
            self.index.put_worksheet(commit, new)
        return commit

    def set_worksheet_head(self, wid: str, old: str | None, commit: ObjectId) -> None:
        from cl.objects.types import Worksheet
        ws = self.read(commit, Worksheet)
        with self.db.transaction():
            self.refs.set_if_equals(f"worksheets/{wid}", old, commit)
            self.index.put_worksheet(commit, ws)


def default_worksheet_name(directory: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.\-]+", "-", os.path.basename(os.path.abspath(directory))).strip("-.")
    if not base or not valid_worksheet_name(base):
        base = "codalab"
    return base
