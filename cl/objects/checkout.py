"""Checkout: materialise contents as files.

Two ways: `link` hard-links regular files to the store's read-only objects
(no bytes copied; for dependencies of runs), `copy` writes writable copies
(for `cl download`).  Executable files are always copied with mode 0555 in
`link` checkouts, because one inode cannot carry two modes."""

import os
import shutil

from cl.errors import InputError
from cl.objects.store import ObjectStore
from cl.objects.trees import read_tree
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_LINK, Contents


def _copy_blob(store: ObjectStore, oid: str, dest: str, mode: int) -> None:
    src = store.local_path(oid)
    if src is not None:
        shutil.copyfile(src, dest)
    else:
        with store.open(oid) as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, 8 << 20)
    os.chmod(dest, mode)


def materialize(store: ObjectStore, contents: Contents, dest: str, how: str = "copy") -> None:
    """Create `dest` (which must not exist) holding `contents`."""
    if contents.mode == MODE_DIR:
        os.mkdir(dest)
        for e in read_tree(store, contents.id).entries:
            materialize(store, Contents(e.mode, e.size, e.id), os.path.join(dest, e.name), how)
        if how == "link":
            os.chmod(dest, 0o555)
    elif contents.mode == MODE_LINK:
        target = store.read_bytes(contents.id)
        os.symlink(os.fsdecode(target), dest)
    elif how == "link" and contents.mode != MODE_EXEC and store.local_path(contents.id):
        os.link(store.local_path(contents.id), dest)
    else:
        executable = contents.mode == MODE_EXEC
        if how == "link":
            _copy_blob(store, contents.id, dest, 0o555 if executable else 0o444)
        else:
            _copy_blob(store, contents.id, dest, 0o755 if executable else 0o644)


def make_writable(path: str) -> None:
    """Give back write permission to a link checkout so it can be removed."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    os.chmod(path, 0o755)
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            p = os.path.join(root, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)


def remove_tree(path: str) -> None:
    if not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        make_writable(path)
        shutil.rmtree(path)
    else:
        os.unlink(path)


def download(store: ObjectStore, contents: Contents, dest: str, force: bool = False) -> None:
    """Writable copies at `dest`; never overwrites unless `force`."""
    if os.path.lexists(dest):
        if not force:
            raise InputError(f"'{dest}' already exists (use -f to overwrite)")
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise InputError(f"no such directory: '{parent}'")
    tmp = dest + f".cl-tmp-{os.getpid()}"
    try:
        materialize(store, contents, tmp, "copy")
        if os.path.lexists(dest):
            remove_tree(dest)
        os.rename(tmp, dest)
    except BaseException as exc:
        # A missing or corrupt object, or a destination we may not write:
        # leave nothing behind.
        try:
            remove_tree(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and str(exc.filename or "").startswith((tmp, dest)):
            raise InputError(f"cannot write '{dest}': {exc.strerror or exc}") from None
        raise
