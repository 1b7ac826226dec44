"""`cl search`: CodaLab's bundle search language over the index.

    word              the name contains `word`, or the id starts with it
    name=foo%         a field equals a value; `%` (or `.*`) is a wildcard;
                      `a,b` means either
    kind=run  state=ready,failed  command=%train%  creator=me  description=…
    uuid=0x3f…        the id is exactly this (`uuid=0x3f.*`: starts with 0x3f)
    id=0x3f           the id starts with 0x3f (cl's ids are what `cl ls` shows)
    tag=nlp           (tags=) one of the tags matches
    KEY=value         any other key is a metadata field (as `cl edit` sets it)
    dependency=SPEC   bundles that depend on SPEC;  dependency/KEY=SPEC  …under KEY
    host_worksheet=WS bundles on worksheet WS
    .floating         on no worksheet (`.orphan`, and CodaLab's bare `orphan`)
    .mine             created by the current user
    .before=TIME  .after=TIME   created at or before / at or after an ISO 8601
                      time (2024-01-31, 2024-01-31T12:00:00.5, …Z, …+02:00);
                      without a zone, local time
    FIELD=.sort  FIELD=.sort-   order by a field (ascending / descending);
                      `id` orders by creation, as CodaLab's `id` does
    .last             newest first (id=.sort-)
    .limit=N  .offset=N         at most N results (default 10), skipping the first N
    .count            the number of matches
    FIELD=.sum        the sum of a numeric field over every match (e.g. size=.sum)
    .format=F         show a .count or .sum through post-processor F (`size`,
                      `%.2f`, … as in worksheet markup)

Without an ordering the result is the newest `.limit` matches, oldest first
(so the last line is the newest, as in `cl ls`)."""

from dataclasses import dataclass
from typing import Callable

from cl.bundles import postproc
from cl.bundles.spec_grammar import shown as _shown
from cl.errors import InputError
from cl.index.index import BundleRow
from cl.index.search import COLUMNS, NUMERIC, Condition, column, order_by, where
from cl.repo import Repository

FIELDS = set(COLUMNS) | {"id", "uuid", "tag", "tags", "dependency", "host_worksheet"}
DEFAULT_LIMIT = 10
MAX_INTEGER = 2**63 - 1  # SQLite's integers are 64-bit
MAX_LIKE = 10_000        # characters in a LIKE pattern (SQLite refuses past 50,000 bytes)


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[BundleRow, ...] = ()
    count: int | None = None
    total: tuple[str, float] | None = None      # (field, sum) for FIELD=.sum
    format: tuple = ()                          # .format=F, parsed (cl.bundles.postproc)

    @property
    def aggregate(self) -> str | None:
        """A `.count` or `.sum` result as text, through `.format=` if given;
        None for a list of bundles."""
        if self.count is not None:
            value = self.count
        elif self.total is not None:
            value = self.total[1]
        else:
            return None
        if self.format:
            return str(postproc.apply(self.format, value))
        return str(value) if isinstance(value, int) else f"{value:g}"


def _date(kw: str, value: str) -> int:
    """An ISO 8601 time (fractions and zones allowed; local time without a
    zone) as nanoseconds since the epoch."""
    from datetime import datetime, timedelta, timezone
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            when = when.astimezone()
        ns = (when - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000
    except (ValueError, OverflowError, OSError):
        ns = None
    if ns is None or not -MAX_INTEGER - 1 <= ns <= MAX_INTEGER:
        raise InputError(f"bad date in '{_shown(kw)}' (an ISO 8601 time like 2024-01-31, "
                         "2024-01-31T12:00:00.5 or 2024-01-31T12:00Z, before 2262)")
    return ns


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


def search(repo: Repository, keywords: list[str],
           visible: Callable[[str], bool] | None = None) -> SearchResult:
    """`visible(bundle id)`: whether the asker may see a bundle (a
    server's reader); the others are left out before `.limit`, `.offset`,
    `.count` and `.sum` apply, as if they were not there."""
    conditions: list[Condition] = []
    orders: list[tuple[str, bool]] = []
    limit, offset, count, last, total, fmt = DEFAULT_LIMIT, 0, False, False, None, ()
    for kw in keywords:
        try:
            kw.encode()
        except UnicodeEncodeError:
            raise InputError(f"search keyword is not valid UTF-8: '{_shown(kw)}'") from None
        if kw.startswith(".format="):
            fmt = postproc.parse(kw.partition("=")[2])
            continue
        kw = kw.replace(".*", "%")  # CodaLab's other spelling of the wildcard
        if kw in (".floating", ".orphan", "orphan"):
            conditions.append(Condition("floating"))
        elif kw == ".count":
            count = True
        elif kw == ".last":
            last = True
        elif kw == ".mine":
            conditions.append(Condition("creator", None, (repo.user(),)))
        elif kw.startswith((".limit=", ".offset=")):
            key, _, value = kw.partition("=")
            if key == ".limit":
                limit = _number(kw, value)
            else:
                offset = _number(kw, value)
        elif kw.startswith((".before=", ".after=")):
            key, _, value = kw.partition("=")
            conditions.append(Condition(key[1:], None, (_date(kw, value),)))
        elif kw.startswith("."):
            raise InputError(f"unknown search keyword: '{_shown(kw)}' (see cl search --help)")
        elif "=" in kw:
            key, _, value = kw.partition("=")
            if value in (".sort", ".sort-"):
                column(key)
                orders.append((key, value == ".sort-"))
            elif value == ".sum":
                total = key
                column(key)
            else:
                conditions.append(_field(repo, key, value))
        else:
            conditions.append(Condition("word", None, (_like(kw, f"%{kw}%"),
                                                       _like(kw, f"{kw.removeprefix('0x').lower()}%"))))
    clause, params = where(conditions)
    if count:
        if visible is None:
            return SearchResult(count=repo.index.count(clause, params), format=fmt)
        return SearchResult(count=sum(1 for r in repo.index.query(clause, params) if visible(r.id)),
                            format=fmt)
    if total is not None:
        col = column(total)
        rows = [r for r in repo.index.query(clause, params) if visible is None or visible(r.id)]
        values = []
        for r in rows:
            v = r[col] if col in r else r.meta.get(total)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values.append(v)
        return SearchResult(total=(total, sum(values)), format=fmt)
    if orders or last:
        rows = _page(repo, clause, params, order_by(orders, last), limit, offset, visible)
        return SearchResult(tuple(rows))
    rows = _page(repo, clause, params, order_by([], True), limit, offset, visible)
    return SearchResult(tuple(reversed(rows)))


def _page(repo: Repository, clause: str, params, order: str, limit: int, offset: int,
          visible: Callable[[str], bool] | None) -> list[BundleRow]:
    """Rows `offset` to `offset + limit` in `order` among those `visible`
    lets through, read from the index in growing batches."""
    if visible is None:
        return repo.index.query(clause, params, order=order, limit=limit, offset=offset)
    found: list[BundleRow] = []
    skip, at, batch = offset, 0, max(2 * (limit + offset), 100)
    while len(found) < limit:
        rows = repo.index.query(clause, params, order=order, limit=batch, offset=at)
        for r in rows:
            if not visible(r.id):
                continue
            if skip:
                skip -= 1
            elif len(found) < limit:
                found.append(r)
        if len(rows) < batch:
            break
        at += batch
        batch *= 2
    return found


def _field(repo: Repository, key: str, value: str) -> Condition:
    values = value.split(",")
    if key.startswith("dependency"):
        from cl.bundles.specs import resolve_bundle
        dep_key = None
        if key.startswith("dependency/"):
            dep_key = key.split("/", 1)[1]
        elif key != "dependency":
            raise InputError(f"unknown search field: '{_shown(key)}'")
        return Condition("dependency", dep_key, tuple(str(resolve_bundle(repo, v)) for v in values))
    if key in ("host_worksheet", "worksheet"):
        from cl.bundles.specs import resolve_worksheet
        return Condition("worksheet", None, tuple(resolve_worksheet(repo, v) for v in values))
    if key == "uuid":  # exact, unless a wildcard says otherwise
        return Condition("uuid", None, tuple(_like(v, v.removeprefix("0x").lower()) for v in values))
    if key == "id":
        return Condition("id", None, tuple(_like(v, v.removeprefix("0x").lower().replace("%", "") + "%")
                                           for v in values))
    if key in ("tag", "tags"):
        return Condition("tag", None, tuple(_like(v, v) for v in values))
    column(key)
    if key in COLUMNS and COLUMNS[key] in NUMERIC:
        return Condition("field", key, tuple(_integer(key, v) for v in values))
    return Condition("field", key, tuple(_like(v, v) if "%" in v else v for v in values))
