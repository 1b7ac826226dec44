"""The worksheet search language of `cl wls` and `% wsearch`, as
CodaLab's `wls`:

    word          the name or title contains `word` (any case), or the id
                  starts with it (`0x…`, a full id too)
    name=foo%     the name equals (`%` or `.*` wildcards; comma lists mean "any of")
    title=…  author=… (owner=)  tag=…
    uuid=0x…      the id is exactly this (`uuid=0x3f.*`: starts with 0x3f)
    id=0x…        the id starts with this
    bundle=SPEC   worksheets holding that bundle
    FIELD=.sort  FIELD=.sort-   order by name, title, author, uuid, or id
                  (id: by last change)
    .last         newest first (by last change)
    .limit=N      at most N results;  .offset=N  skip the first N
    .count        the number of matches instead

This module parses; the SQL is cl.index.worksheets'."""

from dataclasses import dataclass
from typing import Callable

from cl.bundles.spec_grammar import shown
from cl.errors import InputError
from cl.index import worksheets as wsindex
from cl.index.worksheets import WsCondition
from cl.repo import Repository

FIELDS = ("name", "title", "tag", "tags", "author", "owner", "id", "uuid", "bundle")


@dataclass(frozen=True)
class WorksheetResult:
    rows: tuple[dict, ...] = ()
    count: int | None = None


def _hex(value: str) -> str:
    return value.removeprefix("0x").lower()


def _condition(repo: Repository, key: str, values: list[str]) -> WsCondition:
    if key in ("name", "title"):
        return WsCondition(key, tuple(values))
    if key in ("author", "owner"):
        return WsCondition("author", tuple(values))
    if key == "uuid":
        return WsCondition("uuid", tuple(_hex(v) for v in values))
    if key == "id":
        return WsCondition("id", tuple(_hex(v).replace("%", "") + "%" for v in values))
    if key in ("tag", "tags"):
        return WsCondition("tag", tuple(values))
    from cl.bundles.specs import resolve_bundle
    return WsCondition("bundle", tuple(str(resolve_bundle(repo, v)) for v in values))


def search_worksheets(repo: Repository, keywords: list[str],
                      visible: Callable[[str], bool] | None = None) -> WorksheetResult:
    """`visible(wid)`: whether the asker may see a worksheet (a server's
    reader); the others are left out before `.limit`, `.offset` and
    `.count` apply."""
    conditions: list[WsCondition] = []
    orders: list[tuple[str, bool]] = []
    newest_first, limit, offset, count = False, None, 0, False
    for kw in keywords:
        try:
            kw.encode()
        except UnicodeEncodeError:
            raise InputError(f"search keyword is not valid UTF-8: '{shown(kw)}'") from None
        kw = kw.replace(".*", "%")  # CodaLab's other spelling of the wildcard
        if kw == ".last":
            newest_first = True
        elif kw == ".count":
            count = True
        elif kw.startswith((".limit=", ".offset=")):
            key, _, value = kw.partition("=")
            if not (value.isascii() and value.isdigit()) or len(value) > 18:
                raise InputError(f"'{key}' needs a number: '{shown(kw)}'")
            if key == ".limit":
                limit = int(value)
            else:
                offset = int(value)
        elif kw.startswith("."):
            raise InputError(f"unknown worksheet search keyword: '{shown(kw)}' "
                             "(.last, .limit=N, .offset=N, .count)")
        elif "=" in kw:
            key, _, value = kw.partition("=")
            if key not in FIELDS:
                raise InputError(f"unknown worksheet search field: '{shown(key)}' "
                                 f"(one of: {', '.join(FIELDS)})")
            if value in (".sort", ".sort-"):
                if key not in wsindex.SORTS:
                    raise InputError(f"cannot sort worksheets by '{shown(key)}' "
                                     f"(one of: {', '.join(wsindex.SORTS)})")
                orders.append((key, value == ".sort-"))
            else:
                conditions.append(_condition(repo, key, value.split(",")))
        else:
            conditions.append(WsCondition("word", (f"%{kw.lower()}%", _hex(kw).replace("%", "") + "%")))
    if visible is not None:  # worksheets are few: filter them all, then take the page
        rows = [r for r in wsindex.query(repo.db, conditions, orders, newest_first=newest_first)
                if visible(r["wid"])]
        if count:
            return WorksheetResult(count=len(rows))
        return WorksheetResult(tuple(rows[offset:None if limit is None else offset + limit]))
    if count:
        return WorksheetResult(count=wsindex.count(repo.db, conditions))
    rows = wsindex.query(repo.db, conditions, orders, newest_first=newest_first, limit=limit, offset=offset)
    return WorksheetResult(tuple(rows))
