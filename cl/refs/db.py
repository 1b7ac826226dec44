"""The SQLite database file (`repo.db`) shared by refs and the index: WAL
mode, a busy timeout so concurrent `cl` processes wait instead of failing,
and explicit, re-entrant write transactions."""

import contextlib
import sqlite3
import threading

from cl.errors import CLError


TIMEOUT_S = 60  # how long a write waits for another process's transaction


class DatabaseUnavailable(CLError):
    """repo.db cannot be opened or written: permissions, a full disk."""


def _unavailable(path: str, exc: sqlite3.Error) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"cannot use the repository database '{path}': {exc}")


class Database:
    def __init__(self, path: str):
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=TIMEOUT_S, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
        except sqlite3.OperationalError as exc:
            raise _unavailable(path, exc) from None
        self._depth = 0
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE takes the write lock up front, so a
        read-then-write inside never fails half way with SQLITE_BUSY."""
        with self._lock:
            if not self._depth:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise _unavailable(self.path, exc) from None
            with self._held():
                yield self.conn

    @contextlib.contextmanager
    def transaction_if_free(self):
        """transaction(), or None at once (instead of waiting) when another
        connection holds the write lock: for writes that may be skipped,
        such as filling a cache."""
        with self._lock:
            free = True
            if not self._depth:
                self.conn.execute("PRAGMA busy_timeout = 0")
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:
                    free = False
                finally:
                    self.conn.execute(f"PRAGMA busy_timeout = {TIMEOUT_S * 1000}")
            if not free:
                yield None
                return
            with self._held():
                yield self.conn

    @contextlib.contextmanager
    def _held(self):
        """The body of a transaction begun (depth 0) or joined: commit at the
        outermost end, roll back on any exception."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        if self.conn.in_transaction:  # not if SQLite rolled back on an error the body let pass
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params=()):
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows):
        return self.conn.executemany(sql, rows)

    def close(self):
        self.conn.close()
