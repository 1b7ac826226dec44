"""Moving objects (docs/protocol.md §4–5).

Sending: `negotiate` walks the local DAG from the tips level by level and
asks the remote `have` about a whole level at once (several levels while
every answer is "no"); a "yes" prunes the object's closure.  `send` puts the
missing objects children first.

Fetching: `Fetcher.fetch` gets the tips, decodes each typed object as it
arrives, and gets the children it lacks at the next level.  Blobs are stored
as they arrive (re-hashed, in chunks); typed objects are held until
`commit`, which writes them children first, so the store never holds an
object without its closure and an interrupted fetch keeps its blobs."""

from dataclasses import dataclass, field
from typing import Callable

from cl.errors import ObjectMissing
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, decode_object, read_object
from cl.objects.types import Bundle, Result, State
from cl.remote import frames
from cl.remote.client import Client
from cl.remote.frames import RemoteError
from cl.remote.graph import data_optional, edges
from cl.remote.receive import TYPED_MAX, Receiver, check_children, verify

MAX_DEPTH = 64
MAX_ASK = 65536


def children_first(roots: list[str], kids: Callable[[str], list[str]], members: set) -> list[str]:
    """Post-order of the DAG below `roots` restricted to `members`: every
    object after all its children."""
    order: list[str] = []
    done: set = set()
    for root in roots:
        if root in done or root not in members:
            continue
        stack = [(root, iter(kids(root)))]
        done.add(root)
        while stack:
            oid, it = stack[-1]
            for child in it:
                if child in members and child not in done:
                    done.add(child)
                    stack.append((child, iter(kids(child))))
                    break
            else:
                stack.pop()
                order.append(oid)
    return order


# --- sending ----------------------------------------------------------------


@dataclass
class Plan:
    """What the remote lacks, children first; `absent` are missing here too
    and allowed to be (contents of deleted data)."""

    order: list[str] = field(default_factory=list)
    absent: set = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.order)


def negotiate(store: ObjectStore, client: Client, tips: list[str]) -> Plan:
    typed: dict[str, bool] = {t: True for t in tips}
    cache: dict[str, list[tuple[ObjectId, bool]]] = {}
    optional: set = set()
    optional_bundles: set = set()
    optional_results: set = set()

    for tip in tips:  # the data of a deleted bundle may be gone here and there
        obj = read_object(store, tip)
        if isinstance(obj, State) and data_optional(obj):
            optional_bundles.add(obj.bundle)
            if obj.result:
                optional_results.add(obj.result)

    def local_edges(oid: str) -> list[tuple[ObjectId, bool]]:
        if oid not in cache:
            obj = read_object(store, oid)
            if isinstance(obj, (Bundle, Result)) and obj.contents and (
                    oid in optional_bundles or oid in optional_results):
                optional.add(obj.contents.id)
            cache[oid] = edges(obj)
        return cache[oid]

    answers: dict[str, bool] = {}
    walked: set = set()
    missing: set = set()
    absent: set = set()
    frontier = list(dict.fromkeys(tips))
    depth = 1
    while frontier:
        ask: list[str] = []
        asking: set = set()
        level = frontier
        for d in range(depth):
            for oid in level:
                if oid not in answers and oid not in asking:
                    asking.add(oid)
                    ask.append(oid)
            if d == depth - 1 or len(ask) >= MAX_ASK:
                break
            nxt = []
            for oid in level:
                if typed.get(oid) and store.has(oid):
                    for child, is_typed in local_edges(oid):
                        typed.setdefault(child, is_typed)
                        if child not in answers and child not in asking:
                            nxt.append(child)
            level = nxt
        present = client.have(ask)
        for oid in ask:
            answers[oid] = oid in present
        new_frontier: list[str] = []
        stack = list(frontier)
        while stack:
            oid = stack.pop()
            if oid in walked:
                continue
            walked.add(oid)
            if answers[oid]:
                continue
            if not store.has(oid):
                if oid in optional:
                    absent.add(oid)
                    continue
                raise ObjectMissing(oid, "object to send")
            missing.add(oid)
            if typed.get(oid):
                for child, is_typed in local_edges(oid):
                    typed.setdefault(child, is_typed)
                    if child in walked:
                        continue
                    (stack if child in answers else new_frontier).append(child)
        frontier = [oid for oid in dict.fromkeys(new_frontier) if oid not in walked]
        depth = min(depth * 2, MAX_DEPTH) if ask and not present else 1

    members = missing | absent
    order = children_first(list(dict.fromkeys(tips)),
                           lambda o: [c for c, _ in local_edges(o)] if typed.get(o) and o in missing else [],
                           members)
    return Plan(order=order, absent=absent)


def send(store: ObjectStore, client: Client, plan: Plan) -> int:
    """Put the plan's objects; returns how many the remote stored."""
    if not plan.order:
        return 0

    def body():
        for oid, data in frames.read_ahead(store, plan.order, plan.absent):
            if oid in plan.absent:
                yield frames.absent_frame(oid)
            else:
                client.stats.sent_objects += 1
                yield from frames.object_frames(store, oid, data)

    return client.put(body())


# --- fetching ---------------------------------------------------------------


class Fetcher:
    def __init__(self, store: ObjectStore, client: Client):
        self.store = store
        self.client = client
        self.held: dict[str, tuple[bytes, object]] = {}
        self.absent: set = set()
        self.typed: dict[str, bool] = {}
        self.blobs = 0
        self.receiver = Receiver(store)

    def has(self, oid: str) -> bool:
        return oid in self.held or self.store.has(oid)

    def read(self, oid: str):
        if oid in self.held:
            return self.held[oid][1]
        return read_object(self.store, oid)

    def fetch(self, tips: list[str]) -> None:
        """Get the closure of `tips` (typed objects: states or commits).
        Blobs received before a failure are stored all the same, so the
        next attempt does not fetch them again."""
        try:
            self._fetch(tips)
        except BaseException:
            try:
                self.receiver.drain()
            except BaseException:  # the first failure is the one to report
                pass
            raise

    def _fetch(self, tips: list[str]) -> None:
        for t in tips:
            self.typed.setdefault(t, True)
        level = [t for t in dict.fromkeys(tips) if not self.has(t)]
        queued = set(level)
        while level:
            wanted = set(level)
            nxt: list[str] = []
            for inc in self.client.get(level):
                oid = inc.oid
                if oid not in wanted:
                    raise RemoteError(f"remote '{self.client.name}' sent {oid.display}, which was not asked for")
                wanted.discard(oid)
                if inc.absent:
                    self.absent.add(oid)
                    continue
                if not self.typed.get(oid):
                    if inc.data is not None:
                        self.receiver.blob(oid, inc.data)
                    else:
                        self.receiver.drain()
                        self.store.write_stream(inc.stream, expected=oid)
                    self.blobs += 1
                    continue
                if inc.size > TYPED_MAX:
                    raise RemoteError(f"object {oid.display} is too large for a typed object")
                data = inc.data if inc.data is not None else inc.stream.read()
                verify(oid, data)
                obj = decode_object(oid, data)
                self.held[oid] = (data, obj)
                for child, is_typed in edges(obj):
                    self.typed.setdefault(child, is_typed)
                    if child not in queued and not self.has(child):
                        queued.add(child)
                        nxt.append(child)
            if wanted:
                raise RemoteError(f"remote '{self.client.name}' did not send {len(wanted)} of the objects asked for")
            level = nxt
        self.receiver.drain()

    def _allowed_absent(self) -> set:
        states = [obj for _, obj in self.held.values() if isinstance(obj, State) and data_optional(obj)]
        allowed = set()
        for s in states:
            for oid in (s.bundle, s.result):
                if oid and self.has(oid):
                    obj = self.read(oid)
                    if obj.contents:
                        allowed.add(obj.contents.id)
        return allowed

    def commit(self) -> int:
        """Write the held typed objects children first; returns how many."""
        self.receiver.close()
        stray = self.absent - self._allowed_absent()
        if stray:
            oid = ObjectId(sorted(stray)[0])
            raise RemoteError(f"remote '{self.client.name}' lacks object {oid.display}, "
                              "which the objects asked for need; nothing was stored")
        order = children_first(list(self.held), lambda o: [c for c, _ in edges(self.held[o][1])],
                               set(self.held))
        for oid in order:
            data, obj = self.held[oid]
            check_children(self.store, ObjectId(oid), obj, self.absent)
            self.store.write_bytes(data)
        written = len(order)
        self.held.clear()
        return written
