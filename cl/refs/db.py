"""The SQLite database file (`repo.db`) shared by refs and the index: WAL
mode, a busy timeout so concurrent `cl` processes wait instead of failing,
and explicit, re-entrant write transactions."""

import contextlib
import sqlite3
import threading

from cl.errors import CLError


class DatabaseUnavailable(CLError):
    """repo.db cannot be opened or written: permissions, a full disk."""


def _unavailable(path: str, exc: sqlite3.Error) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"cannot use the repository database '{path}': {exc}")


class Database:
    def __init__(self, path: str):
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=60, isolation_level=None,
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
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _unavailable(self.path, exc) from None
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params=()):
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows):
        return self.conn.executemany(sql, rows)

    def close(self):
        self.conn.close()
