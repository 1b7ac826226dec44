"""Reading bundle data: `cl cat` (a file's bytes or a directory listing),
`cl download` (writable copies).  A run that has not finished yet is read
from its live run directory, through cl/bundles/live.py (no link followed).

A run's path that falls in one of its dependencies (`RUN/KEY/file`: where
the run sees the dependency) is read from the dependency, finished or not:
the run directory holds only an empty placeholder there.  A live listing
shows the dependency in place of its placeholder; a finished run's
contents never held its dependencies (cl/runs/layout.py), as CodaLab's."""

import os
from collections import deque

from cl.bundles.live import LiveNode, copy_live, open_live
from cl.bundles.specs import Target
from cl.errors import CLError
from cl.objects.trees import NotInBundle, lookup, read_tree, split_path
from cl.objects.types import MODE_DIR, MODE_LINK, Contents
from cl.objects.value import Value, _set
from cl.repo import Repository

CHUNK = 1 << 20


class Entry(Value):
    __slots__ = ("name", "type", "size")

    def __init__(self, name: str, type: str, size: int):
        _set(self, "name", name)
        _set(self, "type", type)
        _set(self, "size", size)


def through_dependency(repo: Repository, target: Target) -> Target:
    """The target itself, or where it lies in a dependency when its path
    starts at a dependency's key (again and again: a dependency may be a
    run reading its own).  Key `.` puts a dependency's entries at the top."""
    for _ in range(64):  # dependencies form a DAG; this bounds a damaged one
        if not target.path:
            return target
        bundle = repo.bundle(target.bundle)
        if bundle.kind != "run" or not bundle.dependencies:
            return target
        inside = _in_dependency(repo, bundle, split_path(target.path))
        if inside is None:
            return target
        target = inside
    raise CLError(f"'{target.display}': too many dependencies deep")


def _in_dependency(repo: Repository, bundle, parts: list[str]) -> Target | None:
    if not parts:
        return None
    for dep in bundle.dependencies:
        base = split_path(dep.path) if dep.path else []
        if dep.key == ".":
            entries = _dep_entries(repo, dep)
            if parts[0] in entries:
                return Target(dep.bundle, "/".join(base + parts))
            continue
        key = split_path(dep.key)
        if key and parts[:len(key)] == key:
            return Target(dep.bundle, "/".join(base + parts[len(key):]))
    return None


def _dep_entries(repo: Repository, dep) -> dict[str, Contents]:
    """The entries a `.` dependency puts at the top of a run directory."""
    contents = repo.contents(dep.bundle)
    if contents is None:
        return {}
    try:
        contents = lookup(repo.store, contents, dep.path) if dep.path else contents
    except NotInBundle:
        return {}
    if contents.mode != MODE_DIR:
        return {}
    return {e.name: Contents(e.mode, e.size, e.id) for e in read_tree(repo.store, contents.id).entries}


def _placeholders(repo: Repository, bid, parts: list[str]) -> dict[str, Contents | None]:
    """The names in the run directory at `parts` that are placeholders of
    dependencies, each with the dependency's contents there (None when it
    has none)."""
    bundle = repo.bundle(bid)
    out: dict[str, Contents | None] = {}
    for dep in bundle.dependencies:
        if dep.key == ".":
            if not parts:
                out.update(_dep_entries(repo, dep))
            continue
        key = split_path(dep.key)
        if key[:-1] == parts:
            contents = repo.contents(dep.bundle)
            try:
                out[key[-1]] = lookup(repo.store, contents, dep.path) if contents and dep.path else contents
            except NotInBundle:
                out[key[-1]] = None
    return out


def _resolve(repo: Repository, target: Target) -> tuple[Contents | None, LiveNode | None]:
    """(contents at the target, or None) and, for unfinished runs, the
    opened live path (the caller closes it)."""
    target = through_dependency(repo, target)
    head, state = repo.head_state(target.bundle)
    if state.deleted or state.data_deleted:
        raise CLError(f"the data of bundle 0x{target.bundle[:8]} has been deleted")
    contents = repo.contents(target.bundle, state)
    if contents is not None:
        return (lookup(repo.store, contents, target.path) if target.path else contents), None
    live = open_live(repo.path("runs", target.bundle), split_path(target.path), target.bundle.display)
    if live is not None:
        return None, live
    raise CLError(f"bundle 0x{target.bundle[:8]} has no contents yet (state {state.state})")


def list_dir(repo: Repository, target: Target) -> list[Entry] | None:
    """Entries if the target is a directory, else None."""
    target = through_dependency(repo, target)
    contents, live = _resolve(repo, target)
    if live is not None:
        with live:
            if not live.is_dir:
                return None
            entries = live.listing()
        deps = _placeholders(repo, target.bundle, split_path(target.path))
        return [Entry(name, *(_kind_size(deps[name]) if name in deps else (kind, size)))
                for name, kind, size in entries]
    if contents.mode != MODE_DIR:
        return None
    return [Entry(e.name, *_kind_size(Contents(e.mode, e.size, e.id)))
            for e in read_tree(repo.store, contents.id).entries]


def _kind_size(contents: Contents | None) -> tuple[str, int]:
    if contents is None:
        return "directory", 0
    return {0o040000: "directory", 0o120000: "link", 0o100755: "executable"}.get(contents.mode, "file"), contents.size


def open_file(repo: Repository, target: Target):
    """A binary file object for a file target."""
    contents, live = _resolve(repo, target)
    if live is not None:
        with live:
            return live.open()
    if contents.mode == MODE_LINK:  # shown as CodaLab's `cat` shows a link, never followed
        from io import BytesIO
        return BytesIO(b" -> " + repo.store.read_bytes(contents.id) + b"\n")
    return repo.store.open(contents.id)


def _sendfile(f, out) -> bool:
    """Copy file to file inside the kernel; False where that can't be done."""
    try:
        src, dst = f.fileno(), out.fileno()
        out.flush()
    except (AttributeError, OSError, ValueError):
        return False
    offset = 0
    try:
        while sent := os.sendfile(dst, src, offset, 1 << 30):
            offset += sent
    except OSError:
        if offset:
            raise
        return False
    return True


def stream(f, out, head: int | None = None, tail: int | None = None) -> None:
    """Copy a file to `out`, or only its first/last lines."""
    if head is None and tail is None:
        if _sendfile(f, out):
            return
        while chunk := f.read(CHUNK):
            out.write(chunk)
        return
    if head is not None:
        for i, line in enumerate(f):
            if i >= head:
                break
            out.write(line)
        return
    for line in deque(f, maxlen=tail):
        out.write(line)


def download(repo: Repository, target: Target, dest: str, force: bool = False) -> str:
    """Writable copies of the target at `dest`.  A link is refused, as
    CodaLab refuses it; a run still going gives what its directory holds
    so far (its dependencies' placeholders left out, as from its result)."""
    from cl.objects.checkout import download as checkout_download  # (and shutil): not for `cl cat`
    target = through_dependency(repo, target)
    contents, live = _resolve(repo, target)
    if live is not None:
        with live:
            copy_live(live, dest, force, _placeholder_paths(repo, target))
        return dest
    if contents.mode == MODE_LINK:
        raise CLError(f"downloading symbolic links is not allowed: '{target.display}' is a link to "
                      f"'{os.fsdecode(repo.store.read_bytes(contents.id))}'")
    checkout_download(repo.store, contents, dest, force)
    return dest


def _placeholder_paths(repo: Repository, target: Target) -> set[str]:
    """Paths, relative to the target, of the dependency placeholders below it."""
    bundle = repo.bundle(target.bundle)
    here = split_path(target.path)
    out = set()
    for dep in bundle.dependencies:
        keys = [[name] for name in _dep_entries(repo, dep)] if dep.key == "." else [split_path(dep.key)]
        out.update("/".join(key[len(here):]) for key in keys if key[:len(here)] == here and len(key) > len(here))
    return out
