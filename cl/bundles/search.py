"""`cl search`: CodaLab's bundle search language over the index.

    word              the name contains `word`, or the id starts with it
    name=foo%         a field equals a value; `%` is a wildcard; `a,b` means either
    kind=run  state=ready,failed  command=%train%  creator=me  description=…
    id=0x3f           (uuid=) the id starts with 0x3f
    tag=nlp           (tags=) one of the tags matches
    KEY=value         any other key is a metadata field (as `cl edit` sets it)
    dependency=SPEC   bundles that depend on SPEC;  dependency/KEY=SPEC  …under KEY
    host_worksheet=WS bundles on worksheet WS
    .floating         on no worksheet (`.orphan`, and CodaLab's bare `orphan`)
    .mine             created by the current user
    .before=DATE  .after=DATE   created before/after (2024-01-31 or 2024-01-31T12:00)
    FIELD=.sort  FIELD=.sort-   order by a field (ascending / descending)
    .last             newest first
    .limit=N  .offset=N         at most N results (default 10), skipping the first N
    .count            the number of matches
    FIELD=.sum        the sum of a numeric field over every match (e.g. data_size=.sum)

Without an ordering the result is the newest `.limit` matches, oldest first
(so the last line is the newest, as in `cl ls`)."""

import re
import time
from dataclasses import dataclass

from cl.bundles.spec_grammar import shown as _shown
from cl.errors import InputError
from cl.index.index import BundleRow
from cl.repo import Repository

COLUMNS = {"name": "name", "kind": "kind", "bundle_type": "kind", "state": "state", "command": "command",
           "description": "description", "creator": "creator", "owner": "creator", "user": "creator",
           "data_size": "data_size", "size": "data_size", "created": "created", "updated": "updated"}
NUMERIC = {"data_size", "created", "updated"}
FIELDS = set(COLUMNS) | {"id", "uuid", "tag", "tags", "dependency", "host_worksheet"}
DEFAULT_LIMIT = 10
MAX_INTEGER = 2**63 - 1  # SQLite's integers are 64-bit
MAX_LIKE = 10_000        # characters in a LIKE pattern (SQLite refuses past 50,000 bytes)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FLOATING = ("NOT EXISTS (SELECT 1 FROM ws_items i JOIN worksheets w ON w.wid = i.wid"
             " WHERE i.kind = 'bundle' AND i.value = bundles.id AND w.deleted = 0)")


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[BundleRow, ...] = ()
    count: int | None = None
    total: tuple[str, float] | None = None      # (field, sum) for FIELD=.sum


def _column(key: str) -> str:
    """The SQL expression of a field (a metadata key when not a column)."""
    if key in COLUMNS:
        return COLUMNS[key]
    if key in ("id", "uuid"):
        return "id"
    if not _KEY.match(key):
        raise InputError(f"bad search field: '{_shown(key)}'")
    return f"json_extract(metadata, '$.{key}')"


def _date(kw: str, value: str) -> int:
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            ns = int(time.mktime(time.strptime(value, fmt))) * 10**9
        except (ValueError, OverflowError):
            continue
        if -MAX_INTEGER - 1 <= ns <= MAX_INTEGER:
            return ns
    raise InputError(f"bad date in '{_shown(kw)}' (use 2024-01-31 or 2024-01-31T12:00, before 2262)")


def _number(kw: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_INTEGER:
        raise InputError(f"'{_shown(kw)}' needs a whole number below 2^63")
    return int(value)


def _integer(key: str, value: str) -> int:
    """A numeric field's value: a whole number SQLite can hold."""
    text = value.strip()
    digits = text.removeprefix("-").removeprefix("+")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 \
            or not -MAX_INTEGER - 1 <= int(text) <= MAX_INTEGER:
        raise InputError(f"'{_shown(key)}' needs a whole number below 2^63: '{_shown(value)}'")
    return int(text)


def _like(kw: str, pattern: str) -> str:
    """A LIKE pattern SQLite will take."""
    if len(pattern) > MAX_LIKE:
        raise InputError(f"search term longer than {MAX_LIKE:,} characters: '{_shown(kw)}'")
    return pattern


def _equals(column: str, values: list[str]) -> tuple[str, list]:
    parts = [f"{column} {'LIKE' if '%' in v else '='} ?" for v in values]
    return "(" + " OR ".join(parts) + ")", [_like(v, v) if "%" in v else v for v in values]


def search(repo: Repository, keywords: list[str]) -> SearchResult:
    where: list[str] = []
    params: list = []
    order: list[str] = []
    limit, offset, count, last, total = DEFAULT_LIMIT, 0, False, False, None
    for kw in keywords:
        try:
            kw.encode()
        except UnicodeEncodeError:
            raise InputError(f"search keyword is not valid UTF-8: '{_shown(kw)}'") from None
        if kw in (".floating", ".orphan", "orphan"):
            where.append(_FLOATING)
        elif kw == ".count":
            count = True
        elif kw == ".last":
            last = True
        elif kw == ".mine":
            where.append("creator = ?")
            params.append(repo.user())
        elif kw.startswith((".limit=", ".offset=")):
            key, _, value = kw.partition("=")
            if key == ".limit":
                limit = _number(kw, value)
            else:
                offset = _number(kw, value)
        elif kw.startswith((".before=", ".after=")):
            key, _, value = kw.partition("=")
            where.append("created < ?" if key == ".before" else "created >= ?")
            params.append(_date(kw, value))
        elif kw.startswith("."):
            raise InputError(f"unknown search keyword: '{_shown(kw)}' (see cl search --help)")
        elif "=" in kw:
            key, _, value = kw.partition("=")
            if value in (".sort", ".sort-"):
                order.append(f"{_column(key)} {'DESC' if value == '.sort-' else 'ASC'}")
            elif value == ".sum":
                total = key
                _column(key)
            else:
                clause, ps = _field(repo, key, value)
                where.append(clause)
                params += ps
        else:
            where.append("(name LIKE ? OR id LIKE ?)")
            params += [_like(kw, f"%{kw}%"), _like(kw, f"{kw.removeprefix('0x').lower()}%")]
    clause = " AND ".join(where) or "1"
    if count:
        return SearchResult(count=repo.index.count(clause, params))
    if total is not None:
        col = _column(total)
        rows = repo.index.query(clause, params)
        values = []
        for r in rows:
            v = r[col] if col in r else r.meta.get(total)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values.append(v)
        return SearchResult(total=(total, sum(values)))
    if order or last:
        order_sql = ", ".join(order + ["created DESC, seq DESC" if last or not order else "seq ASC"])
        rows = repo.index.query(clause, params, order=order_sql, limit=limit, offset=offset)
        return SearchResult(tuple(rows))
    rows = repo.index.query(clause, params, order="created DESC, seq DESC", limit=limit, offset=offset)
    return SearchResult(tuple(reversed(rows)))


def _field(repo: Repository, key: str, value: str) -> tuple[str, list]:
    values = value.split(",")
    if key.startswith("dependency"):
        from cl.bundles.specs import resolve_bundle
        dep_key = None
        if key.startswith("dependency/"):
            dep_key = key.split("/", 1)[1]
        elif key != "dependency":
            raise InputError(f"unknown search field: '{_shown(key)}'")
        parents = [str(resolve_bundle(repo, v)) for v in values]
        marks = ",".join("?" * len(parents))
        if dep_key is None:
            return f"id IN (SELECT child FROM deps WHERE parent IN ({marks}))", parents
        return f"id IN (SELECT child FROM deps WHERE key = ? AND parent IN ({marks}))", [dep_key, *parents]
    if key in ("host_worksheet", "worksheet"):
        from cl.bundles.specs import resolve_worksheet
        wids = [resolve_worksheet(repo, v) for v in values]
        marks = ",".join("?" * len(wids))
        return (f"id IN (SELECT value FROM ws_items WHERE kind = 'bundle' AND wid IN ({marks}))", wids)
    if key in ("id", "uuid"):
        return "(" + " OR ".join("id LIKE ?" for _ in values) + ")", \
            [_like(v, v.removeprefix("0x").lower().replace("%", "") + "%") for v in values]
    if key in ("tag", "tags"):
        return ("(" + " OR ".join("EXISTS (SELECT 1 FROM json_each(bundles.tags) t WHERE t.value LIKE ?)"
                                  for _ in values) + ")", [_like(v, v) for v in values])
    column = _column(key)
    if key in COLUMNS and COLUMNS[key] in NUMERIC:
        numbers = [_integer(key, v) for v in values]
        return _equals(column, [str(n) for n in numbers])[0], numbers
    return _equals(column, values)
