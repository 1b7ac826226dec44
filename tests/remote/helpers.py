"""Builders for the sync tests: a small object graph (blobs, trees, bundles
with dependencies, states, worksheet commits) written into any object store
and ref store, the way the repository writes them (children first, refs
moved by compare-and-swap)."""

import itertools
import os

from cl.objects.ids import ObjectId
from cl.objects.store import DiskStore, MemoryStore, read_object, write_object
from cl.objects.types import (MODE_DIR, MODE_FILE, Bundle, Contents, Dependency, Item, State,
                              Tree, TreeEntry, Worksheet)
from cl.objects.value import replace
from cl.refs.store import MemoryRefStore
from cl.remote.server import Server
from cl.remote.transport import PipeTransport
from cl.remote.client import Client

_clock = itertools.count(1_000_000)


def tick() -> int:
    return next(_clock)


def disk_store(root) -> DiskStore:
    os.makedirs(os.path.join(root, "objects"), exist_ok=True)
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
    return DiskStore(os.path.join(root, "objects"), os.path.join(root, "tmp"))


class Side:
    """One repository's stores: an object store and a ref store."""

    def __init__(self, store=None, refs=None):
        self.store = store if store is not None else MemoryStore()
        self.refs = refs if refs is not None else MemoryRefStore()

    def serve(self, label="remote", limits=None) -> Client:
        server = Server(self.store, self.refs) if limits is None else \
            Server(self.store, self.refs, limits=limits)
        return Client(PipeTransport(server, label), label)

    # --- data ----------------------------------------------------------------

    def blob(self, data: bytes) -> Contents:
        return Contents(MODE_FILE, len(data), self.store.write_bytes(data))

    def tree(self, spec: dict) -> Contents:
        entries = []
        for name in sorted(spec):
            value = spec[name]
            c = self.tree(value) if isinstance(value, dict) else self.blob(value)
            entries.append(TreeEntry(name, c.mode, c.size, c.id))
        t = Tree(tuple(entries))
        return Contents(MODE_DIR, t.size, write_object(self.store, t))

    # --- bundles -------------------------------------------------------------

    def bundle(self, name: str, contents: Contents | None = None, deps=(), state="ready",
               kind=None) -> ObjectId:
        b = Bundle(kind=kind or ("dataset" if contents else "run"), created=tick(), creator="t",
                   nonce=os.urandom(8).hex(), metadata={"name": name}, contents=contents,
                   command=None if contents else "true",
                   dependencies=tuple(Dependency(f"d{i}", d) for i, d in enumerate(deps)))
        bid = write_object(self.store, b)
        s = State(bundle=bid, parents=(), time=tick(), author="t", metadata={"name": name},
                  state=state)
        self.refs.set_if_equals(f"bundles/{bid}", None, write_object(self.store, s))
        return bid

    def state(self, bid: str) -> State:
        return read_object(self.store, self.refs.get(f"bundles/{bid}"), State)

    def change(self, bid: str, author="t", **fields) -> ObjectId:
        head = self.refs.get(f"bundles/{bid}")
        old = read_object(self.store, head, State)
        new = replace(old, parents=(ObjectId(head),), time=tick(), author=author, **fields)
        sid = write_object(self.store, new)
        self.refs.set_if_equals(f"bundles/{bid}", head, sid)
        return sid

    # --- worksheets ------------------------------------------------------------

    def worksheet(self, wid: str, name: str, bundles=()) -> ObjectId:
        ws = Worksheet(worksheet=wid, parents=(), time=tick(), author="t", message="create",
                       name=name, items=tuple(Item("bundle", b) for b in bundles))
        commit = write_object(self.store, ws)
        self.refs.set_if_equals(f"worksheets/{wid}", None, commit)
        return commit

    def ws(self, wid: str) -> Worksheet:
        return read_object(self.store, self.refs.get(f"worksheets/{wid}"), Worksheet)

    def commit(self, wid: str, author="t", **fields) -> ObjectId:
        head = self.refs.get(f"worksheets/{wid}")
        old = read_object(self.store, head, Worksheet)
        new = replace(old, parents=(ObjectId(head),), time=tick(), author=author, **fields)
        commit = write_object(self.store, new)
        self.refs.set_if_equals(f"worksheets/{wid}", head, commit)
        return commit

    def add_items(self, wid: str, *items: Item, author="t") -> ObjectId:
        return self.commit(wid, author=author, items=self.ws(wid).items + tuple(items))
