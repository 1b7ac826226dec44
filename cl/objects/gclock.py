"""The lock between `cl gc` and the writers of a repository's objects
(docs/design.md, "Garbage collection and concurrent writers").

A writer holds the lock *shared* for a write span: from before its first
object write or deduplication check until the refs that name what it wrote
have moved.  gc holds it *exclusively* while it re-checks what is reachable
and deletes.  So gc never sees a writer half way: an object a writer has
stored or found present is either named by a ref when gc looks, or was
never relied on.

One `flock(2)` on one file (`.codalab/gc.lock`): the kernel drops it when
the process dies, whatever kills it, so a crashed writer never blocks gc.
A process shares one lock among its threads: spans nest and overlap, and
the lock is taken on the first and dropped after the last.  A write made
outside any span opens one that lasts until the store is closed (or the
process ends), so a writer that forgot to open a span is still covered --
it only keeps gc waiting longer."""

import os
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


class _Shared:
    """One process's shared hold on one lock file."""

    def __init__(self, path: str):
        self.path = path
        self.mutex = threading.Lock()
        self.fd: int | None = None
        self.depth = 0
        self.sticky = False
        self.spans = 0  # write spans this process has opened, ever


_held: dict[str, _Shared] = {}
_registry = threading.Lock()


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)


class _Span:
    """What both locks share: a write span as a `with` block over their
    own acquire and release."""

    @contextmanager
    def shared(self) -> Iterator[None]:
        """A write span."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


class GcLock(_Span):
    """The gc lock of one repository, by the path of its lock file; every
    GcLock of one path in a process shares one hold."""

    def __init__(self, path: str):
        key = os.path.abspath(path)
        with _registry:
            self._s = _held.setdefault(key, _Shared(key))

    @property
    def path(self) -> str:
        return self._s.path

    def held(self) -> bool:
        """Whether this process is inside a write span."""
        return self._s.depth > 0

    def spans(self) -> int:
        """How many write spans this process has opened on the repository:
        a count that moved means objects may have been written since."""
        return self._s.spans

    def acquire(self) -> None:
        s = self._s
        with s.mutex:
            s.spans += 1
            if s.depth == 0:
                import fcntl  # here: `cl info` opens a store but never writes
                fd = _open(s.path)
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH)  # waits while gc deletes
                except BaseException:
                    os.close(fd)
                    raise
                s.fd = fd
            s.depth += 1

    def release(self) -> None:
        s = self._s
        with s.mutex:
            if s.depth <= 0:
                raise RuntimeError("write span released more often than taken")
            s.depth -= 1
            if s.depth == 0:
                os.close(s.fd)
                s.fd = None

    def ensure_held(self) -> None:
        """Called before every object write: outside a span, open one that
        lasts until `drop_sticky` (the store's close) or the process's end."""
        s = self._s
        if s.depth > 0:
            return
        with s.mutex:
            if s.sticky:
                return
            s.sticky = True
        self.acquire()

    def drop_sticky(self) -> None:
        s = self._s
        with s.mutex:
            if not s.sticky:
                return
            s.sticky = False
        self.release()

    @contextmanager
    def exclusive(self, waiting: Callable[[], None] | None = None) -> Iterator[None]:
        """gc's hold: no write span is open anywhere while it lasts.
        `waiting` is called once if writers make it wait."""
        if self.held():
            raise RuntimeError("gc cannot run inside a write span of its own process")
        fd = _open(self._s.path)
        try:
            if not _exclusive_now(fd):
                if waiting is not None:
                    waiting()
                import fcntl
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock

    @contextmanager
    def exclusive_if_free(self) -> Iterator[bool]:
        """The exclusive hold if nobody, this process included, holds the
        lock now: yields whether it was taken (never waits)."""
        if self.held():
            yield False
            return
        fd = _open(self._s.path)
        try:
            yield _exclusive_now(fd)
        finally:
            os.close(fd)


def _exclusive_now(fd: int) -> bool:
    """Take the exclusive lock on `fd` if no one holds it; whether it did."""
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _forked() -> None:
    """A forked child holds none of its parent's spans: its copies of the
    descriptors are closed (the parent's hold stays, as flock is per open
    file and the parent keeps its descriptor)."""
    for s in _held.values():
        s.mutex = threading.Lock()
        if s.fd is not None:
            try:
                os.close(s.fd)
            except OSError:
                pass
        s.fd, s.depth, s.sticky = None, 0, False


os.register_at_fork(after_in_child=_forked)


class ThreadGcLock(_Span):
    """The same contract inside one process, for the memory store: shared
    holders and one exclusive holder, on a condition variable."""

    def __init__(self):
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._sticky = False

    def held(self) -> bool:
        return self._shared > 0

    def acquire(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._shared += 1

    def release(self) -> None:
        with self._cond:
            if self._shared <= 0:
                raise RuntimeError("write span released more often than taken")
            self._shared -= 1
            self._cond.notify_all()

    def ensure_held(self) -> None:
        with self._cond:
            if self._shared > 0 or self._sticky:
                return
            self._sticky = True
        self.acquire()

    def drop_sticky(self) -> None:
        with self._cond:
            if not self._sticky:
                return
            self._sticky = False
        self.release()

    @contextmanager
    def exclusive(self, waiting: Callable[[], None] | None = None) -> Iterator[None]:
        with self._cond:
            if self._shared and waiting is not None:
                waiting()
            self._cond.wait_for(lambda: not self._exclusive and self._shared == 0)
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
