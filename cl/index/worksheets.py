"""Worksheet queries over the index tables (`worksheets`, `ws_items`) for
`cl wls`, `% wsearch` and `cl print`: SQL stays in the index layer."""

from cl.refs.db import Database

_COLUMNS = ("wid", "name", "title", "tags", "head", "time", "author", "deleted")


def _row(r) -> dict:
    import json
    d = dict(zip(_COLUMNS, r))
    d["tags"] = json.loads(d["tags"])
    return d


def query(db: Database, where: list[str], params: list, newest_first: bool = False,
          limit: int | None = None, offset: int = 0) -> list[dict]:
    """Live worksheets matching every clause of `where` (SQL over the
    columns of `worksheets` w), by last change."""
    sql = ("SELECT " + ", ".join(f"w.{c}" for c in _COLUMNS) + " FROM worksheets w WHERE w.deleted = 0"
           + "".join(f" AND ({c})" for c in where)
           + " ORDER BY w.time " + ("DESC" if newest_first else "ASC") + ", w.name")
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [_row(r) for r in db.execute(sql, params)]


def count(db: Database, where: list[str], params: list) -> int:
    sql = "SELECT COUNT(*) FROM worksheets w WHERE w.deleted = 0" + "".join(f" AND ({c})" for c in where)
    return db.execute(sql, params).fetchone()[0]


def holding_bundle_clause(column: str = "w.wid") -> str:
    """SQL (one `?`: a bundle id) true for worksheets that hold the bundle."""
    return (f"EXISTS (SELECT 1 FROM ws_items i WHERE i.wid = {column} AND i.kind = 'bundle'"
            " AND i.value = ?)")


def tag_clause() -> str:
    """SQL (one `?`: a tag pattern) true for worksheets with a matching tag."""
    return "EXISTS (SELECT 1 FROM json_each(w.tags) t WHERE t.value LIKE ?)"


def item_counts(db: Database, wids: list[str]) -> dict[str, tuple[int, int]]:
    """wid -> (bundle items, all items)."""
    out = {w: (0, 0) for w in wids}
    for i in range(0, len(wids), 500):
        chunk = wids[i:i + 500]
        rows = db.execute(
            "SELECT wid, SUM(kind = 'bundle'), COUNT(*) FROM ws_items WHERE wid IN ("
            + ",".join("?" * len(chunk)) + ") GROUP BY wid", chunk)
        for wid, nb, n in rows:
            out[wid] = (nb or 0, n)
    return out


def by_exact_id(db: Database, wid: str) -> dict | None:
    """A worksheet by its full id, removed ones included."""
    r = db.execute("SELECT " + ", ".join(_COLUMNS) + " FROM worksheets WHERE wid = ?", (wid,)).fetchone()
    return _row(r) if r else None
