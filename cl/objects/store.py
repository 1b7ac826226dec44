"""Object stores: a narrow interface with two implementations, one on disk
(`DiskStore`, loose read-only files under `objects/ab/cdef…`) and one in
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
import threading
from typing import Iterator

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import encoding, holes
from cl.objects.ids import ObjectId, hash_bytes, new_hasher
from cl.objects.types import TYPES, FormatError

CHUNK = 8 << 20
SMALL = 1 << 20
COPY_CHUNK = 64 << 20  # a multiple of mmap.ALLOCATIONGRANULARITY
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # fault pages in up front

# tmp files are named by process and a counter (DiskStore._tmp_file)
_tmp_numbers = itertools.count()  # next() is atomic under the GIL
_pid = os.getpid()  # one syscall per process, not per tmp file


# O_TMPFILE: an unnamed file in a directory (Linux 3.11+, most local file
# systems); where the kernel or file system refuses it, tmp/ and a rename.
UNNAMED = os.O_WRONLY | getattr(os, "O_TMPFILE", 0)
UNNAMED_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT, errno.EXDEV,
                       errno.EPERM, errno.EACCES)
CAN_UNNAME = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


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
        written = os.write(fd, data)
        if written < len(data):  # a short write: rare, but allowed
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view):]
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

    def copy():
        offset = 0
        try:
            while n := os.copy_file_range(src, dst, COPY_CHUNK):
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
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
    return size


class ObjectStore:
    """What every store offers.  Blobs may be large; the other types are
    small msgpack maps read whole."""

    def has(self, oid: str) -> bool:
        raise NotImplementedError

    def read_bytes(self, oid: str) -> bytes:
        raise NotImplementedError

    def open(self, oid: str):
        """A binary file object reading the object's bytes."""
        raise NotImplementedError

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
        raise NotImplementedError

    def delete(self, oid: str) -> None:
        raise NotImplementedError

    def local_path(self, oid: str) -> str | None:
        """A filesystem path of the object's bytes, if the store has one
        (checkouts hard-link it)."""
        return None

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
            with self.open(oid) as fin:
                while chunk := fin.read(CHUNK):
                    hasher.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view):]
            if hasher.hexdigest() != oid:
                raise CorruptObject(oid, "its bytes do not hash to its id")
            os.fchmod(out, mode)
        except BaseException:
            os.unlink(dest, dir_fd=dir_fd)
            raise
        finally:
            os.close(out)


class MemoryStore(ObjectStore):
    def __init__(self):
        self._objects: dict[str, bytes] = {}

    def has(self, oid):
        return oid in self._objects

    def read_bytes(self, oid):
        try:
            return self._objects[oid]
        except KeyError:
            raise ObjectMissing(oid) from None

    def open(self, oid):
        return io.BytesIO(self.read_bytes(oid))

    def size(self, oid):
        return len(self.read_bytes(oid))

    def write_bytes(self, data):
        oid = hash_bytes(data)
        self._objects.setdefault(oid, bytes(data))
        return oid

    def write_stream(self, stream, expected=None):
        data = b"".join(iter(lambda: stream.read(CHUNK), b""))
        oid = hash_bytes(data)
        if expected is not None and oid != expected:
            raise CorruptObject(expected, f"received bytes hash to 0x{oid}")
        self._objects.setdefault(oid, data)
        return oid, len(data)

    def ids(self):
        return iter(list(self._objects))

    def delete(self, oid):
        self._objects.pop(oid, None)

    def corrupt(self, oid, data: bytes) -> None:
        """Test hook: replace an object's bytes behind the store's back."""
        self._objects[oid] = data


class DiskStore(ObjectStore):
    def __init__(self, root: str, tmp: str):
        self.root = root
        self.tmp = tmp
        self.unnamed = CAN_UNNAME  # False once the file system has refused write_unnamed

    def path(self, oid: str) -> str:
        return os.path.join(self.root, oid[:2], oid[2:])

    local_path = path

    def link_into(self, oid, dest, dir_fd=None):
        try:
            os.link(self.path(oid), dest, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            if not self.has(oid):
                raise ObjectMissing(oid) from None
            raise
        return True

    def copy_to(self, oid, dest, mode, dir_fd=None):
        """Copied inside the kernel while the copy is hashed, holes kept
        (`holes.store_sparse`) or not (`_copy_hashing`)."""
        try:
            src = os.open(self.path(oid), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise ObjectMissing(oid) from None
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
        return os.path.exists(self.path(oid))

    def read_bytes(self, oid):
        try:
            with open(self.path(oid), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise ObjectMissing(oid) from None

    def open(self, oid):
        try:
            return open(self.path(oid), "rb")
        except FileNotFoundError:
            raise ObjectMissing(oid) from None

    def size(self, oid):
        try:
            return os.stat(self.path(oid)).st_size
        except FileNotFoundError:
            raise ObjectMissing(oid) from None

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
        oid = hash_bytes(data)
        if not self.has(oid):
            self.write_verified(oid, data)
        return oid

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
        name, fd = self._tmp_file()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        self._place(name, oid)

    def write_stream(self, stream, expected=None):
        """Hash exactly the bytes written: a reader feeds chunks to this
        thread, which hashes each and hands it to a writer thread, so
        reading, hashing and writing overlap."""
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

        def write_all():
            try:
                skipped = False
                while (buf := pending.get()) is not None:
                    if buf[0] == 0 and buf[-1] == 0 and holes.all_zeros(buf):
                        os.lseek(fd, len(buf), os.SEEK_CUR)  # a hole, where the file system can
                        skipped = True
                        continue
                    skipped = False
                    view = memoryview(buf)
                    while view:
                        view = view[os.write(fd, view):]
                if skipped:  # a hole at the end: the size comes from truncate
                    os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR))
            except BaseException as exc:  # reported by the caller's thread
                failure.append(exc)
                while pending.get() is not None:
                    pass

        writer = threading.Thread(target=write_all, daemon=True)
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
        oid = ObjectId(hasher.hexdigest())
        if expected is not None and oid != expected:
            os.unlink(name)
            raise CorruptObject(expected, f"received bytes hash to 0x{oid}")
        if self.has(oid):
            os.unlink(name)
        else:
            self._place(name, oid)
        return oid, size

    def write_fd(self, fd, size=None, progress=None):
        """A small file is read whole with one syscall; a large one is
        copied in the kernel while the copy is hashed (`_copy_hashing`); a
        sparse one keeps its holes (`holes.store_sparse`)."""
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
            if self.has(oid):
                os.unlink(name)
            else:
                self._place(name, oid)
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
        oid = ObjectId(hasher.hexdigest())
        if self.has(oid):
            os.unlink(name)
        else:
            self._place(name, oid)
        return oid, size

    def ids(self):
        for fan in sorted(os.listdir(self.root)):
            if len(fan) != 2:
                continue
            for rest in sorted(os.listdir(os.path.join(self.root, fan))):
                try:
                    yield ObjectId(fan + rest)
                except ValueError:
                    continue

    def delete(self, oid):
        try:
            os.unlink(self.path(oid))
        except FileNotFoundError:
            pass


# --- typed access -----------------------------------------------------------


def write_object(store: ObjectStore, obj) -> ObjectId:
    return store.write_bytes(encoding.encode(obj.to_map()))


def decode_object(oid: str, data: bytes, expected_type=None):
    """Decode a typed object's bytes, checking its hash; errors name it."""
    if hash_bytes(data) != oid:
        raise CorruptObject(oid, "its bytes do not hash to its id")
    try:
        m = encoding.decode(data)
    except ValueError as exc:
        raise CorruptObject(oid, str(exc)) from None
    if not isinstance(m, dict) or m.get("type") not in TYPES:
        raise CorruptObject(oid, "not a typed object")
    cls = TYPES[m["type"]]
    if expected_type is not None and cls is not expected_type:
        raise CorruptObject(oid, f"is a {m['type']}, expected a {expected_type.TYPE}")
    try:
        return cls.from_map(m)
    except FormatError as exc:
        raise CorruptObject(oid, str(exc)) from None


def read_object(store: ObjectStore, oid: str, expected_type=None):
    return decode_object(oid, store.read_bytes(oid), expected_type)


def verify_blob(store: ObjectStore, oid: str) -> bool:
    hasher = new_hasher(spread=True)
    path = store.local_path(oid)
    if path is not None:
        if os.path.getsize(path) > 0:
            hasher.update_mmap(path)
    else:
        with store.open(oid) as f:
            while chunk := f.read(CHUNK):
                hasher.update(chunk)
    return hasher.hexdigest() == oid
