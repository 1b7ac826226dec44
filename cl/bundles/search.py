"""`cl search`: CodaLab's bundle search language over the index.

    word            name or id contains `word`
    name=foo%       a field equals a value (`%` wildcards)
    kind=run state=ready
    .floating       on no worksheet (`.orphan` is an alias)
    .limit=N        at most N results (default 10)
    .count          the number of matches instead of the matches"""

from dataclasses import dataclass

from cl.errors import InputError
from cl.index.index import BundleRow
from cl.repo import Repository

FIELDS = {"name", "kind", "state", "id", "uuid", "command", "description", "creator"}
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[BundleRow, ...] = ()
    count: int | None = None


def search(repo: Repository, keywords: list[str]) -> SearchResult:
    where, params = [], []
    limit, count, floating = DEFAULT_LIMIT, False, False
    for kw in keywords:
        if kw in (".floating", ".orphan", "orphan"):
            floating = True
        elif kw == ".count":
            count = True
        elif kw.startswith(".limit="):
            try:
                limit = int(kw.split("=", 1)[1])
            except ValueError:
                raise InputError(f"bad limit: '{kw}'") from None
        elif kw.startswith("."):
            raise InputError(f"unknown search keyword: '{kw}'")
        elif "=" in kw:
            key, value = kw.split("=", 1)
            if key not in FIELDS:
                raise InputError(f"unknown search field: '{key}'")
            column = "id" if key in ("id", "uuid") else key
            if column == "id":
                value = value.removeprefix("0x")
            values = value.split(",")
            clause = " OR ".join(f"{column} {'LIKE' if '%' in v else '='} ?" for v in values)
            where.append(f"({clause})")
            params += values
        else:
            where.append("(name LIKE ? OR id LIKE ?)")
            params += [f"%{kw}%", f"{kw.removeprefix('0x')}%"]
    if floating:
        ids = repo.index.floating()
        if not ids:
            return SearchResult((), 0) if count else SearchResult(())
        where.append(f"id IN ({','.join('?' * len(ids))})")
        params += sorted(ids)
    clause = " AND ".join(where) or "1"
    if count:
        return SearchResult(count=repo.index.count(clause, params))
    rows = repo.index.query(clause, params, order="created DESC, seq DESC", limit=limit)
    return SearchResult(tuple(reversed(rows)))
