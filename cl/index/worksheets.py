"""Worksheet queries over the index tables (`worksheets`, `ws_items`) for
`cl wls`, `% wsearch` and `cl print`: SQL stays in the index layer."""

from typing import NamedTuple

from cl.refs.db import Database

_COLUMNS = ("wid", "name", "title", "tags", "head", "time", "author", "deleted")


def _row(r) -> dict:
    import json
    d = dict(zip(_COLUMNS, r))
    d["tags"] = json.loads(d["tags"])
    return d


class WsCondition(NamedTuple):
    """One worksheet-search keyword's condition: `kind` is word (values:
    a LIKE pattern for name/title and one for the id) | name | title |
    author (equal, or LIKE with `%`) | id (id prefixes) | uuid (exact ids,
    or LIKE with `%`) | tag (LIKE) | bundle (bundle ids); any value matches."""
    kind: str
    values: tuple = ()


# what `FIELD=.sort` orders by; `id` is the order of change, the nearest
# thing cl keeps to CodaLab's increasing worksheet number
SORTS = {"name": "w.name", "title": "w.title", "author": "w.author", "owner": "w.author",
         "id": "w.time", "uuid": "w.wid"}


def _equal_or_like(column: str, values) -> str:
    return " OR ".join(f"{column} {'LIKE' if '%' in v else '='} ?" for v in values)


def _clause(c: WsCondition) -> tuple[str, list]:
    n = len(c.values)
    if c.kind == "word":
        text, prefix = c.values
        return "lower(w.name) LIKE ? OR lower(w.title) LIKE ? OR w.wid LIKE ?", [text, text, prefix]
    if c.kind in ("name", "title", "author"):
        return _equal_or_like(f"w.{c.kind}", c.values), list(c.values)
    if c.kind == "uuid":
        return _equal_or_like("w.wid", c.values), list(c.values)
    if c.kind == "id":
        return " OR ".join(["w.wid LIKE ?"] * n), list(c.values)
    if c.kind == "tag":
        return " OR ".join(["EXISTS (SELECT 1 FROM json_each(w.tags) t WHERE t.value LIKE ?)"] * n), \
            list(c.values)
    assert c.kind == "bundle", c.kind
    return " OR ".join([_holding_bundle()] * n), list(c.values)


def _where(conditions) -> tuple[str, list]:
    sql, params = "w.deleted = 0", []
    for c in conditions:
        clause, ps = _clause(c)
        sql += f" AND ({clause})"
        params += ps
    return sql, params


def query(db: Database, conditions=(), orders=(), newest_first: bool = False,
          limit: int | None = None, offset: int = 0) -> list[dict]:
    """Live worksheets matching every condition, ordered by the (field,
    descending) pairs of `orders` (fields of SORTS), then by last change."""
    where, params = _where(conditions)
    order = [f"{SORTS[key]} {'DESC' if desc else 'ASC'}" for key, desc in orders]
    order += ["w.time " + ("DESC" if newest_first else "ASC"), "w.name"]
    sql = ("SELECT " + ", ".join(f"w.{c}" for c in _COLUMNS) + f" FROM worksheets w WHERE {where}"
           + " ORDER BY " + ", ".join(order))
    if limit is not None or offset:
        sql += f" LIMIT {-1 if limit is None else int(limit)} OFFSET {int(offset)}"
    return [_row(r) for r in db.execute(sql, params)]


def count(db: Database, conditions=()) -> int:
    where, params = _where(conditions)
    return db.execute(f"SELECT COUNT(*) FROM worksheets w WHERE {where}", params).fetchone()[0]


def _holding_bundle(column: str = "w.wid") -> str:
    """SQL (one `?`: a bundle id) true for worksheets that hold the bundle."""
    return (f"EXISTS (SELECT 1 FROM ws_items i WHERE i.wid = {column} AND i.kind = 'bundle'"
            " AND i.value = ?)")


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
