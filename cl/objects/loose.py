"""The bulk operations of a DiskStore over its loose files, for moving
many objects: reading a small object (`DiskStore.read_small`), finding
which of many ids are present (`DiskStore.has_many`) and writing many
verified objects (`Landing`, what `DiskStore.batch()` returns), each with as
few system calls as the work needs (a system call is most of what one small
object costs).  Only cl/objects knows this layout; everything else calls
the ObjectStore interface.  Ids are known to be object ids here: file names
are built from them as the store builds them (`store.path`)."""

import os
import threading

from cl.errors import CorruptObject
from cl.objects.ids import new_hasher
from cl.objects.store import UNNAMED, UNNAMED_UNSUPPORTED, BatchWriter, DiskStore, name_unnamed, write_all

# A directory listing costs about 1/20 of a stat per entry, and an ext4
# directory holds about one entry per 64 bytes of its size: listing a
# fan-out directory beats a stat per id when more ids than size/1280 are asked.
LIST_BYTES_PER_ID = 1280


def read_small(store: DiskStore, oid: str, limit: int, size: int | None = None) -> bytes | None:
    """The object's bytes if it is smaller than `limit`, else None: open,
    fstat, read, close -- without the fstat when the caller knows the
    `size` (a hint: a wrong one costs more reads, never wrong bytes; the
    file is opened without following a link or waiting on a FIFO, so an
    odd file only reads as bytes that fail their hash)."""
    if size is not None and size >= limit:
        return None
    if size is None:
        fd, size = store._open_regular(oid)
        if size >= limit:
            os.close(fd)
            return None
    else:
        fd = store._open_raw(oid)
    try:
        # one read when the size is right: fewer bytes than asked is the
        # end of a regular file (as DiskStore.write_file reads them)
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        parts = [data]
        total = len(data)
        while more := os.read(fd, limit):
            parts.append(more)
            total += len(more)
            if total >= limit:
                return None
        return b"".join(parts)
    finally:
        os.close(fd)


def present(store: DiskStore, ids) -> set[str]:
    """Which of `ids` the store holds: a stat each, or — for a fan-out
    directory asked about many ids — one listing of it.  Only the ids
    whose fan-out directory exists are looked at (a directory is made by
    its first loose object): a new repository answers for thousands at
    once."""
    try:
        fans = {name for name in os.listdir(store.root) if len(name) == 2}
    except FileNotFoundError:
        return set()
    by_fan: dict[str, list[str]] = {}
    for oid in ids:
        fan = oid[:2]
        if fan in fans:
            by_fan.setdefault(fan, []).append(oid)
    out: set[str] = set()
    for group in by_fan.values():
        directory = os.path.dirname(store.path(group[0]))
        try:
            listing = len(group) > 1 and \
                len(group) * LIST_BYTES_PER_ID > os.stat(directory).st_size
        except FileNotFoundError:
            continue  # no fan-out directory: none of these is here
        if listing:
            names = set(os.listdir(directory))
            out.update(oid for oid in group if oid[2:] in names)
        else:
            out.update(oid for oid in group if store.has(oid))
    return out


class Landing(BatchWriter):
    """Writes verified small objects into a DiskStore as
    `store.write_verified` does -- an unnamed file in the object's fan-out
    directory, linked to its name whole (`store.write_unnamed`) -- holding
    the fan-out directories open meanwhile.

    `write` hands the file system work to two threads, in batches, while
    the caller parses and verifies what comes next: creating a file is
    most of a small object's cost, and two creates run at once.  They store in no particular order:
    `flush()` returns once everything written so far is stored (and raises
    the first failure), so an object that names others is written after
    it, with `write_now`."""

    BATCH_OBJECTS = 64
    BATCH_BYTES = 1 << 20
    THREADS = 2
    QUEUED_BATCHES = 16  # at most this many waiting: memory stays bounded when the disk is slow

    def __init__(self, store: DiskStore):
        self.store = store
        store.gc_lock.ensure_held()  # a batch is a writer (cl/objects/gclock.py)
        self._dirs: dict[str, int] = {}
        self._dirs_lock = threading.Lock()
        self._batch: list[tuple[str, bytes]] = []
        self._batch_bytes = 0
        self._queue = None
        self._threads: list = []
        self._failure: BaseException | None = None
        self._closed = False

    def write(self, oid: str, data: bytes) -> None:
        self._batch.append((oid, data))
        self._batch_bytes += len(data)
        if len(self._batch) >= self.BATCH_OBJECTS or self._batch_bytes >= self.BATCH_BYTES:
            self._submit()

    def _submit(self) -> None:
        if self._failure is not None:
            raise self._failure
        if not self._batch:
            return
        if not self._threads:
            import queue
            self._queue = queue.Queue(self.QUEUED_BATCHES)
            self._threads = [threading.Thread(target=self._work, name="cl-landing", daemon=True)
                             for _ in range(self.THREADS)]
            for t in self._threads:
                t.start()
        self._queue.put(self._batch)
        self._batch, self._batch_bytes = [], 0

    def _work(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                if self._failure is None:  # after a failure, drop the rest: flush() raises it
                    for oid, data in batch:
                        self.write_now(oid, data)
            except BaseException as exc:
                self._failure = exc
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every object written so far is stored."""
        self._submit()
        if self._threads:
            self._queue.join()
        if self._failure is not None:
            raise self._failure

    def write_now(self, oid: str, data: bytes) -> None:
        """Store one object on the calling thread (see flush() for order)."""
        self.store.write_verified(oid, data, self._dir(oid) if self.store.unnamed else None)

    def _dir(self, oid: str) -> int:
        fd = self._dirs.get(oid[:2])
        if fd is None:
            with self._dirs_lock:  # two threads may ask for a new one at once
                fd = self._dirs.get(oid[:2])
                if fd is None:
                    fd = self._dirs[oid[:2]] = self.store.fan_dir(oid)
        return fd

    def stream(self, oid: str, stream) -> None:
        """A large object from a stream of chunks into an unnamed file,
        hashed on this thread as it is written; named only if the hash is
        `oid`, else the file vanishes and CorruptObject names the object."""
        if not self.store.unnamed:
            self.store.write_stream(stream, expected=oid)
            return
        where = self._dir(oid)
        try:
            fd = os.open(".", UNNAMED, 0o444, dir_fd=where)
        except OSError as exc:
            if exc.errno not in UNNAMED_UNSUPPORTED:
                raise
            self.store.unnamed = False
            self.store.write_stream(stream, expected=oid)
            return
        hasher = new_hasher()
        try:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
                write_all(fd, chunk)
            got = hasher.hexdigest()
            if got != oid:
                raise CorruptObject(oid, f"received bytes hash to 0x{got}; nothing was stored")
            name_unnamed(fd, where, oid[2:])
        finally:
            os.close(fd)

    def close(self) -> None:
        """flush(), then end the threads and release the directories; once
        (a failure is raised by the first call only)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            for _ in self._threads:
                self._queue.put(None)
            for t in self._threads:
                t.join()
            self._threads = []
            dirs, self._dirs = self._dirs, {}
            for fd in dirs.values():
                os.close(fd)
