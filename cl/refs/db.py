"""The SQLite database file (`repo.db`) shared by refs and the index: WAL
mode, a busy timeout so concurrent `cl` processes wait instead of failing,
and explicit, re-entrant write transactions."""

import contextlib
import sqlite3
import threading


class Database:
    def __init__(self, path: str):
        self.path = path
        self.conn = sqlite3.connect(path, timeout=60, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
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
            self.conn.execute("BEGIN IMMEDIATE")
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
