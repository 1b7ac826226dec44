"""Moving objects (docs/protocol.md §4–5).

Sending: `negotiate` walks the local DAG from the tips level by level and
asks the remote `have` about a whole level at once (several levels while
every answer is "no"); a "yes" prunes the object's closure.  A remote that
said in its hello that it holds nothing (a new repository) is asked
nothing: everything is missing there.  `send` puts the missing objects
children first.

Fetching: `Fetcher.fetch` gets the tips, decodes each typed object as it
arrives, and gets the children it lacks at the next level.  Blobs are stored
as they arrive (re-hashed, in chunks); typed objects are held until
`commit`, which writes them children first, so the store never holds an
object without its closure and an interrupted fetch keeps its blobs."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from cl.errors import CLError, ObjectMissing
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, decode_object, read_object
from cl.objects.types import MODE_DIR, Bundle, Result, State, Tree, children
from cl.remote import frames
from cl.remote.client import Client
from cl.remote.frames import Incoming, PackFrame, RemoteError
from cl.remote.graph import data_optional, edges, recorded_sizes
from cl.remote.receive import TYPED_MAX, Receiver, check_children, verify

MAX_DEPTH = 64
MAX_ASK = 65536


class Stopped(Exception):
    """A walk was told to stop (`stopped()` said so) before it ended."""


def children_first(roots: list[str], kids: Callable[[str], list[str]], members: set,
                   stopped: Callable[[], bool] | None = None) -> list[str]:
    """Post-order of the DAG below `roots` restricted to `members`: every
    object after all its children.  A member without children (a blob: the
    bulk of most closures) is placed at once, not stacked.  `stopped`:
    asked at each member with children; Stopped is raised once it says so."""
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
                    below = kids(child)
                    if below:
                        if stopped is not None and stopped():
                            raise Stopped
                        stack.append((child, iter(below)))
                        break
                    order.append(child)
            else:
                stack.pop()
                order.append(oid)
    return order


# --- sending ----------------------------------------------------------------


@dataclass
class Plan:
    """What the remote lacks, children first; `absent` are missing here too
    and allowed to be (contents of deleted data); `sizes`, the blob sizes
    their parents record (read hints)."""

    order: list[str] = field(default_factory=list)
    absent: set = field(default_factory=set)
    sizes: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.order)


class Prefetch:
    """Typed objects of the local DAG below some tips, read and decoded on a
    thread while the main thread waits for the remote to answer its first
    request (the far side's start takes a few tenths of a second); `negotiate`
    then finds them decoded.  It goes level by level from the tips and stops
    the moment it is told to, so what it does is work that waiting would
    have wasted, not work added.  `start` it once this thread has nothing
    but waiting to do: beside Python work (importing and connecting
    paramiko) it would only compete for the interpreter."""

    def __init__(self, store: ObjectStore, tips: list[str]):
        self.store = store
        self.tips = list(dict.fromkeys(tips))
        self._decoded: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cl-prefetch")
        # Once every level is read, the plan for a remote that holds nothing
        # (a new repository), made while still waiting; `negotiate` takes it
        # instead of walking the closure again when the hello says so.
        self.empty_plan: EmptyPlan | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        level = self.tips
        seen = set(level)
        while level:
            nxt = []
            for oid in level:
                if self._stop.is_set():
                    return
                try:
                    obj = read_object(self.store, oid)
                except CLError:
                    continue  # negotiate meets it again and says what is wrong
                self._decoded[oid] = obj
                for child, is_typed, _ in edges(obj):
                    if is_typed and child not in seen:
                        seen.add(child)
                        nxt.append(child)
                # hand the interpreter back between objects: the main thread's
                # reply must not wait out a 5 ms switch interval for it
                time.sleep(0)
            level = nxt
        try:
            plan = plan_everything(self.store, self.tips, self._decoded, self._stopped)
        except (Stopped, CLError):  # a damaged object: negotiate meets it again and names it
            return
        self.empty_plan = EmptyPlan(frozenset(self.tips), plan)

    def _stopped(self) -> bool:
        time.sleep(0)  # as between objects above
        return self._stop.is_set()

    def stop(self) -> dict[str, object]:
        """Stop at once (if started at all); the objects decoded so far, by id."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self._decoded


class NoneHeld(dict):
    """The answers of a remote that holds nothing: every id is answered,
    and the answer is no.  `negotiate` then asks nothing and walks the
    whole closure in one pass."""

    def __contains__(self, oid) -> bool:
        return True

    def __getitem__(self, oid) -> bool:
        return False


class EmptyPlan(NamedTuple):
    """A plan made before the remote answered, for the case that it holds
    nothing: the tips it was made for, and the plan."""

    tips: frozenset
    plan: Plan


def negotiate(store: ObjectStore, client: Client, tips: list[str],
              decoded: dict[str, object] | None = None, empty_plan: EmptyPlan | None = None) -> Plan:
    """What the remote lacks of the closure of `tips`.  `decoded`: typed
    objects already read, and `empty_plan` what a Prefetch made of them."""
    if not client.holds_nothing():
        return _walk(store, client.have, tips, decoded or {}, {})
    if empty_plan is not None and empty_plan.tips == frozenset(tips):
        return empty_plan.plan
    return plan_everything(store, tips, decoded or {})


def plan_everything(store: ObjectStore, tips: list[str], decoded: dict[str, object],
                    stopped: Callable[[], bool] | None = None) -> Plan:
    """The plan for a remote that holds nothing: every id is answered
    "no" without asking, and the closure walked once.  `stopped`: as for
    children_first."""
    return _walk(store, None, tips, decoded, NoneHeld(), stopped)


def _walk(store: ObjectStore, have: Callable[[list[str]], set] | None, tips: list[str],
          decoded: dict[str, object], answers: dict[str, bool],
          stopped: Callable[[], bool] | None = None) -> Plan:
    """negotiate's walk: `answers` says for each id asked whether the
    remote holds it (NoneHeld: all known), `have` asks about more."""
    typed: dict[str, bool] = {t: True for t in tips}
    sizes: dict[str, int] = {}
    cache: dict[str, list[tuple[ObjectId, bool, int]]] = {}
    optional: set = set()
    optional_bundles: set = set()
    optional_results: set = set()

    def read(oid: str):
        obj = decoded.get(oid)
        return obj if obj is not None else read_object(store, oid)

    for tip in tips:  # the data of a deleted bundle may be gone here and there
        obj = read(tip)
        if isinstance(obj, State) and data_optional(obj):
            optional_bundles.add(obj.bundle)
            if obj.result:
                optional_results.add(obj.result)

    def local_edges(oid: str) -> list[tuple[ObjectId, bool, int]]:
        if oid not in cache:
            obj = read(oid)
            if isinstance(obj, (Bundle, Result)) and obj.contents and (
                    oid in optional_bundles or oid in optional_results):
                optional.add(obj.contents.id)
            cache[oid] = found = edges(obj)
            for child, is_typed, size in found:
                if not is_typed:
                    sizes[child] = size
        return cache[oid]

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
                    for child, is_typed, _ in local_edges(oid):
                        typed.setdefault(child, is_typed)
                        if child not in answers and child not in asking:
                            nxt.append(child)
            level = nxt
        present = have(ask) if ask else set()
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
            is_typed = typed.get(oid)
            # A blob is not looked for here: sending reads it, and a missing
            # one fails there.  A stat each would cost as much as the read.
            if (is_typed or oid in optional) and not store.has(oid):
                if oid in optional:
                    absent.add(oid)
                    continue
                raise ObjectMissing(oid, "object to send")
            missing.add(oid)
            if is_typed:
                if stopped is not None and stopped():
                    raise Stopped
                for child, child_typed, _ in local_edges(oid):
                    typed.setdefault(child, child_typed)
                    if child in walked:
                        continue
                    (stack if child in answers else new_frontier).append(child)
        frontier = [oid for oid in dict.fromkeys(new_frontier) if oid not in walked]
        depth = min(depth * 2, MAX_DEPTH) if ask and not present else 1

    members = missing | absent
    order = children_first(list(dict.fromkeys(tips)),
                           lambda o: [c for c, _, _ in local_edges(o)] if typed.get(o) and o in missing else [],
                           members, stopped)
    return Plan(order=order, absent=absent, sizes=sizes)


def send(store: ObjectStore, client: Client, plan: Plan) -> int:
    """Put the plan's objects; returns how many the remote stored.  The
    client's meter, if it has one, counts them as their frames go."""
    if not plan.order:
        return 0
    meter = client.meter
    if meter is not None:  # a stat per typed object, only when someone watches
        meter.start("sending", plan.count, sum(
            0 if oid in plan.absent else plan.sizes.get(oid) or store.size(oid) for oid in plan.order))
    stored = client.put(frames.stream_frames(store, plan.order, plan.absent, sizes=plan.sizes,
                                             meter=meter))
    client.stats.sent_objects += plan.count - len(plan.absent)
    if meter is not None:
        meter.finish()
    return stored


# --- fetching ---------------------------------------------------------------


class Fetcher:
    def __init__(self, store: ObjectStore, client: Client):
        self.store = store
        self.client = client
        self.held: dict[str, tuple[bytes, object]] = {}
        self.absent: set = set()
        self.typed: dict[str, bool] = {}
        self.sizes: dict[str, int] = {}  # what the parents fetched record for their data children
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
            self.receiver.close()
            raise

    def _expect(self, level: list[str]) -> None:
        """Tell the client's meter (if any) of a level about to be asked
        for: its objects, and the bytes its parents record."""
        meter = self.client.meter
        if meter is None or not level:
            return
        if meter.phase != "receiving":
            meter.start("receiving")
        meter.expect(len(level), sum(self.sizes.get(oid, 0) for oid in level if not self.typed.get(oid)))

    def _fetch(self, tips: list[str]) -> None:
        for t in tips:
            self.typed.setdefault(t, True)
        level = [t for t in dict.fromkeys(tips) if not self.has(t)]
        queued = set(level)
        self._expect(level)
        while level:
            wanted = set(level)
            named: list[str] = []  # children of this level's typed objects, each once
            for inc in self.client.get(level, packs=True):
                if isinstance(inc, PackFrame):
                    self._whole(inc.oids, inc.datas, wanted, named, queued)
                    continue
                oid = inc.oid
                self._asked_for(oid, wanted)  # before a large object is read
                if inc.absent:
                    wanted.discard(oid)
                    self.absent.add(oid)
                elif inc.data is not None:
                    self._whole([oid], [inc.data], wanted, named, queued)
                elif self.typed.get(oid):
                    self._whole([oid], [self._typed_bytes(inc)], wanted, named, queued)
                else:
                    wanted.discard(oid)
                    self._announced(oid, inc.size)
                    self.receiver.stream(inc)
                    self.blobs += 1
            if wanted:
                raise RemoteError(f"remote '{self.client.name}' did not send {len(wanted)} of the objects asked for")
            here = self.store.has_many([c for c in named if c not in self.held])
            self.receiver.known.update(dict.fromkeys(here))
            level = [c for c in named if c not in self.held and c not in here]
            self._expect(level)

    def _asked_for(self, oid: ObjectId, wanted: set) -> None:
        if oid not in wanted:
            raise RemoteError(f"remote '{self.client.name}' sent {oid.display}, which was not asked for")

    def _typed_bytes(self, inc: Incoming) -> bytes:
        if inc.size > TYPED_MAX:
            raise RemoteError(f"object {inc.oid.display} is too large for a typed object")
        return inc.stream.read()

    def _announced(self, oid: ObjectId, size: int) -> None:
        """An object of `size` bytes is coming: the meter (if any) hears of
        the bytes it did not expect, and a blob's size must be the one its
        parent records."""
        typed = self.typed.get(oid)
        meter = self.client.meter
        if meter is not None and (typed or oid not in self.sizes):  # not expected yet
            meter.expect(0, size)
        if not typed and self.sizes.get(oid, size) != size:
            self._check_size(oid, size)

    def _whole(self, oids: list[ObjectId], datas: list[bytes], wanted: set, named: list, queued: set) -> None:
        """Whole objects that arrived (`oids[i]` names `datas[i]`): the
        blobs verified and stored together, each typed object verified,
        decoded and held, its children not yet queued named for the next
        level."""
        if not wanted.issuperset(oids) or len(set(oids)) != len(oids):
            left = set(wanted)
            for oid in oids:  # names the first one not asked for, or sent twice
                self._asked_for(oid, left)
                left.discard(oid)
        wanted.difference_update(oids)
        blobs = []
        for oid, data in zip(oids, datas):
            self._announced(oid, len(data))
            if not self.typed.get(oid):
                blobs.append((oid, data))
                continue
            verify(oid, data)
            obj = decode_object(oid, data)
            if isinstance(obj, Tree):
                self._check_size(oid, obj.size)
            self._remember(obj)
            self.held[oid] = (data, obj)
            fresh = [c for c in dict.fromkeys(children(obj)) if c not in queued]
            queued.update(fresh)
            named.extend(fresh)
        self.receiver.blobs(blobs, absent=True)  # asked for because has_many found them missing
        self.blobs += len(blobs)

    def _remember(self, obj) -> None:
        """What a typed object says of its children: which are typed, and
        the sizes of its data children (which must agree with what other
        objects record).  A tree's columns go in with one map each."""
        if isinstance(obj, Tree):
            deque(map(self.typed.setdefault, obj.ids, map(MODE_DIR.__eq__, obj.modes)), maxlen=0)
            if list(map(self.sizes.setdefault, obj.ids, obj.sizes)) == list(obj.sizes):
                return
        else:
            for child, is_typed, _ in edges(obj):
                self.typed.setdefault(child, is_typed)
        for child, size in recorded_sizes(obj).items():
            if self.sizes.setdefault(child, size) != size:
                raise RemoteError(f"remote '{self.client.name}' sent objects that record "
                                  f"different sizes for {child.display}")

    def _check_size(self, oid: ObjectId, size: int) -> None:
        """Refuse an object whose size is not the one its parent records,
        before any of it is stored (a blob announced as 2**62 bytes whose
        tree entry says 10 is not written until the peer stops)."""
        want = self.sizes.get(oid)
        if want is not None and size != want:
            raise RemoteError(f"remote '{self.client.name}' announced {oid.display} as {size} bytes, "
                              f"but its parent records {want}; it was not stored")

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
        try:
            return self._commit()
        finally:
            self.receiver.close()
            if self.client.meter is not None and self.client.meter.phase == "receiving":
                self.client.meter.finish()

    def _commit(self) -> int:
        stray = self.absent - self._allowed_absent()
        if stray:
            oid = ObjectId(sorted(stray)[0])
            raise RemoteError(f"remote '{self.client.name}' lacks object {oid.display}, "
                              "which the objects asked for need; nothing was stored")
        order = children_first(list(self.held), lambda o: [c for c, _, _ in edges(self.held[o][1])],
                               set(self.held))
        for oid in order:
            data, obj = self.held[oid]
            check_children(self.store, ObjectId(oid), obj, self.absent, self.receiver.known)
            self.receiver.write(ObjectId(oid), data,  # verified as it arrived
                                obj.size if isinstance(obj, Tree) else None)
        written = len(order)
        self.held.clear()
        return written
