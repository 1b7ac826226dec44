"""Reading trees: walking a path inside contents, listing, and iterating
every object a contents reaches."""

import posixpath
from typing import Iterator

from cl.errors import CLError, PathEscape
from cl.objects.store import ObjectStore, read_object
from cl.objects.types import MODE_DIR, Contents, Tree


class NotInBundle(CLError):
    pass


def split_path(path: str) -> list[str]:
    """Normalise a path inside a bundle into its parts.  A leading `/` means
    the bundle's root; `..` that would leave the bundle raises PathEscape."""
    if path.startswith("/"):
        path = path.lstrip("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise PathEscape(path)
            parts.pop()
            continue
        parts.append(part)
    return parts


def read_tree(store: ObjectStore, oid: str) -> Tree:
    return read_object(store, oid, Tree)


def lookup(store: ObjectStore, contents: Contents, path: str) -> Contents:
    """The contents at `path` inside `contents`."""
    current = contents
    walked = []
    for part in split_path(path):
        if current.mode != MODE_DIR:
            wanted = "/".join(split_path(path))
            if not walked:
                raise NotInBundle(f"no '{wanted}' in the bundle: it is one file, not a directory")
            raise NotInBundle(f"no '{wanted}' in the bundle: '{posixpath.join(*walked)}' "
                              "is not a directory")
        entry = read_tree(store, current.id).get(part)
        walked.append(part)
        if entry is None:
            raise NotInBundle(f"no such file or directory in the bundle: '{'/'.join(walked)}'")
        current = Contents(entry.mode, entry.size, entry.id)
    return current


def walk(store: ObjectStore, contents: Contents, prefix: str = "") -> Iterator[tuple[str, Contents]]:
    """Every (path, contents) below and including `contents`, parents first,
    each directory's entries in order.  A stack, not recursion: a tree may
    be deeper than Python's recursion limit."""
    stack = [(prefix, contents)]
    while stack:
        path, c = stack.pop()
        yield path, c
        if c.mode == MODE_DIR:
            below = [(f"{path}/{e.name}" if path else e.name, Contents(e.mode, e.size, e.id))
                     for e in read_tree(store, c.id).entries]
            stack.extend(reversed(below))


def reachable(store: ObjectStore, contents: Contents, seen: set | None = None) -> Iterator[str]:
    """Ids of every object the contents reaches, each once."""
    seen = set() if seen is None else seen
    stack = [contents]
    while stack:
        c = stack.pop()
        if c.id in seen:
            continue
        seen.add(c.id)
        yield c.id
        if c.mode == MODE_DIR:
            for e in read_tree(store, c.id).entries:
                stack.append(Contents(e.mode, e.size, e.id))
