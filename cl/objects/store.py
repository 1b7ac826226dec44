"""Object stores: a narrow interface with two implementations, one on disk
(`DiskStore`, loose read-only files under `objects/ab/cdef…` and packs of
small objects under `objects/pack/`, cl/objects/pack.py) and one in
memory (`MemoryStore`, for tests and as a contract check).

Writes are atomic: a small object is written into an unnamed file in its own
fan-out directory and linked to its name whole (`write_unnamed`); anything
else goes to `tmp/` and is renamed into place.  So a crash leaves at most a
stray tmp file, never a partial object under its name.  Writing an object
that is already present is a no-op: that is deduplication."""

import errno
import io
import itertools
import mmap
import os
import stat
import threading
import time
from typing import Callable, Iterator, NamedTuple

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import encoding, holes
from cl.objects.gclock import GcLock, ThreadGcLock
from cl.objects.ids import ObjectId, hash_bytes, hashes_to, new_hasher
from cl.objects.types import TYPES, WORKSHEET_TYPES, FormatError, Worksheet

CHUNK = 8 << 20
SMALL = 1 << 20
VERIFY_WHOLE = 32 << 20  # `open` re-hashes objects up to this size before returning them
READ_ONE_BY_ONE = 64     # a small_reader for fewer objects than this looks each up on its own
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
COPY_CHUNK = 64 << 20  # a multiple of mmap.ALLOCATIONGRANULARITY
TAIL_CHUNK = 8 << 20   # a large file's last COPY_CHUNK goes in these: little is left to hash at the end
# No MAP_POPULATE: the hash's own page faults (each maps a run of pages) cost
# the hashing thread less than populating the map up front (docs/bench-notes.md).
_MAP_FLAGS = mmap.MAP_SHARED

# tmp files are named by process and a counter (DiskStore._tmp_file)
_tmp_numbers = itertools.count()  # next() is atomic under the GIL
_pid = os.getpid()  # one syscall per process, not per tmp file


# O_TMPFILE: an unnamed file in a directory (Linux 3.11+, most local file
# systems); where the kernel or file system refuses it, tmp/ and a rename.
UNNAMED = os.O_WRONLY | getattr(os, "O_TMPFILE", 0)
UNNAMED_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT, errno.EXDEV,
                       errno.EPERM, errno.EACCES)
CAN_UNNAME = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def write_all(fd: int, data) -> None:
    """Write all of `data` to `fd` (a write may be short)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_unnamed(dir_fd: int, name: str, data: bytes) -> None:
    """Store `data` as `name` in the directory `dir_fd` in four system
    calls: an unnamed file, one write, a link that gives it its name whole
    -- or finds the name taken, which is deduplication -- and a close.  A
    crash leaves nothing behind, not even a tmp file.  Raises OSError with
    an errno in UNNAMED_UNSUPPORTED where the file system cannot do this.

    Made here, in the object's own fan-out directory, the file spares
    tmp/'s directory the two updates per object (create, rename away) that
    every writer would otherwise make to that one directory.  Right after a
    mass deletion on ext4 mounted with `discard`, two threads storing 4 KiB
    objects that way took half the time they took through tmp/."""
    fd = os.open(".", UNNAMED, 0o444, dir_fd=dir_fd)
    try:
        write_all(fd, data)
        name_unnamed(fd, dir_fd, name)
    finally:
        os.close(fd)


def name_unnamed(fd: int, dir_fd: int, name: str) -> None:
    """Give the complete unnamed file `fd` its name in `dir_fd`; a name
    already taken is an object stored already (the same bytes)."""
    try:
        # dst_dir_fd makes os.link call linkat, which can follow the /proc
        # link to the open file (link() would link the link itself)
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
    except FileExistsError:
        pass


def _write_new(dest: str, mode: int, dir_fd, oid: str, data: bytes) -> None:
    """A new file `dest` holding `data`, which must hash to `oid`."""
    if not hashes_to(data, oid):
        raise CorruptObject(oid, "its bytes do not hash to its id")
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    try:
        write_all(out, data)
        os.fchmod(out, mode)
    except BaseException:
        os.unlink(dest, dir_fd=dir_fd)
        raise
    finally:
        os.close(out)


def _remove_odd(path: str) -> None:
    """Remove what is not an object file where an object should be (a
    directory, a FIFO), so a good copy can take its name."""
    if os.path.isdir(path) and not os.path.islink(path):
        import shutil
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def _read_full(stream, n: int) -> bytes:
    """Up to `n` bytes, fewer only at the end of the stream: pipes, sockets
    and raw files may return short reads long before their end."""
    buf = stream.read(n)
    if len(buf) >= n or not buf:
        return buf
    parts = [buf]
    have = len(buf)
    while have < n and (more := stream.read(n - have)):
        parts.append(more)
        have += len(more)
    return b"".join(parts)


def _copy_hashing(src: int, dst: int, hasher, size: int, progress=None) -> int:
    """Copy `src` to the end into `dst` and hash what lands in `dst`: a
    thread copies chunk after chunk inside the kernel (copy_file_range)
    while this thread hashes each finished chunk of the copy through mmap,
    so copying and hashing overlap and the id is the hash of the very bytes
    stored, whatever happens to the source meanwhile.  A file of one chunk
    (`size`, as fstat said) has nothing to overlap: it is copied first, on
    this thread.  `dst` must be open for reading and writing.  Returns the
    number of bytes copied; `progress(n)` hears of each chunk hashed."""
    import queue  # here: commands that only read objects need no queue

    landed: queue.Queue = queue.Queue()

    end = size

    def chunk(offset: int) -> int:
        return TAIL_CHUNK if end > COPY_CHUNK and end - offset <= COPY_CHUNK else COPY_CHUNK

    def copy():
        offset = 0
        try:
            while n := os.copy_file_range(src, dst, chunk(offset)):
                landed.put((offset, n))
                offset += n
            landed.put(None)
        except OSError as exc:
            landed.put((offset, exc))

    copier = threading.Thread(target=copy, daemon=True)
    if size > COPY_CHUNK:
        copier.start()
    else:
        copy()
    size = 0
    try:
        while (item := landed.get()) is not None:
            offset, n = item
            if isinstance(n, OSError):
                if offset:
                    raise n
                return _copy_through_memory(src, dst, hasher)  # no copy_file_range here
            with mmap.mmap(dst, n, flags=_MAP_FLAGS, prot=mmap.PROT_READ, offset=offset) as view:
                hasher.update(view)
            size += n
            if progress is not None:
                progress(n)
    finally:
        if copier.is_alive():
            copier.join()
    return size


def _copy_through_memory(src: int, dst: int, hasher) -> int:
    """The fallback where the kernel cannot copy between these files: read,
    hash and write each chunk -- the hashed buffer is the one written."""
    os.lseek(src, 0, os.SEEK_SET)
    os.lseek(dst, 0, os.SEEK_SET)
    os.ftruncate(dst, 0)
    size = 0
    while chunk := os.read(src, CHUNK):
        hasher.update(chunk)
        size += len(chunk)
        write_all(dst, chunk)
    return size


class Stored(NamedTuple):
    """One stored object as a listing sees it: its id, size, when it was
    stored (nanoseconds since the epoch; gc's grace period), and whether
    the copy listed is in a pack (whose check re-hashes it)."""

    id: ObjectId
    size: int
    mtime_ns: int
    packed: bool = False


class ObjectStore:
    """What every store offers.  Blobs may be large; the other types are
    small msgpack maps read whole.

    Every write happens inside a write span (`writing()`), which gc's
    `collecting()` excludes (cl/objects/gclock.py); a write outside any span
    opens one that lasts until `close()`."""

    gc_lock = None  # GcLock or ThreadGcLock, set by each store

    def _gc_lock(self):
        if self.gc_lock is None:
            self.gc_lock = ThreadGcLock()
        return self.gc_lock

    def writing(self):
        """A context: a write span.  Open it before the first object write
        or deduplication check and keep it until the refs naming what was
        written have moved."""
        return self._gc_lock().shared()

    def collecting(self, waiting: Callable[[], None] | None = None):
        """A context for gc: no write span is open while it lasts."""
        return self._gc_lock().exclusive(waiting)

    def close(self) -> None:
        """End the span a write outside any span opened."""
        self._gc_lock().drop_sticky()

    def stored(self) -> Iterator[Stored]:
        """Every stored object with its size and time."""
        raise NotImplementedError

    def strays(self) -> Iterator[str]:
        """What the store holds that is not an object (for `cl fsck`)."""
        return iter(())

    def has(self, oid: str) -> bool:
        raise NotImplementedError

    def read_bytes(self, oid: str) -> bytes:
        raise NotImplementedError

    def open(self, oid: str, verify: bool = True):
        """A binary file object reading the object's bytes.  With `verify`,
        an object of up to VERIFY_WHOLE bytes is read and re-hashed before
        anything is returned (CorruptObject if it fails); a larger one is
        not (`copy_to` and `verify` check those)."""
        raise NotImplementedError

    def verify(self, oid: str) -> bool:
        """Whether the stored bytes hash to `oid` (ObjectMissing if absent)."""
        hasher = new_hasher(spread=True)
        with self.open(oid, verify=False) as f:
            while chunk := f.read(CHUNK):
                hasher.update(chunk)
        return hasher.hexdigest() == oid

    def size(self, oid: str) -> int:
        raise NotImplementedError

    def write_bytes(self, data: bytes) -> ObjectId:
        raise NotImplementedError

    def write_stream(self, stream, expected: str | None = None) -> tuple[ObjectId, int]:
        """Store everything a binary stream yields; returns (id, size).  With
        `expected`, a mismatch stores nothing and raises CorruptObject."""
        raise NotImplementedError

    def write_fd(self, fd: int, size: int | None = None, progress=None) -> tuple[ObjectId, int]:
        """Store the whole of an open regular file (`size`: what fstat said,
        if the caller knows).  The caller closes `fd`.  `progress(n)`, if
        given, may hear of the bytes stored as they are (a store that
        cannot tell says nothing: the caller counts the rest)."""
        os.lseek(fd, 0, os.SEEK_SET)
        return self.write_stream(io.FileIO(fd, closefd=False))

    def write_file(self, path: str) -> tuple[ObjectId, int]:
        fd = os.open(path, os.O_RDONLY)
        try:
            return self.write_fd(fd)
        finally:
            os.close(fd)

    def ids(self) -> Iterator[ObjectId]:
        return (s.id for s in self.stored())

    def is_empty(self) -> bool:
        """Whether the store holds no object at all (it stops at the first)."""
        return next(iter(self.stored()), None) is None

    def delete(self, oid: str) -> None:
        """Remove the object's loose copy (a packed copy goes by `compact`)."""
        raise NotImplementedError

    def packed(self, oid: str) -> bool:
        """Whether a copy of the object lives in a pack."""
        return False

    def compact(self, drop=frozenset(), young=frozenset(), gather: bool = False) -> int:
        """gc's rewrite of packs, under `collecting()`: every pack holding
        an object of `drop` is replaced by one without them (`young`: kept
        objects only the grace period keeps, whose time must not be
        freshened); with `gather`, small loose objects and small packs are
        gathered into it too.  Returns how many packs it replaced."""
        return 0

    def pack_report(self) -> tuple[list[str], list[str]]:
        """(problems, notes) about the packs, for `cl fsck`."""
        return [], []

    def maintain(self, limits: Callable[[], tuple[int, int]]) -> bool:
        """After writes, outside any write span of this process: pack small
        loose objects or merge packs if enough have gathered since
        (`limits()`: the loose objects and packs that are enough).  Whether
        it packed; a store without packs never does."""
        return False

    # --- bulk operations (what moving many objects needs) ---------------------

    def has_many(self, ids) -> set[ObjectId]:
        """Which of `ids` the store holds.  A writer decides by it not to
        write, so it is a deduplication check: outside a write span it
        opens one, as a write does."""
        self._gc_lock().ensure_held()
        return {ObjectId(oid) for oid in ids if self.has(oid)}

    def read_small(self, oid: str, limit: int, size: int | None = None) -> bytes | None:
        """The object's bytes if it is smaller than `limit`, else None
        (`size`: what the caller believes it is, a hint; one of `limit`
        or more gives None, and the caller reads the object as large)."""
        if (size is not None and size >= limit) or self.size(oid) >= limit:
            return None
        return self.read_bytes(oid)

    def small_reader(self, count: int) -> Callable[[str, int, int | None], bytes | None]:
        """`read_small` for a run of about `count` objects (what a get
        answers or a push sends), which a store may prepare for."""
        return self.read_small

    def batch(self) -> "BatchWriter":
        """A writer of many objects whose bytes the caller has verified;
        close() it to have them all stored."""
        return BatchWriter(self)

    def link_into(self, oid: str, dest: str, dir_fd: int | None = None) -> bool:
        """Make `dest` (a name in the directory `dir_fd`, if given) a hard
        link to the stored object; False where the store cannot, and the
        caller copies (`copy_to`)."""
        return False

    def copy_to(self, oid: str, dest: str, mode: int, dir_fd: int | None = None) -> None:
        """Write a new file `dest` (in `dir_fd`, if given; mode `mode`)
        holding the object's bytes, hashing what is written: bytes that do
        not hash to `oid` leave no file and raise CorruptObject."""
        hasher = new_hasher()
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                      dir_fd=dir_fd)
        try:
            with self.open(oid, verify=False) as fin:  # the copy is hashed here
                while chunk := fin.read(CHUNK):
                    hasher.update(chunk)
                    write_all(out, chunk)
            if hasher.hexdigest() != oid:
                raise CorruptObject(oid, "its bytes do not hash to its id")
            os.fchmod(out, mode)
        except BaseException:
            os.unlink(dest, dir_fd=dir_fd)
            raise
        finally:
            os.close(out)



class BatchWriter:
    """Stores many objects whose ids the caller has checked, maybe
    asynchronously: `write` may store later and in any order; `flush()`
    returns once everything written so far is stored (raising the first
    failure), so an object that names others is written after a flush, or
    with `write_now`.  This one stores each at once; the disk store's
    (`cl.objects.loose.Landing`) batches them over threads."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def write(self, oid: str, data: bytes) -> None:
        self.write_now(oid, data)

    def write_many(self, objects: list[tuple[str, bytes]], absent: bool = False) -> None:
        """`write` of each (id, bytes): one call for a run of small objects
        (a pack frame's), which a batch may store together.  `absent`: the
        caller found none of them in the store just before (a fetch asks
        only for what it lacks), and a batch need not look again; one
        written meanwhile by another writer is then stored twice, as two
        writers of one object may anyway."""
        for oid, data in objects:
            self.write(oid, data)

    def write_now(self, oid: str, data: bytes) -> None:
        """Store one object on the calling thread."""
        if len(data) < SMALL:
            got = self.store.write_bytes(data)
        else:
            got, _ = self.store.write_stream(io.BytesIO(data), expected=oid)
        if got != oid:
            raise CorruptObject(oid, f"received bytes hash to 0x{got}; nothing was stored")

    def stream(self, oid: str, stream) -> None:
        """A large object from a stream of chunks, stored only if it
        hashes to `oid` (else CorruptObject)."""
        self.store.write_stream(stream, expected=oid)

    # What an ingest writes through a batch: objects whose ids it has not
    # computed yet.  An object that names others is written after them.

    def write_fd(self, fd: int, size: int | None = None, progress=None) -> tuple[ObjectId, int]:
        return self.store.write_fd(fd, size, progress)

    def write_bytes(self, data: bytes) -> ObjectId:
        return self.store.write_bytes(data)

    def flush(self) -> None:
        pass

    def order(self) -> None:
        """Make everything written so far stored before anything written
        after it (all a typed object needs of its children); a batch that
        publishes its objects together may do less than `flush`."""
        self.flush()

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "BatchWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MemoryStore(ObjectStore):
    def __init__(self):
        self._objects: dict[str, bytes] = {}
        self._times: dict[str, int] = {}
        self.gc_lock = ThreadGcLock()

    def has(self, oid):
        return oid in self._objects

    def read_bytes(self, oid):
        try:
            return self._objects[oid]
        except KeyError:
            raise ObjectMissing(oid) from None

    def open(self, oid, verify=True):
        data = self.read_bytes(oid)
        if verify and len(data) <= VERIFY_WHOLE and not hashes_to(data, oid):
            raise CorruptObject(oid, "its bytes do not hash to its id")
        return io.BytesIO(data)

    def size(self, oid):
        return len(self.read_bytes(oid))

    def write_bytes(self, data):
        self.gc_lock.ensure_held()
        oid = hash_bytes(data)
        self._keep(oid, bytes(data))
        return oid

    def _keep(self, oid: str, data: bytes) -> None:
        """Store, or repair a damaged copy (as the disk store does)."""
        if self._objects.get(oid) != data:
            self._objects[oid] = data
            self._times[oid] = time.time_ns()

    def write_stream(self, stream, expected=None):
        self.gc_lock.ensure_held()
        data = b"".join(iter(lambda: stream.read(CHUNK), b""))
        oid = hash_bytes(data)
        if expected is not None and oid != expected:
            raise CorruptObject(expected, f"received bytes hash to 0x{oid}")
        self._keep(oid, data)
        return oid, len(data)

    def ids(self):
        return iter(list(self._objects))

    def is_empty(self):
        return not self._objects

    def stored(self):
        return iter([Stored(ObjectId(oid), len(data), self._times[oid])
                     for oid, data in list(self._objects.items())])

    def delete(self, oid):
        self._objects.pop(oid, None)
        self._times.pop(oid, None)

    def corrupt(self, oid, data: bytes) -> None:
        """Test hook: replace an object's bytes behind the store's back."""
        self._objects[oid] = data


class DiskStore(ObjectStore):
    def __init__(self, root: str, tmp: str, lock: str | None = None):
        """`lock`: the gc lock's file (default: gc.lock beside `root`)."""
        self.root = root
        self.tmp = tmp
        self.unnamed = CAN_UNNAME  # False once the file system has refused write_unnamed
        self.gc_lock = GcLock(lock or os.path.join(os.path.dirname(os.path.abspath(root)), "gc.lock"))
        self._packs = None
        self._looked_at = 0  # the gc lock's span count when `maintain` last looked

    def path(self, oid: str) -> str:
        return os.path.join(self.root, oid[:2], oid[2:])

    @property
    def packs(self):
        """The published packs (cl/objects/pack.py), listed on first use."""
        if self._packs is None:
            from cl.objects.pack import PackSet
            self._packs = PackSet(os.path.join(self.root, "pack"))
        return self._packs

    def _in_pack(self, oid: str, live: bool = False):
        """(pack, entry) of a packed copy, or None; `live` for a
        deduplication check (the pack must not have been repacked away)."""
        return self.packs.locate(oid, live)

    def _packed_bytes(self, oid: str):
        """The bytes of a packed copy, or None."""
        found = self._in_pack(oid)
        if found is None:
            return None
        pack, i = found
        _, offset, size = pack.entry(i)
        return self._read_packed(oid, pack, offset, size)

    @staticmethod
    def _read_packed(oid: str, pack, offset: int, size: int) -> bytes:
        from cl.objects.pack import PackError
        try:
            return pack.read_at(offset, size)
        except PackError as exc:
            raise CorruptObject(oid, str(exc)) from None

    def _either(self, oid: str, packed, loose):
        """`packed(bytes)` of a packed copy, else `loose()`; where neither
        has it, the packs are listed again (another process may have
        published one since) before ObjectMissing stands."""
        data = self._packed_bytes(oid)
        if data is not None:
            return packed(data)
        try:
            return loose()
        except ObjectMissing:
            if not self.packs.refresh(force=True):
                raise
            data = self._packed_bytes(oid)
            if data is None:
                raise
            return packed(data)

    def packed(self, oid):
        return self._in_pack(oid) is not None

    def pack_writer(self):
        """A new pack, written in tmp/ and published into objects/pack/."""
        from cl.objects.pack import PackWriter
        return PackWriter(self._tmp_file, self.packs.directory)

    def link_into(self, oid, dest, dir_fd=None):
        """A packed object has no file to link: False, and it is copied."""
        try:
            os.link(self.path(oid), dest, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            if self.packed(oid):
                return False
            if not self.has(oid):
                raise ObjectMissing(oid) from None
            raise
        return True

    def copy_to(self, oid, dest, mode, dir_fd=None):
        """Copied inside the kernel while the copy is hashed, holes kept
        (`holes.store_sparse`) or not (`_copy_hashing`); a packed object
        from memory, hashed first."""
        self._either(oid, lambda data: _write_new(dest, mode, dir_fd, oid, data),
                     lambda: self._copy_loose(oid, dest, mode, dir_fd))

    def _copy_loose(self, oid, dest, mode, dir_fd):
        src, _ = self._open_regular(oid)
        try:
            st = os.fstat(src)
            out = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                          dir_fd=dir_fd)
            try:
                if holes.is_sparse(st):
                    digest, _ = holes.store_sparse(src, out, new_hasher())
                else:
                    hasher = new_hasher()
                    _copy_hashing(src, out, hasher, st.st_size)
                    digest = hasher.hexdigest()
                if digest != oid:
                    raise CorruptObject(oid, "its bytes do not hash to its id")
                os.fchmod(out, mode)
            except BaseException:
                os.unlink(dest, dir_fd=dir_fd)
                raise
            finally:
                os.close(out)
        finally:
            os.close(src)

    def has(self, oid):
        if self._in_pack(oid, live=True) is not None or os.path.exists(self.path(oid)):
            return True
        return self.packs.refresh() and self._in_pack(oid, live=True) is not None

    def has_many(self, ids):
        from cl.objects.loose import present
        self.gc_lock.ensure_held()
        ids = list(ids)
        if not ids:
            return set()
        from cl.objects.pack import SCAN_PER_ID
        packed = self.packs.lookup(len(ids) * SCAN_PER_ID, live=True)
        found = {oid if type(oid) is ObjectId else ObjectId(oid) for oid in packed.holding(ids)}
        return found | present(self, [oid for oid in ids if oid not in found])

    def read_small(self, oid, limit, size=None):
        from cl.objects.loose import read_small
        if size is not None and size >= limit:
            return None
        return self._either(oid, lambda data: data if len(data) < limit else None,
                            lambda: read_small(self, oid, limit, size))

    def small_reader(self, count):
        """For many objects, one PackLookup finds each instead of a search
        of the packs per object; what it does not find (a loose object, a
        pack published since) is read as `read_small` reads it."""
        if count < READ_ONE_BY_ONE:
            return self.read_small
        from cl.objects.pack import SCAN_PER_ID
        lookup = self.packs.lookup(count * SCAN_PER_ID, places=True)
        known = lookup.known

        def read(oid, limit, size=None):
            if size is not None and size >= limit:
                return None
            raw = bytes.fromhex(oid)
            found = known.get(raw)
            if found is not None:  # the map holds only places inside their pack: sliced as they are
                pack, offset, n = found
                return None if n >= limit else pack.data[offset:offset + n]
            found = lookup.search(raw)
            if found is None:
                return self.read_small(oid, limit, size)
            pack, offset, n = found
            return None if n >= limit else self._read_packed(oid, pack, offset, n)
        return read

    def batch(self):
        from cl.objects.packing import PackLanding
        return PackLanding(self)


    def _open_raw(self, oid: str) -> int:
        """The object's file, opened without following a link or waiting
        on a FIFO."""
        try:
            return os.open(self.path(oid), _READ_FLAGS)
        except FileNotFoundError:
            raise ObjectMissing(oid) from None
        except OSError as exc:  # ELOOP: a symbolic link where an object should be
            raise CorruptObject(oid, f"cannot be opened: {exc.strerror}") from None

    def _open_regular(self, oid: str) -> tuple[int, int]:
        """(descriptor, size) of the object's file; anything but a regular
        file is a corrupt object, never read."""
        fd = self._open_raw(oid)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise CorruptObject(oid, "is not a regular file")
        return fd, st.st_size

    def read_bytes(self, oid):
        return self._either(oid, lambda data: data, lambda: self._read_loose(oid))

    def _read_loose(self, oid):
        fd, size = self._open_regular(oid)
        with open(fd, "rb", closefd=True) as f:
            return f.read()

    def open(self, oid, verify=True):
        def packed(data):
            if verify and not hashes_to(data, oid):
                if os.path.lexists(self.path(oid)):  # a repair's loose copy
                    return self._open_loose(oid, verify)
                raise CorruptObject(oid, "its bytes do not hash to its id")
            return io.BytesIO(data)
        return self._either(oid, packed, lambda: self._open_loose(oid, verify))

    def _open_loose(self, oid, verify):
        fd, size = self._open_regular(oid)
        f = open(fd, "rb", closefd=True)
        if not verify or size > VERIFY_WHOLE:
            return f
        with f:
            data = f.read()
        if not hashes_to(data, oid):
            raise CorruptObject(oid, "its bytes do not hash to its id")
        return io.BytesIO(data)

    def verify(self, oid):
        return self._either(oid, lambda data: hashes_to(data, oid), lambda: self._verify_loose(oid))

    def _verify_loose(self, oid):
        fd, size = self._open_regular(oid)
        try:
            hasher = new_hasher(spread=True)
            if size:
                with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as view:
                    hasher.update(view)
            return hasher.hexdigest() == oid
        finally:
            os.close(fd)

    def size(self, oid):
        found = self._in_pack(oid)
        if found is not None:
            return found[0].entry(found[1])[2]
        try:
            return os.stat(self.path(oid)).st_size
        except FileNotFoundError:
            pass
        if self.packs.refresh(force=True) and (found := self._in_pack(oid)) is not None:
            return found[0].entry(found[1])[2]
        raise ObjectMissing(oid)

    def _tmp_with(self, data: bytes) -> str:
        """A new tmp file holding `data`; its name."""
        name, fd = self._tmp_file()
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        return name

    def _tmp_file(self, flags: int = os.O_WRONLY):
        """A new tmp file, named by process and a counter: a name left by a
        dead process with the same pid is skipped, never reused."""
        while True:
            name = os.path.join(self.tmp, f"obj-{_pid}-{next(_tmp_numbers)}")
            try:
                return name, os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o444)
            except FileExistsError:
                continue

    def _place(self, tmp_name: str, oid: str) -> None:
        dest = self.path(oid)
        try:
            os.rename(tmp_name, dest)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.rename(tmp_name, dest)

    def write_bytes(self, data):
        """A present object is compared with `data` (it is small, so that
        costs one read); a damaged one is replaced."""
        self.gc_lock.ensure_held()
        oid = hash_bytes(data)
        held = self._holds(oid, data)
        if held is None:
            self.write_verified(oid, data)
        elif not held:
            self._replace(oid, data)
        return oid

    def _holds(self, oid: str, data: bytes) -> bool | None:
        """None: no such object; else whether it holds exactly `data`."""
        found = self._in_pack(oid, live=True)
        if found is not None:
            from cl.objects.pack import PackError
            try:
                if found[0].read(found[1]) == data:
                    return True
            except PackError:
                pass  # a damaged pack: a good loose copy stands in for it
            if not os.path.lexists(self.path(oid)):
                return False
        try:
            fd, size = self._open_regular(oid)
        except ObjectMissing:
            return None
        except CorruptObject:
            return False
        try:
            return size == len(data) and os.pread(fd, size + 1, 0) == data
        finally:
            os.close(fd)

    def _replace(self, oid: str, data: bytes) -> None:
        """Put good bytes where a damaged object is, in one rename."""
        name = self._tmp_with(data)
        try:
            if not stat.S_ISREG(os.lstat(self.path(oid)).st_mode):
                _remove_odd(self.path(oid))  # rename cannot replace a directory
        except FileNotFoundError:
            pass  # a damaged packed copy: the loose one is read before it
        self._place(name, oid)

    def fan_dir(self, oid: str) -> int:
        """An open descriptor of the object's fan-out directory, made if
        missing; the caller closes it."""
        path = os.path.join(self.root, oid[:2])
        try:
            return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            os.makedirs(path, exist_ok=True)
            return os.open(path, os.O_RDONLY | os.O_DIRECTORY)

    def write_verified(self, oid: str, data: bytes, dir_fd: int | None = None) -> None:
        """Store bytes known to hash to `oid` (`dir_fd`: its fan-out
        directory, if the caller holds it open)."""
        self.gc_lock.ensure_held()
        if self.unnamed:
            where = self.fan_dir(oid) if dir_fd is None else dir_fd
            try:
                write_unnamed(where, oid[2:], data)
                return
            except OSError as exc:
                if exc.errno not in UNNAMED_UNSUPPORTED:
                    raise
                self.unnamed = False
            finally:
                if dir_fd is None:
                    os.close(where)
        name = self._tmp_with(data)
        self._place(name, oid)

    def write_stream(self, stream, expected=None):
        """Hash exactly the bytes written: a reader feeds chunks to this
        thread, which hashes each and hands it to a writer thread, so
        reading, hashing and writing overlap."""
        self.gc_lock.ensure_held()
        first = _read_full(stream, SMALL)
        if len(first) < SMALL:
            oid = hash_bytes(first)
            if expected is not None and oid != expected:
                raise CorruptObject(expected, f"received bytes hash to 0x{oid}")
            return self.write_bytes(first), len(first)
        name, fd = self._tmp_file()
        hasher = new_hasher()
        import queue

        pending: queue.Queue = queue.Queue(maxsize=4)
        failure: list[BaseException] = []

        def write_chunks():
            try:
                skipped = False
                while (buf := pending.get()) is not None:
                    if buf[0] == 0 and buf[-1] == 0 and holes.all_zeros(buf):
                        os.lseek(fd, len(buf), os.SEEK_CUR)  # a hole, where the file system can
                        skipped = True
                        continue
                    skipped = False
                    write_all(fd, buf)
                if skipped:  # a hole at the end: the size comes from truncate
                    os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR))
            except BaseException as exc:  # reported by the caller's thread
                failure.append(exc)
                while pending.get() is not None:
                    pass

        writer = threading.Thread(target=write_chunks, daemon=True)
        writer.start()
        size = 0
        try:
            buf = first
            while buf:
                hasher.update(buf)
                size += len(buf)
                pending.put(buf)
                buf = stream.read(CHUNK)
        finally:
            pending.put(None)
            writer.join()
            os.close(fd)
        if failure:
            os.unlink(name)
            raise failure[0]
        oid = ObjectId.of_digest(hasher.digest())
        if expected is not None and oid != expected:
            os.unlink(name)
            raise CorruptObject(expected, f"received bytes hash to 0x{oid}")
        self._place_over(name, oid)
        return oid, size

    def _place_over(self, tmp_name: str, oid: str) -> None:
        """Name a verified large copy, replacing what is stored under the
        name: a rename costs what the unlink of a duplicate would, and so
        a re-upload repairs a damaged object without reading it."""
        try:
            odd = not stat.S_ISREG(os.lstat(self.path(oid)).st_mode)
        except FileNotFoundError:
            odd = False
        if odd:
            _remove_odd(self.path(oid))  # rename cannot replace a directory
        self._place(tmp_name, oid)

    def write_fd(self, fd, size=None, progress=None):
        """A small file is read whole with one syscall; a large one is
        copied in the kernel while the copy is hashed (`_copy_hashing`); a
        sparse one keeps its holes (`holes.store_sparse`)."""
        self.gc_lock.ensure_held()
        if size is None:
            size = os.fstat(fd).st_size
        if size >= SMALL and holes.is_sparse(os.fstat(fd)):
            name, out = self._tmp_file(os.O_RDWR)
            try:
                digest, size = holes.store_sparse(fd, out, new_hasher())
                oid = ObjectId(digest)
            except BaseException:
                os.unlink(name)
                raise
            finally:
                os.close(out)
            self._place_over(name, oid)
            return oid, size
        if size < SMALL:
            data = os.pread(fd, size + 1, 0)
            if len(data) <= size:
                return self.write_bytes(data), len(data)
        os.lseek(fd, 0, os.SEEK_SET)  # large, or grew while we looked: copy it whole
        name, out = self._tmp_file(os.O_RDWR)
        try:
            hasher = new_hasher()
            size = _copy_hashing(fd, out, hasher, size, progress)
        except BaseException:
            os.unlink(name)
            raise
        finally:
            os.close(out)
        oid = ObjectId.of_digest(hasher.digest())
        self._place_over(name, oid)
        return oid, size

    def stored(self):
        """Packed objects (each once, with its pack's time), then regular
        files with an object's name that no pack holds; anything else is a
        stray."""
        packs = self.packs
        packs.refresh(force=True)
        seen = set() if len(packs.packs) > 1 else None
        for p in list(packs.packs):
            for raw, _, size in p.entries():
                if seen is not None:
                    if raw in seen:
                        continue
                    seen.add(raw)
                yield Stored(ObjectId.of_digest(raw), size, p.mtime_ns, True)
        any_packed = bool(packs.packs)
        for oid, st in self.loose_entries():
            if stat.S_ISREG(st.st_mode):
                if any_packed and packs.locate(oid) is not None:
                    continue
                yield Stored(oid, st.st_size, st.st_mtime_ns)

    def is_empty(self):
        """No pack and nothing in any fan-out directory (a stray file there
        counts as something: the answer errs towards asking)."""
        self.packs.refresh(force=True)
        if self.packs.packs:
            return False
        for fan in os.listdir(self.root):
            if len(fan) == 2:
                try:
                    with os.scandir(os.path.join(self.root, fan)) as entries:
                        if next(entries, None) is not None:
                            return False
                except (FileNotFoundError, NotADirectoryError):
                    continue
        return True

    def compact(self, drop=frozenset(), young=frozenset(), gather=False):
        from cl.objects.packing import compact
        return compact(self, drop, young, gather)

    def maintain(self, limits):
        """Looks only when this process opened a write span since it last
        looked, so a command that only read pays nothing."""
        spans = self.gc_lock.spans()
        if spans == self._looked_at:
            return False
        self._looked_at = spans
        from cl.objects.packing import autopack
        return autopack(self, *limits())

    def pack_report(self):
        from cl.objects.packing import pack_report
        return pack_report(self)

    def strays(self) -> Iterator[str]:
        """Paths under objects/ that are not objects: other names, and
        anything not a regular file (never opened: a FIFO would block).
        objects/pack/ is the packs' (`pack_report` checks it)."""
        for name in sorted(os.listdir(self.root)):
            if name == "pack" and os.path.isdir(os.path.join(self.root, name)):
                continue
            if len(name) != 2 or not os.path.isdir(os.path.join(self.root, name)):
                yield os.path.join(self.root, name)
        for fan, entries in self._fans():
            for e in entries:
                try:
                    ObjectId(fan + e.name)
                    regular = stat.S_ISREG(e.stat(follow_symlinks=False).st_mode)
                except ValueError:
                    regular = False
                except FileNotFoundError:
                    continue
                if not regular:
                    yield e.path

    def loose_entries(self, fans=None):
        """(id, lstat) of every entry of the fan-out directories (or of
        those named in `fans`) named like an object, whatever kind of file
        it is."""
        for fan, entries in self._fans(fans):
            for e in entries:
                try:
                    oid, st = ObjectId(fan + e.name), e.stat(follow_symlinks=False)
                except (ValueError, FileNotFoundError):
                    continue
                yield oid, st

    def _fans(self, names=None):
        for fan in sorted(os.listdir(self.root)) if names is None else names:
            path = os.path.join(self.root, fan)
            if len(fan) != 2 or not os.path.isdir(path):
                continue
            try:
                with os.scandir(path) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except FileNotFoundError:
                continue
            yield fan, entries

    def delete(self, oid):
        """The loose copy only: packed copies go by `compact`."""
        try:
            os.unlink(self.path(oid))
        except FileNotFoundError:
            pass


# --- typed access -----------------------------------------------------------


def write_object(store: ObjectStore, obj) -> ObjectId:
    """A Worksheet is stored chunked, as a `worksheet2` commit ([F21])."""
    if isinstance(obj, Worksheet):
        from cl.objects import itemlists
        return itemlists.write_worksheet(obj, lambda oid: read_object(store, oid),
                                         lambda o: write_object(store, o), store.has)
    return store.write_bytes(encoding.encode(obj.to_map()))


def decode_object(oid: str, data: bytes, expected_type=None):
    """Decode a typed object's bytes, checking its hash; errors name it."""
    if not hashes_to(data, oid):
        raise CorruptObject(oid, "its bytes do not hash to its id")
    try:
        m = encoding.decode(data)
    except ValueError as exc:
        raise CorruptObject(oid, str(exc)) from None
    kind = m.get("type") if isinstance(m, dict) else None
    if not isinstance(kind, str) or kind not in TYPES:  # a list there is unhashable
        raise CorruptObject(oid, "not a typed object")
    cls = TYPES[kind]
    if expected_type is not None and cls is not expected_type:
        raise CorruptObject(oid, f"is a {m['type']}, expected a {expected_type.TYPE}")
    try:
        return cls.from_map(m)
    except FormatError as exc:
        raise CorruptObject(oid, str(exc)) from None


def read_object(store: ObjectStore, oid: str, expected_type=None):
    """Asked for a Worksheet, a commit of either worksheet type is read as
    one, its chunked items gathered ([F21])."""
    if expected_type is Worksheet:
        commit = decode_object(oid, store.read_bytes(oid))
        if not isinstance(commit, WORKSHEET_TYPES):
            raise CorruptObject(oid, f"is a {commit.TYPE}, expected a worksheet")
        from cl.objects import itemlists
        try:
            return itemlists.as_worksheet(commit, lambda o: read_object(store, o))
        except FormatError as exc:
            raise CorruptObject(oid, str(exc)) from None
    return decode_object(oid, store.read_bytes(oid), expected_type)


def verify_blob(store: ObjectStore, oid: str) -> bool:
    return store.verify(oid)
