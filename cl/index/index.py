"""Index tables and the queries over them.  SQL lives here and in refs only.

json is imported inside the functions that use it: most commands that only
read (`cl ls`, `cl info`) never need it, and its import is not free."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import TYPE_CHECKING, Iterator

from cl.errors import IndexDamaged
from cl.refs import store as refs_store
from cl.refs.db import Database

if TYPE_CHECKING:  # only named in signatures: `cl ls` need not load the object types
    from cl.objects.types import Bundle, State, Worksheet

# 2: the integer-keyed `nodes` and `edges` tables (provenance lists); a
# repo.db of version 1 gains them when it is first opened (_upgrade_from_1).
# A repo.db of another version fails check_schema; `cl reindex` rebuilds it.
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL, tags TEXT NOT NULL, state TEXT NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, creator TEXT NOT NULL,
    command TEXT, data_size INTEGER, head TEXT NOT NULL, result TEXT,
    deleted INTEGER NOT NULL, data_deleted INTEGER NOT NULL, metadata TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bundles_name ON bundles(name);
CREATE INDEX IF NOT EXISTS bundles_created ON bundles(created);
CREATE INDEX IF NOT EXISTS bundles_state ON bundles(state);
CREATE INDEX IF NOT EXISTS bundles_seq ON bundles(seq);
CREATE TABLE IF NOT EXISTS deps (
    child TEXT NOT NULL, key TEXT NOT NULL, parent TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (child, key));
CREATE INDEX IF NOT EXISTS deps_parent ON deps(parent);
CREATE TABLE IF NOT EXISTS nodes (
    n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT, deleted INTEGER, seq INTEGER);
CREATE TABLE IF NOT EXISTS edges (
    c INTEGER NOT NULL, key TEXT NOT NULL, p INTEGER NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (c, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_p ON edges(p);
CREATE TABLE IF NOT EXISTS worksheets (
    wid TEXT PRIMARY KEY, name TEXT NOT NULL, title TEXT NOT NULL, tags TEXT NOT NULL,
    head TEXT NOT NULL, time INTEGER NOT NULL, author TEXT NOT NULL, deleted INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS worksheets_name ON worksheets(name);
CREATE TABLE IF NOT EXISTS ws_items (
    wid TEXT NOT NULL, pos INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (wid, pos));
CREATE INDEX IF NOT EXISTS ws_items_value ON ws_items(value);
CREATE TABLE IF NOT EXISTS ls_cache (
    wid TEXT NOT NULL, key TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (wid, key));
""" + "".join(
    # `cl ls` text is cached per worksheet (Index.listing_text); these
    # triggers drop it in the same transaction as any change it shows
    f"CREATE TRIGGER IF NOT EXISTS ls_cache_{table}_{event.lower()} AFTER {event} ON {table}"
    f" WHEN EXISTS (SELECT 1 FROM ls_cache) BEGIN DELETE FROM ls_cache"
    + ("" if table == "bundles" else f" WHERE wid IN ({rows})") + "; END;\n"
    for table in ("bundles", "ws_items", "worksheets")
    for event, rows in (("INSERT", "NEW.wid"), ("UPDATE", "OLD.wid, NEW.wid"), ("DELETE", "OLD.wid")))

_LAST_IN_SCHEMA = "ls_cache_worksheets_delete"


def _stored_sql(script: str) -> dict[str, str]:
    """name -> the text SQLite keeps in sqlite_master for each statement of
    `script` (it drops `IF NOT EXISTS`; tests/index checks this against
    SQLite itself).  Statements end with `;` at the end of a line."""
    out = {}
    for statement in script.split(";\n"):
        statement = statement.strip().rstrip(";")
        if statement:
            statement = statement.replace(" IF NOT EXISTS", "", 1)
            out[re.match(r"CREATE (?:TABLE|INDEX|TRIGGER) (\w+)", statement)[1]] = statement
    return out


EXPECTED_SQL = _stored_sql(refs_store.SCHEMA + ";\n" + SCHEMA)


def check_schema(db: Database) -> None:
    """Raise IndexDamaged unless repo.db holds the refs and index tables
    exactly as this version of cl makes them (extra tables, such as the
    run queue's, are allowed).  Two small reads: cheap enough for every
    command."""
    found = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())
    if not found:
        raise IndexDamaged(db.path, "it holds no tables")
    if "nodes" not in found and "meta" in found and _upgrade_from_1(db):
        found = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())
    for name, sql in EXPECTED_SQL.items():
        if name not in found:
            raise IndexDamaged(db.path, f"'{name}' is missing")
        if found[name] != sql:
            raise IndexDamaged(db.path, f"'{name}' is not as this version of cl makes it")
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        raise IndexDamaged(db.path, f"its schema version is {row[0] if row else 'unknown'},"
                                    f" this cl reads {SCHEMA_VERSION}")

def _upgrade_from_1(db: Database) -> bool:
    """Give a repo.db of schema 1 the integer-keyed provenance tables,
    filled from its `bundles` and `deps` in one transaction (a few seconds
    for 100,000 bundles), so a repository made by the previous cl opens
    without a `cl reindex`.  True if it was (or meanwhile became) version
    2; False for any other version, which check_schema then reports."""
    with db.transaction():
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and row[0] == str(SCHEMA_VERSION):
            return True  # another process upgraded it first
        if row is None or row[0] != "1":
            return False
        for statement in SCHEMA.split(";\n"):  # not executescript: it would commit first
            if re.match(r"\s*CREATE (TABLE|INDEX) IF NOT EXISTS (nodes|edges|edges_p) ", statement):
                db.execute(statement)
        db.execute("INSERT INTO nodes (id, name, deleted, seq) SELECT id, name, deleted, seq FROM bundles"
                   " ORDER BY seq")
        db.execute("INSERT OR IGNORE INTO nodes (id) SELECT parent FROM deps ORDER BY rowid")
        db.execute("INSERT OR REPLACE INTO edges (c, key, p, path) SELECT c.n, d.key, p.n, d.path FROM deps d"
                   " JOIN nodes c ON c.id = d.child JOIN nodes p ON p.id = d.parent")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    return True


BUNDLE_COLUMNS = ("id", "seq", "kind", "name", "description", "tags", "state", "created", "updated",
                  "creator", "command", "data_size", "head", "result", "deleted", "data_deleted",
                  "metadata")


class BundleRow(dict):
    """One row of the bundles table, as a dict with attribute access."""

    __getattr__ = dict.__getitem__

    @property
    def tag_list(self) -> list[str]:
        import json
        return json.loads(self["tags"])

    @property
    def meta(self) -> dict:
        import json
        return json.loads(self["metadata"])


def _row(cursor_row) -> BundleRow | None:
    return BundleRow(zip(BUNDLE_COLUMNS, cursor_row)) if cursor_row else None


_SELECT = "SELECT " + ", ".join(BUNDLE_COLUMNS) + " FROM bundles"


def _in_chunks(db, sql: str, ids: list[str], *params) -> Iterator[tuple]:
    """Rows of `sql`, whose `{marks}` is an `IN (...)` list, for `ids` 500
    at a time (SQLite caps a statement's parameters); `params` go first."""
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        yield from db.execute(sql.format(marks=",".join("?" * len(chunk))), (*params, *chunk))


def local_time(ns: int | None) -> str | None:
    """A time in nanoseconds as local `YYYY-MM-DD HH:MM:SS`; None if unset (0)."""
    if not ns:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))


# `listing` has SQLite turn creation times into local_time's text: one
# query for thousands of rows instead of a Python call per row.  SQLite asks
# the same localtime_r as Python, but only for UTC years 1971-2037 (outside
# them it takes the offset of January 2000), so other times come back as
# numbers and are formatted by local_time.
_SQL_LOCAL_TIME = (31_536_000 * 10**9, 2_145_916_800 * 10**9)  # [1971-01-01, 2038-01-01) UTC
_LISTING = (
    "SELECT b.id, b.name, b.kind, b.state, b.data_size,"
    " CASE WHEN b.created >= ? AND b.created < ?"
    # the seconds are floor(created / 1e9) in floating point, as local_time has them
    " THEN datetime(CAST(b.created / 1e9 AS INTEGER), 'unixepoch', 'localtime') ELSE b.created END,"
    " coalesce(b.command, '')"
    " FROM ws_items i JOIN bundles b ON b.id = i.value"
    " WHERE i.wid = ? AND i.kind = 'bundle' AND b.deleted = 0 ORDER BY i.pos")


class Index:
    def __init__(self, db: Database):
        self.db = db
        # the schema's last object present means all of it is: then opening
        # writes nothing, so readers such as `cl ls` never wait for a writer
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_LAST_IN_SCHEMA,)).fetchone():
            db.executescript(SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        db.execute("PRAGMA case_sensitive_like=ON")

    # --- writes (callers hold a transaction) ---------------------------------

    def put_bundle(self, bid: str, bundle: Bundle, head: str, state: State, data_size: int | None):
        import json
        md = state.metadata
        row = self.db.execute("SELECT seq FROM bundles WHERE id = ?", (bid,)).fetchone()
        seq = row[0] if row else (self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM bundles").fetchone()[0])
        self.db.execute(
            "INSERT OR REPLACE INTO bundles (" + ", ".join(BUNDLE_COLUMNS) + ") VALUES ("
            + ", ".join("?" * len(BUNDLE_COLUMNS)) + ")",
            (bid, seq, bundle.kind, md.get("name", ""), md.get("description", ""),
             json.dumps(md.get("tags", [])), state.state, bundle.created, state.time,
             bundle.creator, bundle.command, data_size, head, state.result,
             int(state.deleted), int(state.data_deleted), json.dumps(md, sort_keys=True)))
        # the bundle's line in a provenance list (its number, name, deleted
        # flag and creation order), kept in step with the row above
        self.db.execute("INSERT INTO nodes (id, name, deleted, seq) VALUES (?, ?, ?, ?) ON CONFLICT (id)"
                        " DO UPDATE SET name = excluded.name, deleted = excluded.deleted, seq = excluded.seq",
                        (bid, md.get("name", ""), int(state.deleted), seq))
        if not row:
            self.db.executemany(
                "INSERT OR REPLACE INTO deps (child, key, parent, path) VALUES (?, ?, ?, ?)",
                [(bid, d.key, d.bundle, d.path) for d in bundle.dependencies])
            self._put_edges(bid, bundle)

    def _put_edges(self, bid: str, bundle: Bundle):
        """The integer-keyed copy of a new bundle's `deps` rows.  `nodes`
        numbers every id the index has seen, a bundle or a dependency it
        may not have yet (name, deleted and seq NULL until it has), and
        holds what a provenance list shows of it; `edges` holds (child,
        key, parent, path) by those numbers.  Provenance lists of 100,000
        bundles read these: an integer is a fraction of the cost of a
        64-digit id to fetch, hash and compare (cl/index/provenance.py)."""
        deps = bundle.dependencies
        if not deps:
            return
        self.db.executemany("INSERT OR IGNORE INTO nodes (id) VALUES (?)", [(d.bundle,) for d in deps])
        self.db.executemany("INSERT OR REPLACE INTO edges (c, key, p, path) VALUES ((SELECT n FROM nodes"
                            " WHERE id = ?), ?, (SELECT n FROM nodes WHERE id = ?), ?)",
                            [(bid, d.key, d.bundle, d.path) for d in deps])

    def put_worksheet(self, commit: str, ws: Worksheet, prior: Worksheet | None = None):
        """`prior`: the head this commit replaces, whose items the index
        holds; when they are a prefix of ws's (an append) only the new rows
        are written, so an append costs O(1) rows, not O(N)."""
        self._put_ws_row(commit, ws)
        start = 0
        if (prior is not None and prior.worksheet == ws.worksheet
                and ws.items[:len(prior.items)] == prior.items):
            start = len(prior.items)
        else:
            self.db.execute("DELETE FROM ws_items WHERE wid = ?", (ws.worksheet,))
        self._add_ws_items(ws.worksheet, start, ws.items[start:])

    def append_worksheet(self, commit: str, ws, start: int, items) -> None:
        """An append whose prior head the index holds (its rows are the
        first `start` items): the row of the new head `commit` (`ws`, a
        commit of either type: only its header is read) and rows for
        `items` from position `start`."""
        self._put_ws_row(commit, ws)
        self._add_ws_items(ws.worksheet, start, items)

    def _put_ws_row(self, commit: str, ws) -> None:
        """The worksheet's row: its head `commit` and that commit's header."""
        import json
        self.db.execute(
            "INSERT OR REPLACE INTO worksheets (wid, name, title, tags, head, time, author, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ws.worksheet, ws.name, ws.title, json.dumps(list(ws.tags)), commit, ws.time, ws.author,
             int(ws.deleted)))

    def _add_ws_items(self, wid: str, start: int, items) -> None:
        self.db.executemany("INSERT INTO ws_items (wid, pos, kind, value) VALUES (?, ?, ?, ?)",
                            [(wid, i, it.kind, it.value) for i, it in enumerate(items, start)])

    def clear(self):
        for table in ("bundles", "deps", "nodes", "edges", "worksheets", "ws_items"):
            self.db.execute(f"DELETE FROM {table}")

    # --- bundles -------------------------------------------------------------

    def bundle(self, bid: str, include_deleted=False) -> BundleRow | None:
        sql = _SELECT + " WHERE id = ?" + ("" if include_deleted else " AND deleted = 0")
        return _row(self.db.execute(sql, (bid,)).fetchone())

    def bundles(self, ids: list[str]) -> list[BundleRow]:
        by_id = {r.id: r for r in map(_row, _in_chunks(self.db, _SELECT + " WHERE id IN ({marks})", ids))}
        return [by_id[i] for i in ids if i in by_id]

    def listing(self, wid: str) -> list[tuple]:
        """`cl ls`: the columns (ids, names, kinds, states, data sizes,
        creation times, commands) of the bundles on a worksheet, in order,
        a bundle once per place it appears (as CodaLab lists them), removed
        bundles left out (as `cl info` does not know them); a creation time
        as local_time's text ('' if unset), a command '' if none.  Columns
        rather than rows: a worksheet may list thousands of bundles, and
        each column is handled at once."""
        rows = self.db.execute(_LISTING, (*_SQL_LOCAL_TIME, wid)).fetchall()
        if not rows:
            return [()] * 7
        columns = list(zip(*rows))
        if set(map(type, columns[5])) != {str}:  # times SQLite left to local_time
            columns[5] = [t if type(t) is str else local_time(t) or "" for t in columns[5]]
        return columns

    def listing_text(self, wid: str, key: str, render) -> str:
        """`render()`'s text for worksheet `wid`, cached under `key` (what
        else the text depends on: its format, the time zone) until the
        triggers in SCHEMA see a change to the worksheet or any bundle.  A
        miss renders and stores inside one write transaction, so nothing
        can change between the two; when another process holds the write
        lock, or the database cannot be written, it renders without storing."""
        row = self.db.execute("SELECT text FROM ls_cache WHERE wid = ? AND key = ?", (wid, key)).fetchone()
        if row:
            return row[0]
        with self.db.transaction_if_free() as conn:
            text = render()
            if conn is not None:
                try:
                    conn.execute("INSERT OR REPLACE INTO ls_cache (wid, key, text) VALUES (?, ?, ?)",
                                 (wid, key, text))
                except sqlite3.OperationalError:  # a read-only or full database: the cache is optional
                    pass
        return text

    def by_prefix(self, prefix: str, limit: int = 50) -> list[BundleRow]:
        rows = self.db.execute(_SELECT + " WHERE id >= ? AND id < ? AND deleted = 0 ORDER BY seq LIMIT ?",
                               (prefix, prefix + "g", limit))
        return [_row(r) for r in rows]

    def by_name(self, name: str, pattern: bool = False) -> list[BundleRow]:
        op = "LIKE" if pattern else "="
        rows = self.db.execute(_SELECT + f" WHERE name {op} ? AND deleted = 0 ORDER BY seq", (name,))
        return [_row(r) for r in rows]

    def bundle_names(self) -> set[str]:
        """The distinct names of live bundles."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT name FROM bundles WHERE deleted = 0")}

    def query(self, where: str = "1", params=(), order: str = "seq", limit: int | None = None,
              offset: int = 0) -> list[BundleRow]:
        sql = _SELECT + f" WHERE deleted = 0 AND ({where}) ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [_row(r) for r in self.db.execute(sql, params)]

    def count(self, where: str = "1", params=()) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM bundles WHERE deleted = 0 AND ({where})",
                               params).fetchone()[0]

    def counts_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM bundles WHERE deleted = 0 GROUP BY state")
        return dict(rows)

    def live_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM bundles WHERE deleted = 0")]

    def all_heads(self) -> list[tuple[str, str, int, int]]:
        """(bundle, head state, deleted, data_deleted) of every bundle, deleted or not."""
        return list(self.db.execute("SELECT id, head, deleted, data_deleted FROM bundles"))

    # --- provenance edges ----------------------------------------------------

    def dependencies(self, bid: str) -> list[tuple[str, str, str]]:
        """(key, parent, path) edges of a bundle, in key order."""
        return list(self.db.execute("SELECT key, parent, path FROM deps WHERE child = ? ORDER BY key", (bid,)))

    def dependents(self, bid: str, include_deleted=False) -> list[tuple[str, str]]:
        """(child, key) of the live bundles that depend on `bid`."""
        sql = ("SELECT d.child, d.key FROM deps d JOIN bundles b ON b.id = d.child WHERE d.parent = ?"
               + ("" if include_deleted else " AND b.deleted = 0") + " ORDER BY b.seq")
        return list(self.db.execute(sql, (bid,)))

    # --- worksheets ----------------------------------------------------------

    def is_live_worksheet(self, wid: str) -> bool:
        return self.db.execute("SELECT 1 FROM worksheets WHERE wid = ? AND deleted = 0",
                               (wid,)).fetchone() is not None

    def worksheet(self, wid: str) -> dict | None:
        row = self.db.execute("SELECT wid, name, title, tags, head, time, author, deleted FROM worksheets"
                              " WHERE wid = ?", (wid,)).fetchone()
        return _ws_row(row)

    def worksheets(self, name: str | None = None, pattern: bool = False, include_deleted=False) -> list[dict]:
        sql = "SELECT wid, name, title, tags, head, time, author, deleted FROM worksheets WHERE 1"
        params: list = []
        if name is not None:
            sql += " AND name " + ("LIKE" if pattern else "=") + " ?"
            params.append(name)
        if not include_deleted:
            sql += " AND deleted = 0"
        return [_ws_row(r) for r in self.db.execute(sql + " ORDER BY time", params)]

    def worksheet_bundles(self, wid: str) -> list[str]:
        """Bundle ids on a worksheet, in order (a bundle may appear twice)."""
        return [r[0] for r in self.db.execute(
            "SELECT value FROM ws_items WHERE wid = ? AND kind = 'bundle' ORDER BY pos", (wid,))]

    def latest_on_worksheet(self, wid: str) -> Iterator[tuple[str, str]]:
        """(id, name) of the indexed bundles on a worksheet, last place
        first (a bundle may appear twice).  Lazy: `^` reads a few rows of
        a worksheet of thousands."""
        return self.db.execute(
            "SELECT i.value, b.name FROM ws_items i JOIN bundles b ON b.id = i.value"
            " WHERE i.wid = ? AND i.kind = 'bundle' ORDER BY i.pos DESC", (wid,))

    def on_worksheet(self, wid: str, ids: list[str]) -> set[str]:
        """Those of `ids` that a worksheet lists."""
        return {r[0] for r in _in_chunks(
            self.db, "SELECT value FROM ws_items WHERE wid = ? AND kind = 'bundle' AND value IN ({marks})",
            ids, wid)}

    def host_worksheets(self, bid: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT i.wid FROM ws_items i JOIN worksheets w ON w.wid = i.wid"
            " WHERE i.kind = 'bundle' AND i.value = ? AND w.deleted = 0", (bid,))]

    def floating(self) -> set[str]:
        """Live bundles on no live worksheet."""
        return {r[0] for r in self.db.execute(
            "SELECT id FROM bundles b WHERE deleted = 0 AND NOT EXISTS (SELECT 1 FROM ws_items i"
            " JOIN worksheets w ON w.wid = i.wid WHERE i.kind = 'bundle' AND i.value = b.id"
            " AND w.deleted = 0)")}


def _ws_row(row) -> dict | None:
    if not row:
        return None
    keys = ("wid", "name", "title", "tags", "head", "time", "author", "deleted")
    d = dict(zip(keys, row))
    if d["tags"] == "[]":  # most worksheets: no need to import json
        d["tags"] = []
    else:
        import json
        d["tags"] = json.loads(d["tags"])
    return d
