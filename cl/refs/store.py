"""Ref stores: `bundles/<id>` → head state, `worksheets/<wid>` → head
worksheet commit, `HEAD` → the current worksheet's wid, `remotes/<name>/…`
→ what a remote had when last seen.

Two implementations of one interface (SQLite and memory).  A name moves only
by `set_if_equals`; a lost race raises Conflict, never overwrites."""

from cl.errors import Conflict
from cl.refs.db import Database
from cl.refs.names import check_name

SCHEMA = "CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, value TEXT NOT NULL)"


class RefStore:
    def get(self, name: str) -> str | None:
        raise NotImplementedError

    def set_if_equals(self, name: str, old: str | None, new: str | None) -> None:
        """Point `name` at `new` (None deletes) if it points at `old` now
        (None: does not exist).  A name outside cl/refs/names.py's grammar
        raises BadRefName and changes nothing."""
        raise NotImplementedError

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        raise NotImplementedError

    def clear(self, prefix: str) -> None:
        raise NotImplementedError


def _conflict(name, old, current):
    return Conflict(f"ref '{name}' moved: expected {old or 'nothing'}, found {current or 'nothing'}")


class MemoryRefStore(RefStore):
    def __init__(self):
        self._refs: dict[str, str] = {}

    def get(self, name):
        return self._refs.get(name)

    def set_if_equals(self, name, old, new):
        check_name(name)
        current = self._refs.get(name)
        if current != old:
            raise _conflict(name, old, current)
        if new is None:
            self._refs.pop(name, None)
        else:
            self._refs[name] = new

    def items(self, prefix=""):
        return sorted((k, v) for k, v in self._refs.items() if k.startswith(prefix))

    def clear(self, prefix):
        for k in [k for k in self._refs if k.startswith(prefix)]:
            del self._refs[k]


class SqliteRefStore(RefStore):
    def __init__(self, db: Database):
        self.db = db
        db.execute(SCHEMA)

    def get(self, name):
        row = self.db.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_if_equals(self, name, old, new):
        check_name(name)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
            current = row[0] if row else None
            if current != old:
                raise _conflict(name, old, current)
            if new is None:
                conn.execute("DELETE FROM refs WHERE name = ?", (name,))
            else:
                conn.execute("INSERT OR REPLACE INTO refs (name, value) VALUES (?, ?)", (name, new))

    def items(self, prefix=""):
        rows = self.db.execute(
            "SELECT name, value FROM refs WHERE " + _PREFIXED + " ORDER BY name",
            (prefix, len(prefix), prefix))
        return list(rows)

    def clear(self, prefix):
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM refs WHERE " + _PREFIXED, (prefix, len(prefix), prefix))


# An upper bound like prefix + "\uffff" misses names with characters beyond
# the BMP; `name >= prefix` still lets SQLite start from the index.
_PREFIXED = "name >= ? AND substr(name, 1, ?) = ?"
