"""The SQL of `cl search`: `cl.bundles.search` parses the keywords into
`Condition`s and orderings; this turns them into clauses over the bundles
table (`Index.query` / `Index.count` run them).  SQL stays in the index
layer."""

import re
from typing import NamedTuple

from cl.errors import InputError

COLUMNS = {"name": "name", "kind": "kind", "bundle_type": "kind", "state": "state", "command": "command",
           "description": "description", "creator": "creator", "owner": "creator", "user": "creator",
           "data_size": "data_size", "size": "data_size", "created": "created", "updated": "updated"}
NUMERIC = {"data_size", "created", "updated"}
_KEY = r"[A-Za-z_][A-Za-z0-9_]*\Z"
_FLOATING = ("NOT EXISTS (SELECT 1 FROM ws_items i JOIN worksheets w ON w.wid = i.wid"
             " WHERE i.kind = 'bundle' AND i.value = bundles.id AND w.deleted = 0)")
NEWEST_FIRST = "created DESC, seq DESC"


class Condition(NamedTuple):
    """One keyword's condition.  `kind`: floating | creator | before |
    after | word | field | id (a prefix) | uuid (exact, or a LIKE pattern
    with `%`) | tag | dependency | worksheet; `key` the
    field (or dependency key) where one applies; `values` match any one."""
    kind: str
    key: str | None = None
    values: tuple = ()


def column(key: str) -> str:
    """The SQL expression of a field: a column, or a metadata key."""
    if key in COLUMNS:
        return COLUMNS[key]
    if key in ("id", "uuid"):
        return "id"
    if not re.match(_KEY, key):
        shown = key if len(key) <= 80 else key[:80] + "…"
        shown = shown if shown.isprintable() else ascii(shown)[1:-1]
        raise InputError(f"bad search field: '{shown}'")
    return f"json_extract(metadata, '$.{key}')"


def _any(template: str, values) -> str:
    return "(" + " OR ".join(template for _ in values) + ")"


def _clause(c: Condition) -> tuple[str, list]:
    if c.kind == "floating":
        return _FLOATING, []
    if c.kind == "creator":
        return "creator = ?", list(c.values)
    if c.kind in ("before", "after"):
        return ("created <= ?" if c.kind == "before" else "created >= ?"), list(c.values)
    if c.kind == "word":
        return "(name LIKE ? OR id LIKE ?)", list(c.values)
    if c.kind == "id":
        return _any("id LIKE ?", c.values), list(c.values)
    if c.kind == "uuid":
        return "(" + " OR ".join("id LIKE ?" if "%" in v else "id = ?" for v in c.values) + ")", \
            list(c.values)
    if c.kind == "tag":
        return _any("EXISTS (SELECT 1 FROM json_each(bundles.tags) t WHERE t.value LIKE ?)", c.values), \
            list(c.values)
    if c.kind == "dependency":
        marks = ",".join("?" * len(c.values))
        if c.key is None:
            return f"id IN (SELECT child FROM deps WHERE parent IN ({marks}))", list(c.values)
        return f"id IN (SELECT child FROM deps WHERE key = ? AND parent IN ({marks}))", [c.key, *c.values]
    if c.kind == "worksheet":
        marks = ",".join("?" * len(c.values))
        return f"id IN (SELECT value FROM ws_items WHERE kind = 'bundle' AND wid IN ({marks}))", list(c.values)
    assert c.kind == "field", c.kind
    col = column(c.key)
    parts = [f"{col} {'LIKE' if isinstance(v, str) and '%' in v else '='} ?" for v in c.values]
    return "(" + " OR ".join(parts) + ")", list(c.values)


def where(conditions) -> tuple[str, list]:
    """The WHERE clause (all conditions) and its parameters."""
    clauses, params = [], []
    for c in conditions:
        clause, ps = _clause(c)
        clauses.append(clause)
        params += ps
    return " AND ".join(clauses) or "1", params


def _sort_columns(key: str) -> tuple[str, ...]:
    """What ordering by a field sorts on: `id` is creation order, as
    CodaLab's integer `id` is; every other field its column."""
    return ("created", "seq") if key == "id" else (column(key),)


def order_by(orders: list[tuple[str, bool]], newest_first: bool) -> str:
    """ORDER BY for (field, descending) pairs; ties newest first when
    asked, else in creation order."""
    parts = [f"{col} {'DESC' if desc else 'ASC'}" for key, desc in orders for col in _sort_columns(key)]
    return ", ".join(parts + [NEWEST_FIRST if newest_first or not orders else "seq ASC"])
