"""Pack files: many small objects in one append-only file with a sorted
index beside it (docs/format.md §7.1, [F22]-[F24]), as git and restic
store them.  One file per small object makes the file system's inode
allocator most of what storing it costs; a pack costs one file per
upload or receive.

This module owns the two formats and the three things done with them:
reading (`Pack`, `PackSet`: find an object by id in an index mapped into
memory, by its fan-out table and a binary search), writing (`PackWriter`:
append to a file in tmp/, then publish) and checking (`check`, for `cl
fsck`).  A pack becomes visible only when its index is renamed into
`objects/pack/`, after the pack and the index are complete and fsynced;
a process killed at any point leaves at most a file in tmp/ or a `.pack`
without its `.idx`, which readers never look at and `cl gc` removes."""

import mmap
import os
import struct
import threading
from bisect import bisect_left

from cl.objects.background import Background
from cl.objects.ids import new_hasher

# Format version 2 is written; version 1 packs (their records carried the
# id, their entries u64s: 88 bytes of framing an object against 44) are read.
PACK_MAGIC = b"CLPACK\x00\x02"   # "CLPACK", format version 2
INDEX_MAGIC = b"CLPIDX\x00\x02"
RECORD = struct.Struct(">I")       # size; the object's bytes follow (its id is their hash)
ENTRY = struct.Struct(">32sII")    # id, offset of the bytes in the pack, size
PACK_MAGIC_V1, INDEX_MAGIC_V1 = b"CLPACK\x00\x01", b"CLPIDX\x00\x01"
RECORD_V1 = struct.Struct(">32sQ")  # id, size
ENTRY_V1 = struct.Struct(">32sQQ")
VERSIONS = {INDEX_MAGIC: (2, PACK_MAGIC, ENTRY), INDEX_MAGIC_V1: (1, PACK_MAGIC_V1, ENTRY_V1)}
FANOUT = struct.Struct(">256I")
COUNT = struct.Struct(">Q")
SUM = 32                         # a blake3 digest closes each file
HEAD = len(INDEX_MAGIC) + COUNT.size + FANOUT.size  # where the index's entries start

# Blobs smaller than this are packed by bulk writers; larger ones stay
# loose files, so a checkout can hard-link them (docs/design.md §4 has the
# measurement).  Typed objects (trees, states...) are never linked: they
# are packed up to PACKED_TYPED_BELOW.
PACKED_BELOW = 16 << 10
PACKED_TYPED_BELOW = 1 << 20
# A writer publishes its pack once it holds this much and starts another:
# a killed receive loses at most this much, and a reader maps less.  It
# also keeps every offset within the u32 of a version 2 entry: no object
# as large as the limit is packed, so a pack stays under twice the limit.
PACK_LIMIT = 512 << 20

SUFFIX_PACK, SUFFIX_INDEX = ".pack", ".idx"


def index_bytes(places: dict[bytes, tuple[int, int]], pack_sum: bytes) -> bytes:
    """The index of a pack: `places` maps each raw id to the (offset,
    size) of its bytes in the pack; `pack_sum` is the pack's closing
    digest."""
    return sealed_index(index_entries(places), pack_sum)


def index_entries(places: dict[bytes, tuple[int, int]]) -> bytes:
    """An index up to the end of its entries, which need only the places
    (a writer makes them while the pack is hashed).  The entries are made
    by one map over the sorted ids, and the fan-out table by a binary
    search per first byte."""
    ids = sorted(places)
    offsets, sizes = zip(*map(places.__getitem__, ids)) if ids else ((), ())
    fan = [bisect_left(ids, bytes([b + 1])) for b in range(255)] + [len(ids)]
    return b"".join([INDEX_MAGIC, COUNT.pack(len(ids)), FANOUT.pack(*fan),
                     *map(ENTRY.pack, ids, offsets, sizes)])


def sealed_index(entries: bytes, pack_sum: bytes) -> bytes:
    """The whole index: its entries, the pack's digest, its own digest."""
    body = entries + pack_sum
    return body + new_hasher().update(body).digest()


def pack_bytes(objects: list[tuple[bytes, bytes]]) -> tuple[bytes, dict[bytes, tuple[int, int]]]:
    """A whole pack of (raw id, bytes) in the given order, and where each
    object's bytes are in it, for `index_bytes` (for the golden vectors
    and tests; writers stream)."""
    parts, places, at = [PACK_MAGIC], {}, len(PACK_MAGIC)
    for raw, data in objects:
        parts.append(RECORD.pack(len(data)))
        at += RECORD.size
        places[raw] = (at, len(data))
        parts.append(data)
        at += len(data)
    body = b"".join(parts)
    return body + new_hasher().update(body).digest(), places


INTERPOLATED = 4  # probes of Pack.find that interpolate before it halves
SCAN_PER_ID = 8   # index entries read into a PackLookup that cost about one Pack.find
LOOKUP_MAX = 1 << 18  # index entries a PackLookup reads at most (about 25 MB)


class PackError(Exception):
    """A pack or index that is not what its format says (only `check` and
    `Pack.open` raise it; the store reports it as corrupt)."""


class Pack:
    """One published pack: its index and data mapped read-only."""

    def __init__(self, directory: str, name: str):
        self.name = name
        self.idx_path = os.path.join(directory, name + SUFFIX_INDEX)
        self.pack_path = os.path.join(directory, name + SUFFIX_PACK)
        self._fd = os.open(self.idx_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            st = os.fstat(self._fd)
            self.mtime_ns = st.st_mtime_ns
            if st.st_size < HEAD + 2 * SUM:
                raise PackError(f"index {name} is truncated")
            self.idx = mmap.mmap(self._fd, 0, prot=mmap.PROT_READ)
            version = VERSIONS.get(self.idx[:len(INDEX_MAGIC)])
            if version is None:
                raise PackError(f"index {name} does not start as an index of a version this cl reads")
            self.version, self.pack_magic, self._entry = version
            self._esize = self._entry.size
            (self.count,) = COUNT.unpack_from(self.idx, len(INDEX_MAGIC))
            if st.st_size != HEAD + self.count * self._esize + 2 * SUM:
                raise PackError(f"index {name} is truncated or too long for its {self.count} entries")
            self.fan = FANOUT.unpack_from(self.idx, len(INDEX_MAGIC) + COUNT.size)
            pfd = os.open(self.pack_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                self.size = os.fstat(pfd).st_size
                self.data = mmap.mmap(pfd, 0, prot=mmap.PROT_READ) if self.size else b""
            finally:
                os.close(pfd)
        except BaseException:
            os.close(self._fd)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def alive(self) -> bool:
        """Whether the index is still in place (gc deletes a repacked
        pack's index first; a mapping of it stays readable meanwhile)."""
        return self._fd >= 0 and os.fstat(self._fd).st_nlink > 0

    def find(self, raw: bytes) -> int:
        """The entry number of the raw id, or -1.  Ids are hashes, spread
        evenly: inside the fan-out table's range the next probe is where
        the id's value falls between the bounds' values (interpolation:
        about 3 probes among 4,000 entries, where halving takes 12), and
        after INTERPOLATED probes it halves, so an uneven index costs no
        more than a binary search."""
        first = raw[0]
        lo = self.fan[first - 1] if first else 0
        hi = self.fan[first]
        idx, esize = self.idx, self._esize
        want = int.from_bytes(raw[1:8], "big")
        lo_v, hi_v = 0, 1 << 56  # the values of raw[1:8] the range [lo, hi) can hold
        probes = 0
        while lo < hi:
            if probes < INTERPOLATED and hi_v > lo_v:
                mid = lo + (want - lo_v) * (hi - lo) // (hi_v - lo_v)
                mid = lo if mid < lo else hi - 1 if mid >= hi else mid
            else:
                mid = (lo + hi) >> 1
            probes += 1
            at = HEAD + mid * esize
            key = idx[at:at + 32]
            if key < raw:
                lo = mid + 1
                lo_v = int.from_bytes(key[1:8], "big")
            elif key > raw:
                hi = mid
                hi_v = int.from_bytes(key[1:8], "big") + 1
            else:
                return mid
        return -1

    def entry(self, i: int) -> tuple[bytes, int, int]:
        return self._entry.unpack_from(self.idx, HEAD + i * self._esize)

    def entries(self):
        """(raw id, offset, size) of every entry, in id order."""
        return self._entry.iter_unpack(self.idx[HEAD:HEAD + self.count * self._esize])

    def points_at_record(self, raw: bytes, offset: int, size: int) -> bool:
        """Whether the record header before `offset` says what the entry does."""
        if self.version == 1:
            return (offset >= RECORD_V1.size
                    and RECORD_V1.unpack_from(self.data, offset - RECORD_V1.size) == (raw, size))
        return offset >= RECORD.size and RECORD.unpack_from(self.data, offset - RECORD.size) == (size,)

    def read(self, i: int) -> bytes:
        _, offset, size = self.entry(i)
        return self.read_at(offset, size)

    def read_at(self, offset: int, size: int) -> bytes:
        """The bytes of the object an entry places at `offset`."""
        if offset + size > self.size - SUM:
            raise PackError(f"pack {self.name} is truncated")
        return self.data[offset:offset + size]


_UNLISTED = object()


def _first_then(first, packs):
    yield first
    for p in packs:
        if p is not first:
            yield p


class PackSet:
    """The published packs of one store, found by listing `directory`
    (objects/pack).  Lookups go through the packs in the order listed; the
    listing is read again when an id is not found and the directory has
    changed, and a pack whose index has gone is dropped."""

    def __init__(self, directory: str):
        self.directory = directory
        self.packs: list[Pack] = []
        self._stamp = _UNLISTED
        self._lock = threading.Lock()
        self._last: Pack | None = None  # the pack the last lookup found its object in

    def _listing_stamp(self):
        try:
            st = os.stat(self.directory)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self, force: bool = False) -> bool:
        """Read the listing again if the directory changed (or `force`);
        whether anything changed."""
        stamp = self._listing_stamp()
        if stamp == self._stamp and not force:
            return False
        with self._lock:
            self._stamp = stamp
            try:
                names = sorted(n[:-len(SUFFIX_INDEX)] for n in os.listdir(self.directory)
                               if n.endswith(SUFFIX_INDEX))
            except FileNotFoundError:
                names = []
            have = {p.name: p for p in self.packs}
            packs = []
            for name in names:
                p = have.pop(name, None)
                if p is not None and not p.alive():
                    # rewritten under the same name (a repack to the same
                    # bytes): the listed index is another file
                    p.close()
                    p = None
                if p is None:
                    try:
                        p = Pack(self.directory, name)
                    except FileNotFoundError:
                        continue  # removed by gc between the listing and the open
                    except (PackError, ValueError, OSError):
                        continue  # a damaged pack: `cl fsck` reports it
                packs.append(p)
            changed = bool(have) or len(packs) != len(self.packs)
            for p in have.values():
                p.close()
            self.packs = packs
            self._last = None
            return changed

    def locate(self, oid: str, live: bool = False):
        """(pack, entry number) of the object, or None.  `live`: the pack's
        index must still be in place (a deduplication check relies on it).
        The listing is not read again here (see `refresh`)."""
        if self._stamp is _UNLISTED:
            self.refresh(force=True)
        if not self.packs:
            return None
        raw = bytes.fromhex(oid)
        for _ in range(3):  # a pack gc replaced meanwhile: list again, a few times at most
            stale = False
            last = self._last  # objects asked for together lie together: its pack first
            for p in self.packs if last is None else _first_then(last, self.packs):
                i = p.find(raw)
                if i >= 0:
                    if live and not p.alive():
                        stale = True
                        continue  # another pack may hold it too
                    self._last = p
                    return p, i
            if not stale:
                return None
            self.refresh(force=True)
        return None

    def lookup(self, budget: int, live: bool = False, places: bool = False) -> "PackLookup":
        """A way to ask about many ids (a PackLookup) reading at most
        `budget` index entries into memory, and never more than LOOKUP_MAX.
        `live`: only packs whose index is still in place (the listing is
        read again if one is gone).  `places`: where each object lies, for a reader."""
        if self._stamp is _UNLISTED or (live and not all(p.alive() for p in self.packs)):
            self.refresh(force=True)
        packs = [p for p in self.packs if not live or p.alive()]
        return PackLookup(packs, min(budget, LOOKUP_MAX), places)

    def names(self) -> list[str]:
        if self._stamp is _UNLISTED:
            self.refresh(force=True)
        return [p.name for p in self.packs]


class PackLookup:
    """Whether some pack holds each of many raw ids, and where.  An id no
    pack holds costs a search in every pack, and a store keeps up to
    `gc.auto_pack_limit` of them; so the entries of the smallest packs are
    read into one map, up to `budget` of them, and only the other packs
    are searched (Pack.find, a Python loop of a few probes)."""

    def __init__(self, packs: list["Pack"], budget: int, places: bool = False):
        """`places`: each id is mapped to its pack, offset and
        size (only where those lie inside the pack, so that a reader of
        `known` may slice the pack's data as it is); else to its pack only
        (about half the memory, a batch writer's membership questions need
        no more)."""
        self.known: dict[bytes, object] = {}  # raw id -> its pack, or (pack, offset, size)
        self.searched: list[Pack] = []
        for p in sorted(packs, key=lambda p: p.count):
            if len(self.known) + p.count > budget:
                self.searched.append(p)
            elif places:  # an entry whose bytes run past the pack's end is left to the reader's checked path
                end = p.size - SUM
                self.known.update({raw: (p, offset, size) for raw, offset, size in p.entries()
                                   if offset + size <= end})
            else:
                self.known.update(dict.fromkeys((raw for raw, _, _ in p.entries()), p))

    def holding(self, ids: list[str]) -> set[str]:
        """Which of `ids` (hex) some pack holds: the map asked once for all."""
        if not self.known and not self.searched:
            return set()  # no pack (a new repository)
        raws = {bytes.fromhex(oid): oid for oid in ids}
        hit = self.known.keys() & raws.keys()
        held = {raws[raw] for raw in hit}
        if self.searched:
            held.update(oid for raw, oid in raws.items()
                        if raw not in hit and any(p.find(raw) >= 0 for p in self.searched))
        return held

    def search(self, raw: bytes) -> tuple["Pack", int, int] | None:
        """(pack, offset, size) of the object in a pack not read into the
        map, or None; what the map holds is `known`'s (a lookup made with
        `places`)."""
        for p in self.searched:
            i = p.find(raw)
            if i >= 0:
                _, offset, size = p.entry(i)
                return p, offset, size
        return None


class PackWriter:
    """Appends objects to a new pack in tmp/ and publishes it into
    `directory` (objects/pack).  Thread-safe: each object's place is taken
    under a lock and its bytes are written outside it, gathered into
    writes of about 1 MiB; the closing digest is computed at publish time
    by reading the file back through mmap (the page cache holds it).  The
    caller has checked each object's id."""

    GATHER = 1 << 20
    SYNC_BEHIND = 16 << 20  # bytes written between two flushes behind (FlushBehind)

    def __init__(self, tmp_file, directory: str):
        """`tmp_file(flags)`: (path, descriptor) of a new file in tmp/."""
        self._tmp_file = tmp_file
        self.directory = directory
        self._lock = threading.Lock()
        self._path = None
        self._fd = -1
        self._writing = 0  # gathered writes in progress outside the lock
        self._idle = threading.Condition(self._lock)
        self._reset()

    def _reset(self) -> None:
        self.entries: dict[bytes, tuple[int, int]] = {}
        self._buf: list[bytes] = []
        self._buf_at = 0
        self._at = 0
        self.bytes = 0
        self._behind: FlushBehind | None = None
        self._synced_at = 0

    def __contains__(self, oid: str) -> bool:
        return bytes.fromhex(oid) in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, oid: str, data: bytes) -> bool:
        """Append one object; False if this pack holds it already."""
        return self.add_many([(oid, data)]) == 1

    def add_many(self, objects) -> int:
        """Append objects, (id, bytes) each, that this pack does not hold
        yet; how many.  Returns after publishing the pack when it has
        reached PACK_LIMIT."""
        for oid, data in objects:
            if len(data) >= PACK_LIMIT:
                raise ValueError(f"object 0x{oid} is too large for a pack ({len(data)} bytes)")
        added = added_bytes = 0
        with self._lock:
            if self._fd < 0 and objects:
                self._path, self._fd = self._tmp_file(os.O_RDWR)
                self._buf, self._buf_at, self._at = [PACK_MAGIC], 0, len(PACK_MAGIC)
            entries, append, header, at = self.entries, self._buf.append, RECORD.pack, self._at
            for oid, data in objects:  # a pack frame's 256 objects at a time: locals, not attributes
                raw = bytes.fromhex(oid)
                if raw in entries:
                    continue
                n = len(data)
                append(header(n))
                at += RECORD.size
                entries[raw] = (at, n)
                append(data)
                at += n
                added += 1
                added_bytes += n
            self.bytes += added_bytes
            self._at = at
            if self._at - self._buf_at < self.GATHER:
                return added
            chunk, start = self._take()
            fd = self._fd
        try:
            _pwrite(fd, chunk, start)
        finally:
            with self._lock:
                self._writing -= 1
                self._idle.notify_all()
        self._sync_behind(fd)
        if self._at >= PACK_LIMIT:
            self.publish()
        return added

    def _sync_behind(self, fd: int) -> None:
        """Start a FlushBehind of the pack every SYNC_BEHIND bytes, one at
        a time."""
        with self._lock:
            if fd != self._fd or self._at - self._synced_at < self.SYNC_BEHIND:
                return
            if self._behind is not None:
                if not self._behind.done():
                    return
                self._behind.result()  # a failure is raised here, not lost
            self._behind, self._synced_at = FlushBehind(fd), self._at

    def _take(self) -> tuple[bytes, int]:
        """The gathered bytes and their offset (under the lock)."""
        chunk, start = b"".join(self._buf), self._buf_at
        self._buf, self._buf_at = [], self._at
        self._writing += 1
        return chunk, start

    def publish(self) -> str | None:
        """Make the pack visible (its name, or None if it is empty); the
        writer can then take more objects into a new pack."""
        with self._lock:
            if self._fd < 0:
                return None
            self._idle.wait_for(lambda: self._writing == 0)
            chunk, start = self._take()
            self._writing -= 1
            fd, path, entries, size, behind = self._fd, self._path, self.entries, self._at, self._behind
            self._fd = -1
            self._reset()
            return self._publish(fd, path, entries, chunk, start, size, behind)

    def _publish(self, fd, path, entries, chunk, start, size, behind) -> str:
        try:
            _pwrite(fd, chunk, start)
            hasher = new_hasher(spread=True)
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as view:
                hashing = Background(hasher.update, view)  # blake3 lets go of the interpreter…
                try:
                    index = index_entries(entries)  # …while the index is sorted
                finally:
                    hashing.wait()  # the map stays open until blake3 is done with it
                hashing.result()
            digest = hasher.digest()
            _pwrite(fd, digest, size)
            if behind is not None:
                behind.result()
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        name = "pack-" + digest.hex()
        os.makedirs(self.directory, exist_ok=True)
        os.chmod(path, 0o444)
        os.rename(path, os.path.join(self.directory, name + SUFFIX_PACK))
        idx_path, fd = self._tmp_file()
        try:
            _pwrite(fd, sealed_index(index, digest), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(idx_path, 0o444)
        os.rename(idx_path, os.path.join(self.directory, name + SUFFIX_INDEX))
        _fsync_dir(self.directory)
        return name

    def abort(self) -> None:
        """Drop what is not published (its tmp file goes)."""
        with self._lock:
            self._idle.wait_for(lambda: self._writing == 0)
            if self._fd >= 0:
                if self._behind is not None:
                    self._behind.wait()  # its descriptor is about to close; a failure no longer matters
                os.close(self._fd)
                self._fd = -1
                os.unlink(self._path)
            self._reset()


class FlushBehind(Background):
    """An fdatasync of a pack being written, on a thread of its own: the
    bytes written so far go to disk while the next ones arrive, so the
    fsync that publishes the pack waits for its tail only.  `result()`
    (or `wait()`) before the descriptor closes; `result()` raises what the
    fdatasync met (a write error is reported once: lost here, the
    publishing fsync could succeed without the pack's bytes)."""

    def __init__(self, fd: int):
        super().__init__(os.fdatasync, fd)


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check(pack: Pack) -> list[str]:
    """What is wrong with a published pack and its index: checksums,
    order, bounds, and that each entry points at a record of its size
    whose bytes hash to its id.  Empty when all is well."""
    problems = []
    where = f"pack {pack.name}"
    body = pack.idx[:-SUM]
    if new_hasher().update(body).digest() != pack.idx[-SUM:]:
        problems.append(f"{where}: its index does not match its checksum")
    pack_sum = bytes(pack.idx[-2 * SUM:-SUM])
    if pack.size < len(PACK_MAGIC) + SUM or pack.data[:len(PACK_MAGIC)] != pack.pack_magic:
        return problems + [f"{where}: the pack file is truncated or not a pack"]
    hasher = new_hasher(spread=True)
    hasher.update(memoryview(pack.data)[:pack.size - SUM])
    if hasher.digest() != pack.data[pack.size - SUM:] or pack_sum != pack.data[pack.size - SUM:]:
        problems.append(f"{where}: the pack's bytes do not match its checksum (truncated or damaged)")
    if "pack-" + pack_sum.hex() != pack.name:
        problems.append(f"{where}: its name is not its checksum")
    prev = None
    counts = [0] * 256
    for raw, offset, size in pack.entries():
        oid = raw.hex()
        counts[raw[0]] += 1
        if prev is not None and raw <= prev:
            problems.append(f"{where}: its index is not sorted at 0x{oid}")
        prev = raw
        if offset < len(PACK_MAGIC) or offset + size > pack.size - SUM:
            problems.append(f"{where}: entry 0x{oid} lies outside the pack (truncated)")
            continue
        if not pack.points_at_record(raw, offset, size):
            problems.append(f"{where}: entry 0x{oid} does not point at its record")
            continue
        if new_hasher().update(pack.data[offset:offset + size]).hexdigest() != oid:
            problems.append(f"object 0x{oid} in {where} is corrupt: its bytes do not hash to its id")
    total = 0
    for i in range(256):
        total += counts[i]
        if pack.fan[i] != total:
            problems.append(f"{where}: its index's fan-out table is wrong")
            break
    return problems

