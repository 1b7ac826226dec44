"""The index queries behind bundle specs that `Index` lacks: SQL stays in
the index layer."""

from typing import Iterator

from cl.refs.db import Database


def latest_live_on_worksheet(db: Database, wid: str) -> Iterator[tuple[str, str]]:
    """(id, name) of the live bundles a worksheet lists, last place first
    (a bundle listed twice comes twice).  Lazy: `^` reads a few rows of a
    worksheet of thousands."""
    return db.execute(
        "SELECT i.value, b.name FROM ws_items i JOIN bundles b ON b.id = i.value"
        " WHERE i.wid = ? AND i.kind = 'bundle' AND b.deleted = 0 ORDER BY i.pos DESC", (wid,))
