"""Reading a run's live directory (`.codalab/runs/<id>/`) safely.

A live run owns its directory and can change it at any moment: swap a
file for a link to a host file between a check and an open, or a
directory for a link to a host directory.  So nothing here is checked
and then opened by name: every component is opened relative to the
descriptor of its parent with O_NOFOLLOW (an O_PATH descriptor where
the system has them), links are refused wherever they are, and what is
listed or read is that descriptor.  FIFOs and devices are never opened."""

import errno
import os
import stat

from cl.errors import CLError
from cl.objects.trees import NotInBundle

_PATH = getattr(os, "O_PATH", 0)
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | (_PATH or os.O_RDONLY | os.O_NONBLOCK)


class LiveNode:
    """A file or directory inside a live run directory, held open; close
    it (or use `with`)."""

    def __init__(self, fd: int, display: str):
        self.fd = fd
        self.display = display
        self.st = os.fstat(fd)

    def __enter__(self) -> "LiveNode":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def size(self) -> int:
        return self.st.st_size

    def listing(self) -> list[tuple[str, str, int]]:
        """(name, kind, size) of a directory's entries, sorted; kind is
        directory, link, executable or file (anything else is `file`)."""
        dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            out = []
            for name in sorted(os.listdir(dfd)):
                try:
                    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed by the run since the listing
                kind = ("directory" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode)
                        else "executable" if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 else "file")
                out.append((name, kind, st.st_size))
            return out
        finally:
            os.close(dfd)

    def open(self):
        """A binary file object reading this very file."""
        if not stat.S_ISREG(self.st.st_mode):  # a FIFO would block, a device is not data
            raise CLError(f"'{self.display}' is not a regular file")
        if _PATH:  # reopen the file the O_PATH descriptor holds, for reading
            fd = os.open(f"/proc/self/fd/{self.fd}", os.O_RDONLY | os.O_CLOEXEC)
        else:
            fd = os.dup(self.fd)
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")


def copy_live(node: LiveNode, dest: str, force: bool = False, skip: set[str] = frozenset()) -> None:
    """Writable copies at `dest` of what the live file or directory `node`
    holds now (`cl download` of a running run), leaving out the relative
    paths in `skip`.  Every entry is opened relative to its directory's
    descriptor without following links: a link is copied as a link (its
    text, never what it names), a FIFO or device is left out, and an
    entry the run removes or swaps meanwhile is left out too.  The copy is
    built beside `dest` and renamed into place: a failure leaves nothing."""
    from cl.objects.checkout import remove_tree

    if os.path.lexists(dest) and not force:
        raise CLError(f"'{dest}' already exists (use -f to overwrite)")
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise CLError(f"no such directory: '{parent}'")
    tmp = f"{dest}.cl-tmp-{os.getpid()}"
    try:
        if node.is_dir:
            _copy_dir(node.fd, tmp, skip)
        else:
            with node.open() as f:  # refuses what is not a regular file
                _copy_file(os.dup(f.fileno()), tmp)
        if os.path.lexists(dest):
            remove_tree(dest)
        os.rename(tmp, dest)
    except BaseException:
        remove_tree(tmp)  # our own half-built copy
        raise


_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


def _copy_file(fd: int, dest: str) -> bool:
    """Copy the file open at `fd` (closed here) to a new file `dest`;
    False, writing nothing, when it is not a regular file."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        os.set_blocking(fd, True)
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o755 if st.st_mode & 0o111 else 0o644)
        try:
            while chunk := os.read(fd, 1 << 20):
                os.write(out, chunk)
        finally:
            os.close(out)
        return True
    finally:
        os.close(fd)


def _copy_dir(top_fd: int, dest: str, skip) -> None:
    """The tree under the directory `top_fd`, with a stack of (descriptor
    of a directory, where its copy goes, its relative path)."""
    os.mkdir(dest, 0o755)
    stack = [(os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=top_fd), dest, "")]
    try:
        while stack:
            dfd, where, rel = stack.pop()
            try:
                for name in sorted(os.listdir(dfd)):
                    sub = f"{rel}/{name}" if rel else name
                    if sub in skip:
                        continue
                    _copy_entry(dfd, name, os.path.join(where, name), sub, stack)
            finally:
                os.close(dfd)
    finally:
        for dfd, _, _ in stack:
            os.close(dfd)


def _copy_entry(dfd: int, name: str, dest: str, rel: str, stack: list) -> None:
    """Copy one entry.  One the run removed or swapped for something else
    since it was listed (ENOENT, ENOTDIR, ELOOP from O_NOFOLLOW, EINVAL
    from readlink of what is no longer a link) is not part of the copy;
    an error on our side of the copy is raised."""
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            kind, source = "link", os.readlink(name, dir_fd=dfd)
        elif stat.S_ISDIR(st.st_mode):
            kind, source = "dir", os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                          dir_fd=dfd)
        elif stat.S_ISREG(st.st_mode):
            kind, source = "file", os.open(name, _READ, dir_fd=dfd)
        else:
            return  # a FIFO, socket or device: never opened
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EINVAL):
            return
        raise
    if kind == "link":
        os.symlink(source, dest)
    elif kind == "dir":
        try:
            os.mkdir(dest, 0o755)
        except BaseException:
            os.close(source)
            raise
        stack.append((source, dest, rel))
    else:
        _copy_file(source, dest)


def open_live(root: str, parts: list[str], display: str) -> LiveNode | None:
    """`parts` (from split_path) opened inside the run directory `root`,
    or None when there is no such run directory.  `display` names the
    bundle in messages.  A missing path raises NotInBundle, a link on the
    way or at the end a CLError saying where it points."""
    try:
        fd = _open_root(root)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CLError(f"cannot read the run directory of {display}: {exc.strerror or exc}") from None
    try:
        for i, part in enumerate(parts):
            rel = "/".join(parts[:i + 1])
            if part in ("", ".", "..") or "/" in part or "\x00" in part:  # never walk up
                raise NotInBundle(f"not a path inside the bundle: '{rel}'")
            last = i == len(parts) - 1
            try:
                child = os.open(part, _NOFOLLOW | (0 if last else os.O_DIRECTORY), dir_fd=fd)
            except FileNotFoundError:
                raise NotInBundle(f"no such file or directory in the bundle: '{rel}'") from None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise CLError(f"cannot read '{display}/{rel}': {exc.strerror or exc}") from None
                link = _link_text(fd, part)
                if link is None:
                    raise NotInBundle(f"not a directory: '{rel}'") from None
                raise CLError(f"'{display}/{rel}' is a symbolic link to '{link}'"
                              + ("" if last else " (a live run is read without following links)")
                              ) from None
            os.close(fd)
            fd = child
            if stat.S_ISLNK(os.fstat(fd).st_mode):  # O_PATH opens the link itself
                raise CLError(f"'{display}/{rel}' is a symbolic link to '{_link_text(fd, '')}'")
        return LiveNode(fd, f"{display}/{'/'.join(parts)}" if parts else display)
    except BaseException:
        os.close(fd)
        raise


def _open_root(root: str) -> int:
    """The run directory `root`, held open.  It may be the worker's own link
    to a directory elsewhere (`slurm.shared_dir`): `.codalab/runs/` is the
    worker's and no run can write there, so that one link is followed; the
    directory it names is opened without following, in case the run put a
    link in its own place."""
    if os.path.islink(root):
        root = os.path.join(os.path.dirname(root), os.readlink(root))
    return os.open(root, _NOFOLLOW | os.O_DIRECTORY)


def _link_text(dir_fd: int, name: str) -> str | None:
    """The text of the link `name` in `dir_fd` ('': the O_PATH link itself), or None."""
    try:
        return os.fsdecode(os.readlink(name, dir_fd=dir_fd))
    except OSError:
        return None
