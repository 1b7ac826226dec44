"""Checkout: materialise contents as files.

Two ways: `link` hard-links regular files to the store's read-only objects
(no bytes copied; for dependencies of runs), `copy` writes writable copies
(for `cl download`).  Executable files are always copied with mode 0555 in
`link` checkouts, because one inode cannot carry two modes."""

import os
import stat

from cl.errors import InputError
from cl.objects.store import ObjectStore
from cl.objects.trees import read_tree
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_LINK, Contents


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def materialize(store: ObjectStore, contents: Contents, dest: str, how: str = "copy") -> None:
    """Create `dest` (which must not exist) holding `contents`.

    Depth is bounded by the file system alone: the walk is a stack, not
    recursion (Python's limit is 1000 frames), and every directory is made
    and entered relative to its parent's descriptor and left by `..`, so
    no path longer than one name is given to the kernel (which refuses
    paths over PATH_MAX) and one directory is open at a time.  In `link`
    checkouts each directory is made read-only once its entries are in."""
    if contents.mode != MODE_DIR:
        _leaf(store, contents, None, dest, how)
        return
    os.mkdir(dest)
    fd = os.open(dest, _DIR)
    try:
        frames = [iter(read_tree(store, contents.id).entries)]
        names: list[str] = []  # the directory each frame below the first is in
        while frames:
            e = next(frames[-1], None)
            if e is None:
                frames.pop()
                if names:
                    name = names.pop()
                    fd = _enter(fd, "..")
                    if how == "link":
                        os.chmod(name, 0o555, dir_fd=fd)
                continue
            if e.mode == MODE_DIR:
                os.mkdir(e.name, dir_fd=fd)
                fd = _enter(fd, e.name)
                names.append(e.name)
                frames.append(iter(read_tree(store, e.id).entries))
            else:
                _leaf(store, Contents(e.mode, e.size, e.id), fd, e.name, how)
    finally:
        os.close(fd)
    if how == "link":
        os.chmod(dest, 0o555)


def _enter(fd: int, name: str) -> int:
    """The directory `name` in `fd` opened; `fd` closed."""
    try:
        return os.open(name, _DIR, dir_fd=fd)
    finally:
        os.close(fd)


def _leaf(store: ObjectStore, contents: Contents, dir_fd: int | None, name: str, how: str) -> None:
    """A file or link of a checkout, `name` in the directory `dir_fd`."""
    if contents.mode == MODE_LINK:
        os.symlink(store.read_bytes(contents.id), os.fsencode(name), dir_fd=dir_fd)
    elif how == "link" and contents.mode != MODE_EXEC and store.link_into(contents.id, name, dir_fd):
        pass
    else:
        executable = contents.mode == MODE_EXEC
        if how == "link":
            mode = 0o555 if executable else 0o444
        else:
            mode = 0o755 if executable else 0o644
        # hashes the copy, holes kept: a damaged object is never handed out
        store.copy_to(contents.id, name, mode, dir_fd)


def make_writable(path: str) -> None:
    """Give back write permission to a link checkout so it can be removed."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    _walk_dirs(path, lambda fd: os.fchmod(fd, 0o755), None)


def publish(tmp: str, dest: str) -> bool:
    """Rename a tree built at `tmp` to `dest`; when a concurrent builder got
    there first, drop ours and keep theirs.  True when ours landed."""
    try:
        os.rename(tmp, dest)
        return True
    except OSError:
        if not os.path.lexists(dest):
            raise
        remove_tree(tmp)
        return False


def remove_tree(path: str) -> None:
    """Remove a file, link or directory tree of any depth.  shutil.rmtree
    recurses (and fails past Python's recursion limit) and gives the kernel
    whole paths (which fail past PATH_MAX); this walks as materialize does."""
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        os.unlink(path)
        return

    def empty(fd):
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
            os.fchmod(fd, 0o755)  # link checkouts are read-only
        with os.scandir(fd) as it:
            for de in it:
                if not de.is_dir(follow_symlinks=False):
                    os.unlink(de.name, dir_fd=fd)

    _walk_dirs(path, empty, lambda parent, name: os.rmdir(name, dir_fd=parent))
    os.rmdir(path)


def _walk_dirs(path: str, visit, leave) -> None:
    """Call `visit(fd)` on `path` and every directory below it (never
    through a link), parents first, then `leave(parent_fd, name)` once all
    below `name` is done.  One directory is open at a time."""
    fd = os.open(path, _DIR)
    try:
        visit(fd)
        frames = [_subdirs(fd)]
        names: list[str] = []
        while frames:
            if frames[-1]:
                name = frames[-1].pop()
                fd = _enter(fd, name)
                names.append(name)
                visit(fd)
                frames.append(_subdirs(fd))
                continue
            frames.pop()
            if names:
                name = names.pop()
                fd = _enter(fd, "..")
                if leave is not None:
                    leave(fd, name)
    finally:
        os.close(fd)


def _subdirs(fd: int) -> list[str]:
    with os.scandir(fd) as it:
        return [de.name for de in it if de.is_dir(follow_symlinks=False)]


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
        # (Below the top, a checkout names entries relative to their
        # directory: a relative file name is one of ours too.)
        where = os.fsdecode(exc.filename or "/") if isinstance(exc, OSError) else "/"
        if isinstance(exc, OSError) and (where.startswith((tmp, dest)) or not os.path.isabs(where)):
            raise InputError(f"cannot write '{dest}': {exc.strerror or exc}") from None
        raise
