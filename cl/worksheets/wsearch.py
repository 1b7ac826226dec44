"""The worksheet search language of `cl wls` and `% wsearch`:

    word          the name or title contains `word` (any case)
    name=foo%     the name equals (`%` wildcards; comma lists mean "any of")
    title=…  tag=…  author=…  id=0x…
    bundle=SPEC   worksheets holding that bundle
    .last         newest first (by last change)
    .limit=N      at most N results;  .offset=N  skip the first N
    .count        the number of matches instead"""

from dataclasses import dataclass

from cl.errors import InputError
from cl.index import worksheets as wsindex
from cl.repo import Repository

FIELDS = ("name", "title", "tag", "tags", "author", "owner", "id", "uuid", "bundle")


@dataclass(frozen=True)
class WorksheetResult:
    rows: tuple[dict, ...] = ()
    count: int | None = None


def _any_of(column: str, values: list[str]) -> tuple[str, list]:
    parts = [f"{column} {'LIKE' if '%' in v else '='} ?" for v in values]
    return " OR ".join(parts), values


def search_worksheets(repo: Repository, keywords: list[str]) -> WorksheetResult:
    where: list[str] = []
    params: list = []
    newest_first, limit, offset, count = False, None, 0, False
    for kw in keywords:
        if kw == ".last":
            newest_first = True
        elif kw == ".count":
            count = True
        elif kw.startswith((".limit=", ".offset=")):
            key, _, value = kw.partition("=")
            if not value.isdigit():
                raise InputError(f"'{key}' needs a number: '{kw}'")
            if key == ".limit":
                limit = int(value)
            else:
                offset = int(value)
        elif kw.startswith("."):
            raise InputError(f"unknown worksheet search keyword: '{kw}' (.last, .limit=N, .offset=N, .count)")
        elif "=" in kw:
            key, _, value = kw.partition("=")
            if key not in FIELDS:
                raise InputError(f"unknown worksheet search field: '{key}' (one of: {', '.join(FIELDS)})")
            values = [v for v in value.split(",")]
            if key in ("name", "title"):
                clause, ps = _any_of(f"w.{key}", values)
            elif key in ("author", "owner"):
                clause, ps = _any_of("w.author", values)
            elif key in ("id", "uuid"):
                clause = " OR ".join("w.wid LIKE ?" for _ in values)
                ps = [v.removeprefix("0x").lower() + "%" for v in values]
            elif key in ("tag", "tags"):
                clause = " OR ".join(wsindex.tag_clause() for _ in values)
                ps = values
            else:
                from cl.bundles.specs import resolve_bundle
                clause = " OR ".join(wsindex.holding_bundle_clause() for _ in values)
                ps = [resolve_bundle(repo, v) for v in values]
            where.append(clause)
            params += ps
        else:
            where.append("lower(w.name) LIKE ? OR lower(w.title) LIKE ?")
            params += [f"%{kw.lower()}%"] * 2
    if count:
        return WorksheetResult(count=wsindex.count(repo.db, where, params))
    rows = wsindex.query(repo.db, where, params, newest_first=newest_first, limit=limit, offset=offset)
    return WorksheetResult(tuple(rows))
