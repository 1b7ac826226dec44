"""Ingest: turn files and directories on disk into blobs and trees.

Children are written before their parents (blobs, then the tree naming
them), so a crash mid-ingest leaves only unreferenced objects.  Small files
are hashed and written on a thread pool: file I/O and blake3 release the GIL.
"""

import fnmatch
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from cl.errors import InputError
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, write_object
from cl.objects.types import (MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, Contents, Tree,
                              TreeEntry, valid_name)

Progress = Callable[[int], None]
BATCH = 64


@dataclass
class IngestOptions:
    exclude: tuple[str, ...] = ()
    follow_links: bool = False
    progress: Progress | None = None
    skip_names: frozenset = field(default_factory=frozenset)


def _excluded(rel: str, name: str, patterns) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


class _Ingest:
    def __init__(self, store: ObjectStore, opts: IngestOptions, pool: ThreadPoolExecutor):
        self.store = store
        self.opts = opts
        self.pool = pool

    def file(self, path: str, st: os.stat_result) -> Contents:
        try:
            oid, size = self.store.write_file(path)
        except PermissionError as exc:
            if exc.filename != path:
                raise  # the store, not the upload: the CLI names the file
            raise InputError(f"permission denied: '{path}'") from None
        if self.opts.progress:
            self.opts.progress(size)
        mode = MODE_EXEC if st.st_mode & 0o111 else MODE_FILE
        return Contents(mode, size, oid)

    def files(self, batch) -> list[TreeEntry]:
        return [self.file(de.path, de.stat(follow_symlinks=False)).as_entry(de.name) for de in batch]

    def link(self, path: str) -> Contents:
        target = os.fsencode(os.readlink(path))
        return Contents(MODE_LINK, len(target), self.store.write_bytes(target))

    def entry(self, path: str, rel: str, top: bool = False, ancestors: frozenset = frozenset()
              ) -> Contents | None:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            if not self.opts.follow_links:
                return self.link(path)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise InputError(f"broken symbolic link: '{path}'") from None
        if stat.S_ISDIR(st.st_mode):
            # Following links can reach a directory from inside itself.
            here = (st.st_dev, st.st_ino)
            if here in ancestors:
                raise InputError(f"symbolic link loop: '{path}'")
            return self.directory(path, rel, ancestors | {here})
        if stat.S_ISREG(st.st_mode):
            return self.file(path, st)
        if top:
            raise InputError(f"not a regular file or directory: '{path}'")
        return None  # sockets, fifos, devices inside a tree are skipped

    def directory(self, path: str, rel: str, ancestors: frozenset = frozenset()) -> Contents:
        files, others = [], []
        try:
            it = os.scandir(path)
        except PermissionError:
            raise InputError(f"permission denied: '{path}'") from None
        with it:
            for de in it:
                sub = f"{rel}/{de.name}" if rel else de.name
                if de.name in self.opts.skip_names or _excluded(sub, de.name, self.opts.exclude):
                    continue
                if not valid_name(de.name):
                    continue
                if de.is_file(follow_symlinks=False):
                    files.append(de)
                else:
                    others.append((de, sub))
        # Files go to the pool in batches: one task per file costs more in
        # scheduling than hashing and writing a small file does.
        batches = [files[i:i + BATCH] for i in range(0, len(files), BATCH)]
        futures = [self.pool.submit(self.files, batch) for batch in batches]
        entries = [entry for f in futures for entry in f.result()]
        for de, sub in others:
            c = self.entry(de.path, sub, ancestors=ancestors)
            if c is not None:
                entries.append(c.as_entry(de.name))
        entries.sort(key=lambda e: e.name)
        tree = Tree(tuple(entries))
        return Contents(MODE_DIR, tree.size, write_object(self.store, tree))


def ingest_path(store: ObjectStore, path: str, opts: IngestOptions | None = None) -> Contents:
    """Store a file, link or directory; return what a bundle's `contents` is."""
    opts = opts or IngestOptions()
    if not os.path.lexists(path):
        raise InputError(f"no such file or directory: '{path}'")
    # Two threads: more only contend for the GIL and locks on small files.
    with ThreadPoolExecutor(max_workers=2) as pool:
        return _Ingest(store, opts, pool).entry(path, "", top=True)


def ingest_entries(store: ObjectStore, named: dict[str, Contents]) -> Contents:
    """A directory made of already-stored contents under the given names."""
    for name in named:
        if not valid_name(name):
            raise InputError(f"invalid name in a directory: '{name}'")
    tree = Tree(tuple(c.as_entry(n) for n, c in sorted(named.items())))
    return Contents(MODE_DIR, tree.size, write_object(store, tree))


def text_contents(store: ObjectStore, text: str) -> Contents:
    data = text.encode()
    return Contents(MODE_FILE, len(data), store.write_bytes(data))


def blob_contents(store: ObjectStore, oid: ObjectId, size: int, executable=False) -> Contents:
    return Contents(MODE_EXEC if executable else MODE_FILE, size, oid)
