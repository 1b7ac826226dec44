"""Uploaded archives (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip) read
member by member straight into the object store.

Nothing is extracted to disk, so no member can write outside anything, on
every Python 3.11.x (tarfile's `filter=` exists only from 3.11.4):

- a member's path must be relative and free of `..` (`./` is dropped);
  an empty name is refused;
- a symbolic link is stored as a link whatever it points at (absolute,
  dangling, outside the archive), and never followed;
- a hard link becomes a copy of the member it names, which must come
  earlier in the archive;
- devices and FIFOs are left out, as in a directory upload; of the mode
  bits only "executable" is kept (set-id bits never reach a file);
- a name that is not UTF-8 keeps its bytes (docs/format.md [F20]).

Reading is in two passes: the first reads only the members' headers and
checks all of the above and the expansion bound (`Limits`), so that a
refused archive stores nothing; the second stores the data.  The archive
modules are imported here, on first use: every upload asks
archive_suffix(), few unpack."""

import os
import stat

from cl.errors import InputError
from cl.objects.ingest import ingest_nested
from cl.objects.store import ObjectStore
from cl.objects.types import MODE_EXEC, MODE_FILE, MODE_LINK, Contents, valid_name

SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
_TAR_MODES = {".tar.gz": "r:gz", ".tgz": "r:gz", ".tar.bz2": "r:bz2", ".tar.xz": "r:xz",
              ".tar": "r:*"}  # a .tar may still be compressed
MEMBER_COST = 512  # bytes each member counts for, whatever its size (a tar header)
FLOOR = 64 << 20  # the ratio bounds only archives that unpack to more than this
CHUNK = 1 << 20


class Limits:
    """How far an archive may expand: `max_expansion` times its own size
    (but never less than FLOOR), and at most `max_unpacked_bytes`; 0
    turns either bound off.  Settings `upload.max_expansion` and
    `upload.max_unpacked_bytes`."""

    def __init__(self, max_expansion: int = 100, max_unpacked_bytes: int = 0):
        for name, value in (("max_expansion", max_expansion), ("max_unpacked_bytes", max_unpacked_bytes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"setting upload.{name} must be a whole number >= 0, not {value!r}")
        self.max_expansion = max_expansion
        self.max_unpacked_bytes = max_unpacked_bytes

    def checker(self, archive: str):
        """`check(total)` for this archive: refuses it once its members add
        up to more than allowed."""
        ratio_bound = (max(self.max_expansion * os.path.getsize(archive), FLOOR)
                       if self.max_expansion else None)

        def check(total: int) -> None:
            if self.max_unpacked_bytes and total > self.max_unpacked_bytes:
                raise InputError(f"'{archive}' unpacks to more than {self.max_unpacked_bytes} bytes "
                                 f"(setting upload.max_unpacked_bytes)",
                                 hint="raise it, or upload with --pack")
            if ratio_bound is not None and total > ratio_bound:
                raise InputError(f"'{archive}' unpacks to more than {self.max_expansion} times its "
                                 f"size (setting upload.max_expansion)",
                                 hint="raise it, or upload with --pack")
        return check


def archive_suffix(path: str) -> str | None:
    lower = path.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and os.path.isfile(path):
            return suffix
    return None


def member_parts(archive: str, name: str) -> list[str]:
    """The path of a member as names, or InputError if it is unsafe."""
    if name.startswith("/"):
        raise InputError(f"unsafe member in archive '{archive}': '{name}'")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    for part in parts:
        if part == ".." or not valid_name(part):
            raise InputError(f"unsafe member in archive '{archive}': '{name}'")
    return parts


class _Layout:
    """The tree an archive describes, checked as its headers are read:
    nested dicts of name -> a dict (a directory) or a leaf value."""

    def __init__(self, archive: str):
        self.archive = archive
        self.root: dict = {}

    def directory(self, parts: list[str]) -> dict:
        node = self.root
        for i, part in enumerate(parts):
            below = node.setdefault(part, {})
            if not isinstance(below, dict):
                raise InputError(f"archive '{self.archive}' has '{'/'.join(parts[:i + 1])}' both as a "
                                 f"file and as a directory")
            node = below
        return node

    def put(self, parts: list[str], leaf) -> None:
        parent = self.directory(parts[:-1])
        if isinstance(parent.get(parts[-1]), dict):
            raise InputError(f"archive '{self.archive}' has '{'/'.join(parts)}' both as a "
                             f"directory and as a file")
        parent[parts[-1]] = leaf


def ingest_archive(store: ObjectStore, path: str, limits: Limits | None = None) -> Contents:
    """Store the tree an archive holds; returns its contents (a directory).
    Only the archive modules' own calls are inside `_reading`: an error of
    the store or of cl itself is not said to be the archive's."""
    limits = limits or Limits()
    if archive_suffix(path) == ".zip":
        import zipfile
        with _reading(path):
            z = zipfile.ZipFile(path)
        with z:
            return _zip(store, path, z, limits)
    import tarfile
    with _reading(path):
        t = tarfile.open(path, _TAR_MODES[archive_suffix(path)], encoding="utf-8",
                         errors="surrogateescape")
    with t:
        return _tar(store, path, t, limits)


def _headers(t, path: str):
    """The members of a tar, read one header at a time."""
    while True:
        with _reading(path):
            m = t.next()
        if m is None:
            return
        yield m


# --- tar ------------------------------------------------------------------------


def _tar(store: ObjectStore, path: str, t, limits: Limits) -> Contents:
    layout = _Layout(path)
    check = limits.checker(path)
    members = []  # (member, parts) of the regular files and links, in order
    files: set[str] = set()  # paths of the regular files so far (what hard links may name)
    total = 0
    for m in _headers(t, path):  # headers only: tarfile skips the data
        parts = member_parts(path, m.name)
        total += MEMBER_COST + (m.size if m.isreg() else 0)
        check(total)
        if not parts:
            continue  # the archive's own top directory, "./"
        if m.isdir():
            layout.directory(parts)
        elif m.isreg() or m.issym():
            layout.put(parts, len(members))
            members.append((m, parts))
            if m.isreg():
                files.add("/".join(parts))
        elif m.islnk():
            target = "/".join(member_parts(path, m.linkname))
            if target not in files:
                raise InputError(f"archive '{path}': hard link '{m.name}' names '{m.linkname}', "
                                 f"which is not a file before it in the archive")
            layout.put(parts, ("same", target))
        # devices and FIFOs have no representation: left out
    stored: list[Contents] = []
    for m, parts in members:  # in archive order: forward reads, even compressed
        if m.issym():
            target = os.fsencode(m.linkname)
            stored.append(Contents(MODE_LINK, len(target), store.write_bytes(target)))
            continue
        with _reading(path):
            f = t.extractfile(m)
        oid, size = store.write_stream(_Reader(f, path))
        stored.append(Contents(MODE_EXEC if m.mode & 0o111 else MODE_FILE, size, oid))
    by_path = {"/".join(parts): stored[i] for i, (_, parts) in enumerate(members)}
    return ingest_nested(store, _resolve(layout.root, stored, by_path))


# --- zip ------------------------------------------------------------------------


def _zip_name(info) -> str:
    """A member's name as its bytes say: UTF-8 where the archive marks it
    so (flag 0x800); otherwise the raw bytes (zipfile decoded them as
    cp437, which maps every byte), taken as UTF-8 where they are."""
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("utf-8", "surrogateescape")


def _zip(store: ObjectStore, path: str, z, limits: Limits) -> Contents:
    layout = _Layout(path)
    check = limits.checker(path)
    members = []
    total = 0
    for info in z.infolist():
        name = _zip_name(info)
        if name == "":
            raise InputError(f"archive '{path}' has a member with an empty name")
        parts = member_parts(path, name)
        total += MEMBER_COST + info.file_size
        check(total)
        if not parts:
            continue
        if info.is_dir():
            layout.directory(parts)
            continue
        kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
        if kind and kind not in (stat.S_IFREG, stat.S_IFLNK):
            continue  # a device or FIFO recorded by a Unix zip: left out
        layout.put(parts, len(members))
        members.append((info, parts, kind == stat.S_IFLNK))
    stored: list[Contents] = []
    for info, parts, is_link in members:
        with _reading(path):
            f = z.open(info)
        with f:
            if is_link:
                target = _Reader(f, path).read(info.file_size + 1)
                stored.append(Contents(MODE_LINK, len(target), store.write_bytes(target)))
                continue
            oid, size = store.write_stream(_Reader(f, path))
        executable = info.create_system == 3 and (info.external_attr >> 16) & 0o111
        stored.append(Contents(MODE_EXEC if executable else MODE_FILE, size, oid))
    return ingest_nested(store, _resolve(layout.root, stored, {}))


# --- both -----------------------------------------------------------------------


def _resolve(root: dict, stored: list[Contents], by_path: dict[str, Contents]) -> dict:
    """The layout with each leaf replaced by its stored contents."""
    stack = [root]
    while stack:
        node = stack.pop()
        for name, value in node.items():
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, int):
                node[name] = stored[value]
            else:  # ("same", path): a hard link
                node[name] = by_path[value[1]]
    return root


class _Reader:
    """An archive member's data, with the archive modules' errors said as
    one InputError naming the archive."""

    def __init__(self, f, archive: str):
        self.f = f
        self.archive = archive

    def read(self, n: int = -1) -> bytes:
        with _reading(self.archive):
            return self.f.read(n)


class _reading:
    """Turns what the archive modules raise on damaged input into one line."""

    def __init__(self, archive: str):
        self.archive = archive

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, InputError) or not isinstance(exc, _damage()):
            return False
        # One line: tarfile's messages can list every method it tried.
        text = str(exc).strip()
        reason = text.splitlines()[0].rstrip(":") if text else type(exc).__name__
        raise InputError(f"cannot unpack '{self.archive}': {reason}") from None


def _damage() -> tuple:
    """What tarfile, zipfile and the decompressors raise for damaged or
    unsupported input (bz2 and zlib raise OSError and zlib.error; zipfile
    NotImplementedError for an unknown method, RuntimeError for an
    encrypted member, UnicodeDecodeError for a name flagged UTF-8 that is
    not, ValueError and struct.error for impossible fields)."""
    import gzip
    import lzma
    import struct
    import tarfile
    import zipfile
    import zlib
    return (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error,
            gzip.BadGzipFile, lzma.LZMAError, NotImplementedError, RuntimeError, ValueError,
            struct.error, OSError)
