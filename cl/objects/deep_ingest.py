"""Ingesting a directory whose paths grow longer than the kernel takes
(PATH_MAX, 4096 bytes): ingest.py hands any directory whose path passes
`ingest.DEEP` bytes to `ingest_below`, which walks it as checkouts do --
each directory entered relative to its parent's descriptor and left by
`..`, one open at a time -- and stores each file as it meets it (on this
thread: such trees are rare, and a file cannot be reopened by path later).
Depth is then bounded by the file system alone."""

import os
import stat

from cl.errors import InputError
from cl.objects.types import MODE_LINK, Contents

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _enter(fd: int, name: str) -> int:
    try:
        return os.open(name, _DIR, dir_fd=fd)
    finally:
        os.close(fd)


def _names(fd: int) -> list[str]:
    with os.scandir(fd) as it:
        return [de.name for de in it]


def ingest_below(ingest, path: str, rel: str) -> Contents:
    """Store the directory `path` (at `rel` in the upload) and all below
    it; `ingest` is the running `ingest._Ingest`."""
    from cl.objects.ingest import excluded_name, store_tree
    opts, store = ingest.opts, ingest.sink  # the batch writer
    if opts.follow_links:
        raise InputError(f"too deep to follow symbolic links (-L) below '{path[:60]}...'")
    fd = os.open(path, _DIR)
    # One frame per directory entered: (its rel, names left to look at, (name, contents) done)
    frames = [(rel, _names(fd)[::-1], [])]
    entered: list[str] = []
    try:
        while True:
            here, left, done = frames[-1]
            if not left:
                frames.pop()
                contents = store_tree(store, done)
                if not frames:
                    return contents
                name = entered.pop()
                fd = _enter(fd, "..")
                frames[-1][2].append((name, contents))
                continue
            name = left.pop()
            sub = f"{here}/{name}" if here else name
            if excluded_name(opts, sub, name):
                continue
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.fsencode(os.readlink(name, dir_fd=fd))
                done.append((name, Contents(MODE_LINK, len(target), store.write_bytes(target))))
            elif stat.S_ISDIR(st.st_mode):
                fd = _enter(fd, name)
                entered.append(name)
                frames.append((sub, _names(fd)[::-1], []))
            elif stat.S_ISREG(st.st_mode):
                done.append((name, ingest.file(name, dir_fd=fd, shown=f".../{sub[-80:]}")))
            # sockets, fifos, devices are left out, as above this depth
    finally:
        os.close(fd)
