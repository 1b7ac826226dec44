"""`cl ls`: the bundles on a worksheet, local or `REMOTE::ws`.

The quickest command: this module imports only the index and the spec
resolver, and the remote reader only for a `REMOTE::` worksheet."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, TypeVar

from cl.bundles.info import fmt_time
from cl.bundles.specs import resolve_worksheet
from cl.repo import Repository

T = TypeVar("T")


@contextlib.contextmanager
def reading(repo: Repository, spec: str | None, history: bool = False):
    """(repository, spec) to read worksheet `spec` (`WS@N` allowed) in:
    this one, or for `REMOTE::ws` a mirror of the remote that fetches what
    the reading asks for (cl/sync/remote_read.py), the spec then naming
    the worksheet by id; nothing is copied here.  `history`: the reading
    walks the worksheet's versions."""
    if not spec or "::" not in spec:
        yield repo, spec
        return
    from cl.sync.remote_read import remote_worksheet
    from cl.worksheets import ops
    ws_spec, n = ops.split_version(spec)
    with remote_worksheet(repo, ws_spec, history=history or n is not None) as (mirror, wid):
        yield mirror, "0x" + wid + ("" if n is None else f"@{n}")


def on_worksheet(repo: Repository, spec: str | None, fn: Callable[[Repository, str], T]) -> T:
    """fn(repository, wid) for worksheet `spec` (default: the current
    one); a `REMOTE::ws` is read through a mirror of the remote."""
    with reading(repo, spec) as (r, spec):
        return fn(r, resolve_worksheet(r, spec or "."))


def listing_text(repo: Repository, spec: str | None, key: str,
                 render: Callable[[dict[str, Any], list[Any]], str]) -> str:
    """The text `render(worksheet row, Index.listing columns)` makes for a
    worksheet, from the index's cache while nothing it shows has changed
    (`key`: what else the text depends on, such as its layout)."""
    return on_worksheet(repo, spec, lambda r, wid: r.index.listing_text(
        wid, key, lambda: render(r.index.worksheet(wid), r.index.listing(wid))))


def listing_ids(repo: Repository, spec: str | None) -> list[str]:
    """The ids on a worksheet, in order, once per appearance (as CodaLab
    lists them), removed bundles left out."""
    return on_worksheet(repo, spec, lambda r, wid: list(r.index.listing(wid)[0]))


def listing_rows(repo: Repository, spec: str | None) -> list[dict[str, Any]]:
    """The bundles on a worksheet as JSON records (bundle_json), as `cl ls`
    lists them: once per appearance, removed bundles left out."""
    def rows(r: Repository, wid: str) -> list[dict[str, Any]]:
        return bundle_json([row for row in r.index.bundles(r.index.worksheet_bundles(wid)) if not row.deleted])
    return on_worksheet(repo, spec, rows)


def bundle_json(rows: Any) -> list[dict[str, Any]]:
    """Index rows as the JSON shape of `cl ls --json` and `cl search --json`."""
    return [{"id": "0x" + r.id, "name": r.name, "kind": r.kind, "state": r.state,
             "data_size": r.data_size, "created": fmt_time(r.created), "command": r.command}
            for r in rows]
