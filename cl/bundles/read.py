"""Reading bundle data: `cl cat` (a file's bytes or a directory listing),
`cl download` (writable copies).  A run that has not finished yet is read
from its live run directory."""

import errno
import os
import stat
from collections import deque

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


class _Live:
    """A file or directory inside a live run directory, opened without
    following any symbolic link (`fd` is an O_PATH descriptor where the
    system has them), with its stat."""

    def __init__(self, fd: int, st: os.stat_result):
        self.fd = fd
        self.st = st

    def close(self) -> None:
        os.close(self.fd)


def _resolve(repo: Repository, target: Target) -> tuple[Contents | None, "_Live | None"]:
    """(contents at the target, or None) and, for unfinished runs, the
    opened live path (the caller closes it)."""
    head, state = repo.head_state(target.bundle)
    if state.deleted or state.data_deleted:
        raise CLError(f"the data of bundle 0x{target.bundle[:8]} has been deleted")
    contents = repo.contents(target.bundle, state)
    if contents is not None:
        return (lookup(repo.store, contents, target.path) if target.path else contents), None
    live = _open_live(repo.path("runs", target.bundle), split_path(target.path), target)
    if live is not None:
        return None, live
    raise CLError(f"bundle 0x{target.bundle[:8]} has no contents yet (state {state.state})")


# A live run owns its directory and can change it at any moment, e.g.
# swap a file for a link to a host file between a check and an open.  So
# nothing is checked and then opened by name: every component is opened
# relative to the descriptor of its parent, refusing links (O_NOFOLLOW),
# and what is read is that descriptor.
_PATH = getattr(os, "O_PATH", 0)
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | (_PATH or os.O_RDONLY | os.O_NONBLOCK)


def _open_live(root: str, parts: list[str], target: Target) -> "_Live | None":
    """The opened path, or None when the run has no live directory."""
    try:
        fd = os.open(root, _NOFOLLOW | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CLError(f"cannot read the run directory of {target.bundle.display}: "
                      f"{exc.strerror or exc}") from None
    try:
        for i, part in enumerate(parts):
            if part in ("", ".", "..") or "/" in part:  # split_path gives none; never walk up
                raise NotInBundle(f"not a path inside the bundle: '{target.path}'")
            where = f"{target.bundle.display}/{'/'.join(parts[:i + 1])}"
            last = i == len(parts) - 1
            try:
                child = os.open(part, _NOFOLLOW | (0 if last else os.O_DIRECTORY), dir_fd=fd)
            except FileNotFoundError:
                raise NotInBundle(f"no such file or directory in the bundle: '{'/'.join(parts[:i + 1])}'"
                                  ) from None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise CLError(f"cannot read '{where}': {exc.strerror or exc}") from None
                link = _link_text(fd, part)
                if link is None:
                    raise NotInBundle(f"not a directory: '{'/'.join(parts[:i + 1])}'") from None
                if not last:
                    raise CLError(f"'{where}' is a symbolic link to '{link}' (live runs are read "
                                  "without following links)") from None
                raise CLError(f"'{where}' is a symbolic link to '{link}'") from None
            os.close(fd)
            fd = child
            if stat.S_ISLNK(os.fstat(fd).st_mode):  # O_PATH opens the link itself
                raise CLError(f"'{where}' is a symbolic link to '{_link_text(fd, '')}'")
        return _Live(fd, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise


def _link_text(dir_fd: int, name: str) -> str | None:
    """The text of the link `name` in `dir_fd` ('': the O_PATH link itself), or None."""
    try:
        return os.fsdecode(os.readlink(name, dir_fd=dir_fd))
    except OSError:
        return None


def _live_entry(dir_fd: int, name: str) -> Entry:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    kind = ("directory" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode)
            else "executable" if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 else "file")
    return Entry(name, kind, st.st_size)


def _list_live(live: _Live) -> list[Entry]:
    dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=live.fd)
    try:
        entries = []
        for name in sorted(os.listdir(dfd)):
            try:
                entries.append(_live_entry(dfd, name))
            except FileNotFoundError:
                continue  # removed by the run since the listing
        return entries
    finally:
        os.close(dfd)


def list_dir(repo: Repository, target: Target) -> list[Entry] | None:
    """Entries if the target is a directory, else None."""
    contents, live = _resolve(repo, target)
    if live is not None:
        try:
            return _list_live(live) if stat.S_ISDIR(live.st.st_mode) else None
        finally:
            live.close()
    if contents.mode != MODE_DIR:
        return None
    return [Entry(e.name, {0o040000: "directory", 0o120000: "link", 0o100755: "executable"}.get(e.mode, "file"),
                  e.size)
            for e in read_tree(repo.store, contents.id).entries]


def open_file(repo: Repository, target: Target):
    """A binary file object for a file target."""
    contents, live = _resolve(repo, target)
    if live is not None:
        try:
            if not stat.S_ISREG(live.st.st_mode):  # a FIFO would block, a device is not data
                raise CLError(f"'{target.display}' is not a regular file")
            if _PATH:  # reopen the very file the O_PATH descriptor holds, for reading
                fd = os.open(f"/proc/self/fd/{live.fd}", os.O_RDONLY | os.O_CLOEXEC)
            else:
                fd = os.dup(live.fd)
                os.set_blocking(fd, True)
        finally:
            live.close()
        return os.fdopen(fd, "rb")
    if contents.mode == MODE_LINK:
        raise CLError(f"'{target.display}' is a symbolic link to '{os.fsdecode(repo.store.read_bytes(contents.id))}'")
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
