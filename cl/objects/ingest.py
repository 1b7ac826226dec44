"""Ingest: turn files and directories on disk into blobs and trees.

The walk first lists the whole tree (writing only symbolic links' small
blobs); then the regular files are written, by this thread alone while
they are small and cached, with helpers once they prove slow (see
`write_files`); then the trees are written bottom-up.  Everything goes
through the store's batch writer (`store.batch()`), which packs small
objects (cl/objects/packing.py) and publishes them when the ingest ends.
Children are written before their parents, so a crash mid-ingest leaves
only unreferenced objects."""

import errno
import fnmatch
import os
import stat
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Union

from cl.errors import InputError
from cl.objects.background import Background
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, write_object
from cl.objects.types import (MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, Contents, Tree,
                              name_bytes, valid_name)

Progress = Callable[[int], None]
BATCH = 16   # files a thread takes at a time: few enough to share the tail evenly
HELPERS = 3  # threads that join the ingest once its files prove slow (see write_files)
SLOW_FILE = 40e-6  # seconds per file beyond which a file's time is mostly outside the GIL
# What that time is judged over: enough small files that a hiccup does
# not look like slow files, or a time long enough to say so of large ones.
WINDOW = 256
WINDOW_TIME = 0.02
# Bytes of path beyond which a directory is walked by descriptors
# (deep_ingest.py): well inside the kernel's PATH_MAX of 4096.
DEEP = 2048

# What the walk leaves for later: stored contents (a link), the index of a
# regular file in the walk's list, or a directory's named children.
_Node = Union[Contents, int, list]


@dataclass
class IngestOptions:
    exclude: tuple[str, ...] = ()
    follow_links: bool = False
    progress: Progress | None = None
    skip_names: frozenset = field(default_factory=frozenset)


def excluded_name(opts: IngestOptions, rel: str, name: str) -> bool:
    """Whether the walk leaves `name` (at `rel` in the upload) out."""
    return name in opts.skip_names or _excluded(rel, name, opts.exclude) or not valid_name(name)


def store_tree(store: ObjectStore, named: list) -> Contents:
    """A tree of (name, contents) pairs in any order."""
    tree = Tree(tuple(sorted((c.as_entry(name) for name, c in named), key=_by_bytes)))
    return Contents(MODE_DIR, tree.size, write_object(store, tree))


def _by_bytes(entry) -> bytes:
    """Trees are sorted by the names' bytes (docs/format.md [F12])."""
    return name_bytes(entry.name)


def _excluded(rel: str, name: str, patterns) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


class _Ingest:
    def __init__(self, store: ObjectStore, opts: IngestOptions, sink=None):
        """`sink`: the batch writer (`store.batch()`) objects go through."""
        self.store = store
        self.sink = sink if sink is not None else store
        self.opts = opts
        self.files: list[str] = []  # regular files found by the walk, in order

    # --- the walk --------------------------------------------------------
    # Iterative, with a stack of directories still to list: a tree may be
    # deeper than Python's recursion limit (depth is bounded by the longest
    # path the kernel takes).

    def walk(self, path: str) -> _Node:
        root = self.entry(path, "", top=True)
        if not isinstance(root, _Pending):
            return root
        stack = [root]
        while stack:
            for pending in self.directory(stack.pop()):
                stack.append(pending)
        return root.children

    def entry(self, path: str, rel: str, top: bool = False, ancestors: frozenset = frozenset()
              ) -> "_Node | _Pending | None":
        st = _lstat(path)
        if stat.S_ISLNK(st.st_mode):
            if not self.opts.follow_links:
                target = os.fsencode(os.readlink(path))
                return Contents(MODE_LINK, len(target), self.sink.write_bytes(target))
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise InputError(f"broken symbolic link: '{path}'") from None
        if stat.S_ISDIR(st.st_mode):
            if len(path) > DEEP // 4 and len(os.fsencode(path)) > DEEP:
                from cl.objects.deep_ingest import ingest_below
                return ingest_below(self, path, rel)
            if not self.opts.follow_links:
                return _Pending(path, rel, ancestors)  # no loop without following links
            # Following links can reach a directory from inside itself.
            here = (st.st_dev, st.st_ino)
            if here in ancestors:
                raise InputError(f"symbolic link loop: '{path}'")
            return _Pending(path, rel, ancestors | {here})
        if stat.S_ISREG(st.st_mode):
            self.files.append(path)
            return len(self.files) - 1
        if top:
            raise InputError(f"not a regular file or directory: '{path}'")
        return None  # sockets, fifos, devices inside a tree are skipped

    def directory(self, d: "_Pending") -> list:
        """List one directory into `d.children`; returns its subdirectories,
        still to be listed."""
        deeper = []
        try:
            it = os.scandir(d.path)
        except PermissionError:
            raise InputError(f"permission denied: '{d.path}'") from None
        except OSError as exc:
            raise _os_error(exc, d.path) from None
        skip, exclude, files = self.opts.skip_names, self.opts.exclude, self.files
        with it:
            for de in it:
                name = de.name
                if name in skip or not valid_name(name):
                    continue
                sub = f"{d.rel}/{name}" if d.rel else name
                if exclude and _excluded(sub, name, exclude):
                    continue
                if de.is_file(follow_symlinks=False):
                    files.append(de.path)
                    node = len(files) - 1
                else:
                    node = self.entry(de.path, sub, ancestors=d.ancestors)
                    if isinstance(node, _Pending):
                        deeper.append(node)
                        node = node.children
                if node is not None:
                    d.children.append((name, node))
        return deeper

    # --- the files -------------------------------------------------------

    def file(self, path: str, dir_fd: int | None = None, shown: str | None = None) -> Contents:
        """Store a file the walk found, as what it is when opened: the mode
        and size come from the open file, never from an earlier stat.
        (`dir_fd`: `path` is a name in that directory, shown as `shown`.)"""
        flags = os.O_RDONLY if self.opts.follow_links else os.O_RDONLY | os.O_NOFOLLOW
        shown = shown or path
        try:
            fd = os.open(path, flags, dir_fd=dir_fd)
        except PermissionError:
            raise InputError(f"permission denied: '{shown}'") from None
        except OSError as exc:  # swapped for a link (ELOOP) or removed meanwhile
            if exc.errno == errno.ENAMETOOLONG:
                raise _os_error(exc, path) from None
            raise InputError(f"'{shown}' changed during the upload: {exc.strerror}") from None
        path = shown
        told = [0]  # bytes of this file already reported, chunk by chunk (a large file)

        def counted(n: int) -> None:
            told[0] += n
            self.opts.progress(n)

        counted = counted if self.opts.progress else None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"'{path}' changed during the upload: no longer a regular file")
            oid, size = self.sink.write_fd(fd, st.st_size, counted)
        finally:
            os.close(fd)
        if self.opts.progress:  # what the store did not count as it went
            self.opts.progress(size - told[0])
        return Contents(MODE_EXEC if st.st_mode & 0o111 else MODE_FILE, size, oid)

    def write_files(self) -> list[Contents]:
        """Every file the walk found, in batches of BATCH taken from one
        list.  This thread starts alone and calls HELPERS more threads only
        once files prove slow (SLOW_FILE each, judged over a window of
        WINDOW files or WINDOW_TIME): a file that takes that long spends
        its time outside the GIL -- waiting on the disk, or hashing and
        copying megabytes -- where other threads can work meanwhile.  A
        small file in the page cache is nearly all Python holding the GIL,
        and there helpers only fight over it (the measurements are in
        docs/bench-notes.md, "Upload S")."""
        results: list = [None] * len(self.files)
        starts = iter(range(0, len(self.files), BATCH))
        lock = threading.Lock()
        failed = threading.Event()
        helpers: list[Background] = []

        def take() -> int | None:
            with lock:
                return next(starts, None)

        def store(start: int) -> None:
            for i in range(start, min(start + BATCH, len(results))):
                results[i] = self.file(self.files[i])

        def work() -> None:
            try:
                while not failed.is_set() and (start := take()) is not None:
                    store(start)
            except BaseException:
                failed.set()
                raise

        def lead() -> None:
            """This thread's share, calling the helpers once two windows of
            files in a row -- WINDOW of them, or WINDOW_TIME's worth -- were
            slow (one alone may be a pause of the garbage collector)."""
            window_start, done, slow = time.perf_counter(), 0, 0
            try:
                while not helpers and not failed.is_set() and (start := take()) is not None:
                    store(start)
                    done += BATCH
                    elapsed = time.perf_counter() - window_start
                    if done >= WINDOW or elapsed >= WINDOW_TIME:
                        slow = slow + 1 if elapsed > done * SLOW_FILE else 0
                        if slow == 2:
                            helpers.extend(Background(work) for _ in range(HELPERS))
                        window_start, done = time.perf_counter(), 0
            except BaseException:
                failed.set()
                raise
            work()

        try:
            lead()
        finally:
            for helper in helpers:
                helper.wait()  # the others either way
        for helper in helpers:
            helper.result()
        return results

    # --- the trees -------------------------------------------------------

    def build(self, root: _Node, files: list[Contents]) -> Contents:
        """Write the trees bottom-up (children before parents), with a
        stack of its own rather than recursion."""
        if not isinstance(root, list):
            return files[root] if isinstance(root, int) else root
        done: dict[int, Contents] = {}  # id() of a directory's list -> its contents

        def stored(node: _Node) -> Contents:
            if isinstance(node, int):
                return files[node]
            return done.pop(id(node)) if isinstance(node, list) else node

        stack: list[tuple[list, bool]] = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if not children_done:
                stack.append((node, True))
                stack.extend((child, False) for _, child in node if isinstance(child, list))
                continue
            entries = sorted((stored(child).as_entry(name) for name, child in node), key=_by_bytes)
            tree = Tree(tuple(entries))
            done[id(node)] = Contents(MODE_DIR, tree.size, write_object(self.sink, tree))
        return done[id(root)]


class _Pending:
    """A directory the walk has found but not yet listed."""

    __slots__ = ("path", "rel", "ancestors", "children")

    def __init__(self, path: str, rel: str, ancestors: frozenset):
        self.path, self.rel, self.ancestors = path, rel, ancestors
        self.children: list = []


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise _os_error(exc, path) from None


def _os_error(exc: OSError, path: str) -> Exception:
    """A path the kernel will not take is the user's input, said in one
    line; anything else stays the OSError it is."""
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(f"path too long for the operating system ({len(os.fsencode(path))} "
                          f"bytes): '{path[:60]}...{path[-60:]}'")
    return exc


def ingest_path(store: ObjectStore, path: str, opts: IngestOptions | None = None) -> Contents:
    """Store a file, link or directory; return what a bundle's `contents` is."""
    opts = opts or IngestOptions()
    if not os.path.lexists(path):
        raise InputError(f"no such file or directory: '{path}'")
    with store.batch() as sink:
        ingest = _Ingest(store, opts, sink)
        root = ingest.walk(path)
        return ingest.build(root, ingest.write_files())


def ingest_entries(store: ObjectStore, named: dict[str, Contents]) -> Contents:
    """A directory made of already-stored contents under the given names."""
    for name in named:
        if not valid_name(name):
            raise InputError(f"invalid name in a directory: '{name}'")
    tree = Tree(tuple(sorted((c.as_entry(n) for n, c in named.items()), key=_by_bytes)))
    return Contents(MODE_DIR, tree.size, write_object(store, tree))


def ingest_nested(store: ObjectStore, top: dict) -> Contents:
    """A directory from nested {name: Contents | dict}, each dict a
    directory: the trees are written innermost first, with a stack (the
    nesting may be deeper than Python's recursion limit)."""
    order, stack = [], [top]
    while stack:
        named = stack.pop()
        order.append(named)
        stack.extend(v for v in named.values() if isinstance(v, dict))
    stored: dict[int, Contents] = {}
    for named in reversed(order):  # every dict after all the dicts inside it
        stored[id(named)] = ingest_entries(
            store, {k: stored.pop(id(v)) if isinstance(v, dict) else v for k, v in named.items()})
    return stored[id(top)]


def text_contents(store: ObjectStore, text: str) -> Contents:
    data = text.encode()
    return Contents(MODE_FILE, len(data), store.write_bytes(data))


def blob_contents(store: ObjectStore, oid: ObjectId, size: int, executable=False) -> Contents:
    return Contents(MODE_EXEC if executable else MODE_FILE, size, oid)
