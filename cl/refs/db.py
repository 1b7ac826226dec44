"""The SQLite database file (`repo.db`) shared by refs and the index: WAL
mode, a busy timeout so concurrent `cl` processes wait instead of failing,
and explicit, re-entrant write transactions.  A file SQLite finds damaged
(not a database, malformed pages) raises IndexDamaged wherever it shows."""

import contextlib
import sqlite3
import threading

from cl.errors import CLError, IndexDamaged


TIMEOUT_S = 60  # how long a write waits for another process's transaction


class DatabaseUnavailable(CLError):
    """repo.db cannot be opened or written: permissions, a full disk."""


def _unavailable(path: str, exc: sqlite3.Error) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"cannot use the repository database '{path}': {exc}")


_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT (and its extended codes), SQLITE_NOTADB


def damage(exc: BaseException) -> str | None:
    """What is wrong when `exc` is SQLite saying the file itself is damaged;
    None for any other error (a lock, a full disk, a bug)."""
    if isinstance(exc, sqlite3.DatabaseError) and (exc.sqlite_errorcode or 0) & 0xFF in _DAMAGE_CODES:
        return str(exc)
    return None


def _refused(path: str, exc: sqlite3.Error) -> CLError:
    problem = damage(exc)
    return IndexDamaged(path, problem) if problem else _unavailable(path, exc)


class Database:
    def __init__(self, path: str):
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=TIMEOUT_S, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
        except sqlite3.DatabaseError as exc:
            if not (damage(exc) or isinstance(exc, sqlite3.OperationalError)):
                raise
            raise _refused(path, exc) from None
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
                except sqlite3.DatabaseError as exc:
                    if not (damage(exc) or isinstance(exc, sqlite3.OperationalError)):
                        raise
                    raise _refused(self.path, exc) from None
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
    def snapshot(self):
        """Reads that all see one state of the database (a deferred BEGIN:
        the snapshot is taken at the first read, and writers go on), or
        the transaction already open.  For an answer read in several
        statements while other processes may write."""
        with self._lock:
            if self._depth or self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

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
            self.execute("COMMIT")

    def execute(self, sql: str, params=()):
        try:
            return self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            if damage(exc):
                raise IndexDamaged(self.path, str(exc)) from None
            raise

    def executemany(self, sql: str, rows):
        try:
            return self.conn.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            if damage(exc):
                raise IndexDamaged(self.path, str(exc)) from None
            raise

    def executescript(self, script: str):
        try:
            return self.conn.executescript(script)
        except sqlite3.DatabaseError as exc:
            if damage(exc):
                raise IndexDamaged(self.path, str(exc)) from None
            raise

    def close(self):
        self.conn.close()


def read_refs(path: str, exclude: tuple[str, ...]) -> list[tuple[str, str]]:
    """The refs of a database file that may be damaged, opened read-only,
    except those whose names start with one of `exclude`.  Raises
    IndexDamaged when they cannot be read."""
    from urllib.parse import quote
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=TIMEOUT_S)
    except sqlite3.Error as exc:
        raise IndexDamaged(path, str(exc)) from None
    try:
        rows = conn.execute("SELECT name, value FROM refs").fetchall()
    except sqlite3.Error as exc:
        raise IndexDamaged(path, str(exc)) from None
    finally:
        conn.close()
    return [(n, v) for n, v in rows
            if isinstance(n, str) and isinstance(v, str) and n and not n.startswith(exclude)]
