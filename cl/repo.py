"""The repository: finds and opens `.codalab`, wires the object store, the
refs and the index, and owns the write ordering of bundle states and
worksheet commits (objects first, then the ref moved by compare-and-swap and
the index updated in the same SQLite transaction).

The object store, the object types and the config are imported by the
methods that use them, so that commands that only query the index and the
refs (`cl ls`) never load them, their dataclasses or msgpack."""

from __future__ import annotations

import functools
import os
import re
import time
from typing import TYPE_CHECKING, Callable, NamedTuple

from cl.errors import CLError, Conflict, IndexDamaged, NotARepository
from cl.index.index import Index, check_schema
from cl.objects.ids import ObjectId
from cl.refs.db import Database, read_refs
from cl.refs.store import SqliteRefStore

if TYPE_CHECKING:
    from cl.config import Config
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


def _is_repository(root: str) -> bool:
    """repo.db is there, or was: the objects and the config still are."""
    return (os.path.isfile(os.path.join(root, "repo.db"))
            or (os.path.isdir(os.path.join(root, "objects"))
                and os.path.isfile(os.path.join(root, "config.toml"))))


def find_repository_dir(start: str | None = None) -> str:
    env = os.environ.get("CODALAB_DIR")
    if env:
        if not _is_repository(env):
            raise NotARepository(f"CODALAB_DIR is not a cl repository: '{env}'")
        return os.path.abspath(env)
    here = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(here, DIRNAME)
        if _is_repository(candidate):
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

    def __init__(self, root: str, create: bool = False):
        """Open the repository at `root`; its repo.db must hold this cl's
        refs and index (IndexDamaged otherwise), unless `create`."""
        self.root = root
        path = os.path.join(root, "repo.db")
        if not create:
            if not os.path.isfile(path):
                raise IndexDamaged(path, "it is missing")
            if os.path.getsize(path) == 0:  # before SQLite would write a header into it
                raise IndexDamaged(path, "it is empty")
        self.db = Database(path)
        try:
            if not create:
                check_schema(self.db)
            self.refs = SqliteRefStore(self.db)
            self.index = Index(self.db)
        except BaseException:
            self.db.close()
            raise

    @functools.cached_property
    def store(self) -> ObjectStore:
        from cl.objects.store import DiskStore
        return DiskStore(os.path.join(self.root, "objects"), os.path.join(self.root, "tmp"))

    @functools.cached_property
    def config(self) -> Config:
        """config.toml, read when a command first needs it (`cl ls` never
        does, nor imports cl.config: its table of settings)."""
        from cl.config import Config
        return Config(os.path.join(self.root, "config.toml"), layered=True)

    # --- opening -------------------------------------------------------------

    @classmethod
    def find(cls, start: str | None = None) -> Repository:
        return cls(find_repository_dir(start))

    @classmethod
    def open_for_reindex(cls, start: str | None = None) -> tuple[Repository, SetAside | None]:
        """Open the repository for `cl reindex` whatever state repo.db is
        in.  A damaged one is renamed aside (with its -wal and -shm files:
        SQLite would replay an old log into a new file) after the refs
        that are not heads -- HEAD, remote positions, server tokens -- are
        read from it where they still can be; a new repo.db gets those
        refs, and `cl reindex` rebuilds the heads and the index."""
        root = find_repository_dir(start)
        try:
            return cls(root), None
        except IndexDamaged as exc:
            damage = exc
        path = os.path.join(root, "repo.db")
        aside = None
        kept: list[tuple[str, str]] = []
        lost = None
        if os.path.exists(path):
            try:
                kept = read_refs(path, exclude=("bundles/", "worksheets/"))
            except IndexDamaged as exc:
                lost = exc.problem
            aside = _aside_name(path)
            for suffix in ("-wal", "-shm", ""):  # the file itself last: a crash leaves it in place
                if os.path.exists(path + suffix):
                    os.replace(path + suffix, aside + suffix)
        else:
            lost = "the file is gone"
        repo = cls(root, create=True)
        with repo.db.transaction():
            for name, value in kept:
                repo.refs.set_if_equals(name, None, value)
        return repo, SetAside(problem=damage.problem, aside=aside, kept_refs=len(kept), lost=lost)

    @classmethod
    def init(cls, directory: str, bare: bool = False, worksheet: str | None = None,
             empty: bool = False) -> Repository:
        """`empty`: no first worksheet (`cl clone` brings the remote's)."""
        directory = os.path.abspath(directory)
        root = directory if bare else os.path.join(directory, DIRNAME)
        if os.path.exists(os.path.join(root, "repo.db")):
            raise CLError(f"already a cl repository: '{root}'")
        if _is_repository(root):  # its objects are here: a new index would hide them
            raise IndexDamaged(os.path.join(root, "repo.db"), "it is missing")
        for sub in ("objects", "tmp", "runs", "checkouts"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        # The fan-out directories are made as objects first need them (as
        # git makes them): proving that a new repository lacks thousands of
        # objects then reads no directory that cannot hold them.
        repo = cls(root, create=True)
        repo.config.set("core", "bare", bare)
        repo.config.save()
        if empty or (bare and worksheet is None):
            return repo  # a bare repository's HEAD follows what is pushed to it
        name = worksheet or default_worksheet_name(directory)
        wid = repo.new_worksheet(name)
        repo.refs.set_if_equals("HEAD", None, wid)
        repo.config.set("worksheet", "home", "0x" + wid)  # `-w /`, as CodaLab's home worksheet
        repo.config.save()
        return repo

    @property
    def project_dir(self) -> str | None:
        return None if self.config.get("core", "bare") else os.path.dirname(self.root)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    acting_user: str | None = None  # a server's connection writing for a signed-in user (cl/app/served.py)

    def user(self) -> str:
        if self.acting_user:
            return self.acting_user
        name = self.config.get("user", "name")
        if name:
            return name
        import getpass  # only commands that write need the user's name
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # a uid with no passwd entry and no LOGNAME/USER
            return "unknown"

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        self.db.close()

    def maintain(self) -> str | None:
        """What git's `gc --auto` does, after writes: pack the small loose
        objects once about `gc.auto` have gathered, merge the packs once
        there are `gc.auto_pack_limit` (cl/objects/packing.py `autopack`).
        Call it outside any write span of this process (a command's end, a
        worker between runs); it passes if a writer or gc holds the lock.
        Upkeep, not the caller's work: a failure changes nothing stored and
        comes back as a warning for the caller to show (None: no failure)."""
        store = self.__dict__.get("store")
        if store is None:
            return None
        try:
            store.maintain(lambda: (self.config.get("gc", "auto"), self.config.get("gc", "auto_pack_limit")))
        except (CLError, OSError) as exc:
            return f"automatic packing stopped: {exc}; 'cl gc' packs later"
        return None

    def finish(self, maintain: bool = True) -> str | None:
        """A command's end: its writes' span ends, then (with `maintain`)
        `maintain`, then `close`; maintain's warning, if any."""
        try:
            if "store" in self.__dict__:
                self.store.close()
            return self.maintain() if maintain else None
        finally:
            self.close()

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
        from cl.objects.types import Item, State
        with self.store.writing():
            bid = self.write(bundle)
            first = State(bundle=bid, parents=(), time=now_ns(), author=self.user(),
                          metadata=dict(bundle.metadata), state=state, result=result)
            sid = self.write(first)
            wid = self.current_worksheet() if worksheet is None else worksheet
            with self.db.transaction():
                self.refs.set_if_equals(f"bundles/{bid}", None, sid)
                self.index.put_bundle(bid, bundle, sid, first, self._data_size(bundle, first))
                if wid:
                    self.append_to_worksheet(wid, (Item("bundle", bid),), f"add 0x{bid[:8]}")
        return bid

    def update_state(self, bid: str, change: Callable[[State], State]) -> State:
        """Append a state made by `change` from the head; compare-and-swap."""
        from cl.objects.value import replace
        with self.store.writing(), self.db.transaction():
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
        with self.store.writing():  # what it names stays until the ref has moved
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

    def adopt_sole_worksheet(self) -> str | None:
        """With no current worksheet (its ref lost with a damaged repo.db)
        and exactly one live worksheet, make that one current; its wid, or
        None when there is nothing to choose or a choice to make."""
        if self.current_worksheet() is not None:
            return None
        live = self.index.worksheets()
        if len(live) != 1:
            return None
        self.refs.set_if_equals("HEAD", self.refs.get("HEAD"), live[0]["wid"])
        return live[0]["wid"]

    def worksheet_head(self, wid: str) -> tuple[ObjectId, Worksheet]:
        from cl.objects.types import Worksheet
        head = self._worksheet_ref(wid)
        return head, self.read(head, Worksheet)

    def worksheet_header(self, wid: str):
        """(head, the head commit as stored): its name, title, tags and
        flags, without gathering a chunked commit's items."""
        head = self._worksheet_ref(wid)
        return head, self.read(head)

    def _worksheet_ref(self, wid: str) -> ObjectId:
        head = self.refs.get(f"worksheets/{wid}")
        if head is None:
            raise CLError(f"no such worksheet: {wid}")
        return ObjectId(head)

    def new_worksheet(self, name: str, title: str = "", wid: str | None = None) -> str:
        if not valid_worksheet_name(name):
            raise CLError(f"invalid worksheet name: '{name}' (letters, digits, _ . - ; not starting with a digit)")
        if self.index.worksheets(name):
            raise CLError(f"a worksheet named '{name}' already exists")
        wid = wid or os.urandom(16).hex()  # random, like a nonce
        from cl.objects.types import Worksheet
        ws = Worksheet(worksheet=wid, parents=(), time=now_ns(), author=self.user(),
                       message="create", name=name, title=title)
        with self.store.writing(), self.db.transaction():
            commit = self.write(ws)
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
        with self.store.writing(), self.db.transaction():
            head, old = self.worksheet_head(wid)
            if expected_head is not None and head != expected_head:
                raise Conflict(f"worksheet '{old.name}' changed since it was read")
            new = replace(change(old), worksheet=old.worksheet, parents=(head,), time=now_ns(),
                          author=self.user(), message=message)
            if old.frozen and new.frozen and not new.deleted:
                raise frozen_worksheet(old.name)
            commit = self.write(new)
            self.refs.set_if_equals(f"worksheets/{wid}", head, commit)
            self.index.put_worksheet(commit, new, prior=old)
        return commit

    def append_to_worksheet(self, wid: str, items, message: str) -> ObjectId:
        """Append `items` in one commit without reading the worksheet's
        items: the chunked head's tail takes them and full leaves join its
        tree (cl/objects/itemlists.py `appended`), so the 10,000th append
        costs what the first does.  The same commit `commit_worksheet`
        makes; it is what that does when the head is not a chunked commit
        the index is at (an old-format head, an index behind)."""
        from cl.objects import itemlists
        from cl.objects.store import read_object
        from cl.objects.types import WorksheetCommit
        with self.store.writing(), self.db.transaction():
            head, commit = self.worksheet_header(wid)
            row = self.index.worksheet(wid)
            if not isinstance(commit, WorksheetCommit) or row is None or row["head"] != head:
                from cl.objects.value import replace
                return self.commit_worksheet(wid, lambda ws: replace(ws, items=ws.items + tuple(items)),
                                             message)
            if commit.frozen and not commit.deleted:
                raise frozen_worksheet(commit.name)
            new = itemlists.appended(commit, items, lambda oid: read_object(self.store, oid), self.write,
                                     parents=(ObjectId(head),), time=now_ns(), author=self.user(),
                                     message=message)
            cid = self.write(new)
            self.refs.set_if_equals(f"worksheets/{wid}", head, cid)
            self.index.append_worksheet(cid, new, commit.count + len(commit.tail), items)
        return cid

    def set_worksheet_head(self, wid: str, old: str | None, commit: ObjectId) -> None:
        from cl.objects.types import Worksheet
        with self.store.writing():
            ws = self.read(commit, Worksheet)
            with self.db.transaction():
                self.refs.set_if_equals(f"worksheets/{wid}", old, commit)
                self.index.put_worksheet(commit, ws)


def frozen_worksheet(name: str) -> CLError:
    """The refusal of a change to a frozen worksheet."""
    return CLError(f"worksheet '{name}' is frozen", hint=f"unfreeze it first: cl wedit {name} --unfreeze")


class SetAside(NamedTuple):  # not a dataclass: `cl ls` does not import dataclasses
    """What `open_for_reindex` did with a damaged repo.db: what was wrong,
    where the file went (None if there was none), how many refs other than
    heads it kept, and why it kept none (None if it could read them)."""
    problem: str
    aside: str | None
    kept_refs: int
    lost: str | None


def _aside_name(path: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    name, n = f"{path}.damaged-{stamp}", 1
    while os.path.exists(name):
        n += 1
        name = f"{path}.damaged-{stamp}-{n}"
    return name


def default_worksheet_name(directory: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.\-]+", "-", os.path.basename(os.path.abspath(directory))).strip("-.")
    if not base or not valid_worksheet_name(base):
        base = "codalab"
    return base
