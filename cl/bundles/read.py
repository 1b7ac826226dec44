"""Reading bundle data: `cl cat` (a file's bytes or a directory listing),
`cl download` (writable copies).  A run that has not finished yet is read
from its live run directory, through cl/bundles/live.py (no link followed)."""

import os
from collections import deque

from cl.bundles.live import LiveNode, open_live
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


def _resolve(repo: Repository, target: Target) -> tuple[Contents | None, LiveNode | None]:
    """(contents at the target, or None) and, for unfinished runs, the
    opened live path (the caller closes it)."""
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
    contents, live = _resolve(repo, target)
    if live is not None:
        with live:
            return [Entry(*e) for e in live.listing()] if live.is_dir else None
    if contents.mode != MODE_DIR:
        return None
    return [Entry(e.name, {0o040000: "directory", 0o120000: "link", 0o100755: "executable"}.get(e.mode, "file"),
                  e.size)
            for e in read_tree(repo.store, contents.id).entries]


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
    from cl.objects.checkout import download as checkout_download  # (and shutil): not for `cl cat`
    contents, live = _resolve(repo, target)
    if live is not None:
        live.close()
    if contents is None:
        raise CLError(f"bundle 0x{target.bundle[:8]} has not finished; wait for it before downloading")
    checkout_download(repo.store, contents, dest, force)
    return dest
