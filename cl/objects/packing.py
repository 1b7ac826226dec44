"""What a DiskStore does with packs beyond reading them: bulk writers
that pack small objects as they come (`PackLanding`, what
`DiskStore.batch()` returns: uploads and receives), gc's rewrite of packs
(`compact`) and fsck's check of them (`pack_report`).  The formats and
the reading are cl/objects/pack.py's."""

import os
import stat
import threading

from cl.objects.ids import ObjectId, hash_bytes, hashes_to
from cl.objects.pack import PACKED_BELOW, PACKED_TYPED_BELOW, SUFFIX_INDEX, SUFFIX_PACK, Pack, PackError, check
from cl.objects.store import BatchWriter, DiskStore

# Fewer objects than this in a batch are written loose when it ends: a
# pack of three objects would cost more (an fsync, two files, one more
# index for every lookup to search) than it saves.
PACK_MIN = 16
# A batch asks whether the store holds each object it is given: the
# first SNAPSHOT_AFTER times of the store, then of a PackLookup of up to
# SNAPSHOT_IDS ids (cl/objects/pack.py), read once.
SNAPSHOT_AFTER = 256
SNAPSHOT_IDS = 1 << 18


class PackLanding(BatchWriter):
    """Stores many objects: small blobs (under PACKED_BELOW) and typed
    objects (under PACKED_TYPED_BELOW) into one pack, published by
    `flush()` or `close()`; larger ones loose, blobs through the threaded
    `Landing`.  Thread-safe.

    Order: every object in one pack appears at once, so a pack never
    shows a parent without the children written before it; an object
    written loose that may name others (`write_now`, `write_bytes` of a
    large one) is written after the pack so far is published.  A present
    object is not written again ([F16])."""

    def __init__(self, store: DiskStore):
        self.store = store
        store.gc_lock.ensure_held()  # a batch is a writer (cl/objects/gclock.py)
        self._lock = threading.Lock()
        self._few: list[tuple[str, bytes]] = []
        self._ids: set[str] = set()
        self._writer = None
        self._loose = None
        self._closed = False
        self._fans: dict[str, set | None] = {}
        self._asked = 0
        self._lookup_lock = threading.Lock()
        self._lookup = None  # a PackLookup, once SNAPSHOT_AFTER questions have been asked

    # --- small objects ------------------------------------------------------

    def _add(self, objects: list[tuple[str, bytes]], repair: bool = False, absent: bool = False) -> None:
        """Pack each (id, bytes) this batch has not taken and the store
        does not hold (not looked for if the caller says it is `absent`),
        the lock taken once.  `repair`: a present copy is compared with the
        bytes and replaced if it differs (an upload repairs damage, as
        `write_bytes` does)."""
        with self._lock:
            ids = self._ids
            fresh = []
            for oid, data in objects:
                if oid not in ids:
                    ids.add(oid)
                    fresh.append((oid, data))
        if absent:
            self._pack(fresh)
            return
        held = self._held([oid for oid, _ in fresh])
        if repair:
            for oid, data in fresh:
                if oid in held and self.store._holds(oid, data) is False:
                    self.store._replace(oid, data)  # a good loose copy, read first from then on
        self._pack([(oid, data) for oid, data in fresh if oid not in held] if held else fresh)

    def _pack(self, objects: list[tuple[str, bytes]]) -> None:
        """Into the pack; the first PACK_MIN objects of a batch are kept
        aside, for the loose files they become if no more come."""
        if not objects:
            return
        with self._lock:
            if self._writer is None:
                if len(self._few) + len(objects) <= PACK_MIN:
                    self._few.extend(objects)
                    return
                self._writer = self.store.pack_writer()
                objects, self._few = self._few + objects, []
            writer = self._writer
        writer.add_many(objects)

    def _held(self, ids: list[str]) -> set[str]:
        """Which of `ids` the store holds: in a pack, or loose."""
        lookup = self._snapshot(len(ids))
        if lookup is None:
            packed = {oid for oid in ids if self.store._in_pack(oid, live=True) is not None}
        else:
            packed = lookup.holding(ids)
        return packed.union(oid for oid in ids if oid not in packed and self._in_loose(oid))

    def _snapshot(self, asking: int):
        """The PackLookup that tells which objects the packs hold, read
        once more than SNAPSHOT_AFTER questions have been asked (these
        `asking` included); None before, when each is asked of the store.
        No pack goes away while a batch lasts (it holds gc off); one another
        writer publishes meanwhile is not seen, which at worst stores an
        object twice, as two writers of one object may anyway."""
        if self._lookup is None:
            self._asked += asking
            if self._asked <= SNAPSHOT_AFTER:
                return None
            with self._lookup_lock:
                if self._lookup is None:
                    self._lookup = self.store.packs.lookup(SNAPSHOT_IDS, live=True)
        return self._lookup

    def _in_loose(self, oid: str) -> bool:
        """Whether the object is a loose file: found in a listing of its
        fan-out directory taken once per batch (one listing instead of a
        stat per object) where the directory is small."""
        fan = oid[:2]
        names = self._fans.get(fan, _UNKNOWN)
        if names is _UNKNOWN:
            names = self._fans[fan] = _listing(os.path.join(self.store.root, fan))
        if names is None:
            return os.path.lexists(self.store.path(oid))
        return oid[2:] in names

    def _publish(self) -> None:
        """Make every small object written so far visible."""
        with self._lock:
            few, self._few = self._few, []
            writer, self._writer = self._writer, None
        for oid, data in few:  # in the order written: children first
            self.store.write_verified(oid, data)
        if writer is not None and len(writer):
            writer.publish()
            self.store.packs.refresh(force=True)

    def _loose_landing(self):
        if self._loose is None:
            from cl.objects.loose import Landing
            with self._lock:
                if self._loose is None:
                    self._loose = Landing(self.store)
        return self._loose

    # --- the BatchWriter interface -----------------------------------------

    def write(self, oid: str, data: bytes) -> None:
        self.write_many([(oid, data)])

    def write_many(self, objects: list[tuple[str, bytes]], absent: bool = False) -> None:
        small = []
        for oid, data in objects:
            if len(data) < PACKED_BELOW:
                small.append((oid, data))
            else:
                self._loose_landing().write(oid, data)
        self._add(small, absent=absent)

    def write_now(self, oid: str, data: bytes) -> None:
        """A typed object (one that may name others), packed up to
        PACKED_TYPED_BELOW."""
        if len(data) < PACKED_TYPED_BELOW:
            self._add([(oid, data)])
            return
        self._publish()  # it may name what the pack holds
        self._loose_landing().write_now(oid, data)

    def stream(self, oid: str, stream) -> None:
        self._loose_landing().stream(oid, stream)  # a large blob names nothing

    def write_fd(self, fd: int, size: int | None = None, progress=None) -> tuple[ObjectId, int]:
        if size is None:
            size = os.fstat(fd).st_size
        if size < PACKED_BELOW:
            data = os.pread(fd, size + 1, 0)
            if len(data) <= size:  # else it grew while we looked: stored as a file
                oid = hash_bytes(data)
                self._add([(oid, data)], repair=True)
                return oid, len(data)
        return self.store.write_fd(fd, size, progress)  # a file: names nothing

    def write_bytes(self, data: bytes) -> ObjectId:
        """What an ingest writes from memory: trees, and links' targets."""
        if len(data) < PACKED_TYPED_BELOW:
            oid = hash_bytes(data)
            self._add([(oid, data)], repair=True)
            return oid
        self._publish()
        return self.store.write_bytes(data)

    def flush(self) -> None:
        if self._loose is not None:
            self._loose.flush()
        self._publish()

    def order(self) -> None:
        """Loose blobs stored now; what is packed already comes out with
        (or before) what is written after it, so the pack stays open: a
        receive publishes one pack, not one before its typed objects and
        one after (each publish is three fsyncs)."""
        if self._loose is not None:
            self._loose.flush()

    def close(self) -> None:
        """Publish what was written and stop the loose writer's threads;
        once.  A failure to publish drops the unpublished pack (its tmp
        file goes) and is raised."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        except BaseException:
            if self._writer is not None:
                self._writer.abort()
            raise
        finally:
            if self._loose is not None:
                self._loose.close()


_UNKNOWN = object()
LISTED_DIR_MAX = 64 << 10  # a fan-out directory larger than this (~1,000 names) is not listed


def _listing(path: str) -> set | None:
    """The names in a small directory; None for a large one."""
    try:
        if os.stat(path).st_size > LISTED_DIR_MAX:
            return None
        return set(os.listdir(path))
    except FileNotFoundError:
        return set()


# --- gc ---------------------------------------------------------------------


def compact(store: DiskStore, drop, young, gather: bool) -> int:
    """Replace every pack holding an object of `drop` by one without them;
    with `gather`, also the small loose objects and every other pack --
    but the largest, where it outweighs all the rest (so repeated gcs copy
    each object a logarithmic number of times, not at every gc).  Objects
    only the grace period keeps (`young`) go to a pack of their own whose
    time is their newest source's, so that keeping them does not make them
    young again.  Every object moved is checked against its id on the way,
    and a good copy always wins over a damaged one.  The new packs are
    published before anything they replace is removed: an object is never
    absent on the way.  Only under the gc lock held exclusively."""
    packs = store.packs
    packs.refresh(force=True)
    every = list(packs.packs)
    dropped = {bytes.fromhex(oid) for oid in drop}
    targets = [p for p in every if any(p.find(raw) >= 0 for raw in dropped)]
    loose: list[tuple[str, int, int]] = []
    if gather:
        _remove_unfinished(packs.directory)
        # a young loose object keeps its own time (gc's grace period); it is gathered once old
        loose = [entry for entry in _small_loose(store) if entry[0] not in young]
        others = [p for p in every if p not in targets]
        if others:  # the largest stays as it is if it outweighs the rest
            largest = max(others, key=lambda p: p.size)
            rest = sum(p.size for p in every if p is not largest) + sum(size for _, _, size in loose)
            targets += [p for p in others if p is not largest or largest.size <= rest]
    if not targets and not loose:
        return 0
    kept_packs = [p for p in every if p not in targets]
    main, aside = store.pack_writer(), store.pack_writer()
    aside_time = 0
    young_raw = {bytes.fromhex(oid) for oid in young}
    placed: set[bytes] = set()  # ids the new packs hold, whatever PackWriter publishes on the way
    gathered: list[str] = []  # loose objects now held by a pack: their files go

    def keep(raw: bytes, data: bytes, mtime_ns: int) -> None:
        nonlocal aside_time
        placed.add(raw)
        if raw in young_raw:
            aside.add(raw.hex(), data)
            aside_time = max(aside_time, mtime_ns)
        else:
            main.add(raw.hex(), data)

    def kept(raw: bytes):
        """The pack that stays and holds `raw` (the first), or None."""
        return next((q for q in kept_packs if q.find(raw) >= 0), None)

    # A loose copy beside a damaged packed one is what an upload left to
    # repair it: that pack is rewritten too, and the good copy goes in.
    for oid, _, _ in loose:
        holder = kept(bytes.fromhex(oid))
        if holder is not None and not _sound(holder, bytes.fromhex(oid)):
            kept_packs.remove(holder)
            targets.append(holder)
    try:
        # Loose objects first, each read and checked, so that a good copy
        # is the one placed.
        for oid, mtime_ns, _ in loose:
            data = store._read_loose(oid)
            if not hashes_to(data, oid):
                continue  # damaged: it stays loose, where `cl fsck` names it
            raw = bytes.fromhex(oid)
            if kept(raw) is None:
                keep(raw, data, mtime_ns)
            gathered.append(oid)
        # Then the packs rewritten: a damaged record goes on only where no
        # good copy did (carried, so that `cl fsck` still names it).
        damaged = []
        for p in targets:
            for raw, offset, size in p.entries():
                if raw in dropped or raw in placed or kept(raw) is not None:
                    continue
                data = bytes(p.data[offset:offset + size])
                if not hashes_to(data, raw.hex()):
                    damaged.append((raw, data, p.mtime_ns))
                    continue
                keep(raw, data, p.mtime_ns)
        for raw, data, mtime_ns in damaged:
            if raw not in placed:
                keep(raw, data, mtime_ns)
        main_name = main.publish()
        name = aside.publish()
    except BaseException:
        main.abort()
        aside.abort()
        raise
    published = {main_name, name}
    if name is not None:
        os.utime(os.path.join(packs.directory, name + SUFFIX_INDEX), ns=(aside_time, aside_time))
    for p in targets:  # the index first: the pack is invisible from then on
        if p.name in published:
            continue  # rewritten to the same bytes, so the same name: it is the new pack
        for path in (p.idx_path, p.pack_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    for oid in gathered:
        store.delete(oid)
    packs.refresh(force=True)
    return len(targets)


def _sound(pack: Pack, raw: bytes) -> bool:
    """Whether the pack's copy of `raw` hashes to its id."""
    try:
        return hashes_to(pack.read(pack.find(raw)), raw.hex())
    except PackError:
        return False


def _small_loose(store: DiskStore, fans=None) -> list[tuple[str, int, int]]:
    """(id, time, size) of every loose object small enough to pack (in
    the fan-out directories `fans`, or all)."""
    return [(oid, st.st_mtime_ns, st.st_size) for oid, st in store.loose_entries(fans)
            if st.st_size < PACKED_BELOW and stat.S_ISREG(st.st_mode)]


def _remove_unfinished(directory: str) -> None:
    """A `.pack` without its `.idx` was never visible: its writer died
    between the two renames (gc holds the lock, so no writer is there now)."""
    for name, path in _unfinished(directory):
        os.unlink(path)


def _unfinished(directory: str) -> list[tuple[str, str]]:
    try:
        names = set(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [(n, os.path.join(directory, n)) for n in sorted(names)
            if n.endswith(SUFFIX_PACK) and n[:-len(SUFFIX_PACK)] + SUFFIX_INDEX not in names]


# --- after writes: git's `gc --auto` ------------------------------------------

SAMPLED_FANS = tuple(f"{i:02x}" for i in range(0, 256, 16))  # what an estimate lists: 1 in 16


def autopack(store: DiskStore, loose_limit: int, pack_limit: int) -> bool:
    """What a command does after it wrote: once about `loose_limit` small
    loose objects have gathered, or `pack_limit` packs, gather them
    (`compact`, with nothing dropped) -- if the gc lock is free; a writer
    or gc at work means another time.  Whether it packed.  Reading a
    thousand small loose files from a cold cache is what made `cl print`
    of a large worksheet slow; a pack reads them in one sequential file."""
    if not _due(store, loose_limit, pack_limit):
        return False
    with store.gc_lock.exclusive_if_free() as free:
        if not free:
            return False
        compact(store, frozenset(), frozenset(), gather=True)
    return True


def _due(store: DiskStore, loose_limit: int, pack_limit: int) -> bool:
    """Whether there are `pack_limit` packs or more, or about
    `loose_limit` small loose objects or more: counted in a sample of the
    fan-out directories (object ids spread evenly over them)."""
    if pack_limit:
        store.packs.refresh(force=True)
        if len(store.packs.packs) >= pack_limit:
            return True
    if not loose_limit:
        return False
    return len(_small_loose(store, SAMPLED_FANS)) * (256 // len(SAMPLED_FANS)) >= loose_limit


# --- fsck -------------------------------------------------------------------


def pack_report(store: DiskStore) -> tuple[list[str], list[str]]:
    """(problems, notes) about objects/pack/: each index and pack checked
    whole (`pack.check`); an unfinished pack is a note, anything else
    there a problem."""
    directory = store.packs.directory
    problems: list[str] = []
    notes: list[str] = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return problems, notes
    unfinished = {n for n, _ in _unfinished(directory)}
    for n in names:
        path = os.path.join(directory, n)
        if n.endswith(SUFFIX_INDEX) and os.path.isfile(path) and not os.path.islink(path):
            try:
                pack = Pack(directory, n[:-len(SUFFIX_INDEX)])
            except FileNotFoundError:
                problems.append(f"pack index '{path}' has no pack beside it")
                continue
            except (PackError, ValueError, OSError) as exc:
                problems.append(f"pack index '{path}' cannot be read: {exc}")
                continue
            try:
                problems += check(pack)
            finally:
                pack.close()
        elif n in unfinished:
            notes.append(f"'{path}' is a pack an interrupted command did not finish ('cl gc' removes it)")
        elif not (n.endswith(SUFFIX_PACK) and os.path.isfile(path)):
            problems.append(f"'{path}' is not a pack file (left alone, never read)")
    return problems, notes
