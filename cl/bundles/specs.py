"""Bundle and worksheet specs, as the CodaLab CLI reads them (DESIGN §6).

    0x3739…            an id or a unique prefix of at least 4 hex digits
    sort-run           a name;  foo%  a SQL LIKE pattern on names
    ^  ^3  foo^  foo^2 the last, third-last, last named foo … on the worksheet
    ^1-5               a range (several bundles)
    ws//spec           the same, resolved on worksheet `ws`
    spec/sub/path      a target: a path inside the bundle

Among several matches of a name the current worksheet's bundles win, then
the newest.  An id prefix matching several bundles is ambiguous."""

import itertools
import re
from typing import Iterator

from cl.errors import SpecError
from cl.objects.ids import ObjectId
from cl.objects.value import Value, _set
from cl.repo import Repository

# Patterns as text: re compiles one the first time a spec needs it, so
# commands that resolve no spec (`cl ls`) never pay for compiling them.
_ORDER = r"(?P<name>[^^]*)\^(?P<n>\d+)?(?:-(?P<m>\d+))?\Z"
_NAME = r"[^\s/]+\Z"
_HEX_DIGITS = "0123456789abcdefABCDEF"
MIN_PREFIX = 4


class Target(Value):
    """A bundle and a path inside it ('' for the whole bundle)."""

    __slots__ = ("bundle", "path")

    def __init__(self, bundle: ObjectId, path: str = ""):
        _set(self, "bundle", bundle)
        _set(self, "path", path)

    @property
    def display(self) -> str:
        return self.bundle.display + (f"/{self.path}" if self.path else "")


def _id_prefix(spec: str) -> str | None:
    """The hex digits of an `0x…` spec, lowercased (perhaps none); None if
    the spec is not `0x` and hex digits."""
    if spec.startswith("0x") and not spec[2:].strip(_HEX_DIGITS):
        return spec[2:].lower()
    return None


# --- worksheets -------------------------------------------------------------


def resolve_worksheet(repo: Repository, spec: str) -> str:
    """A worksheet by name, `%` pattern, or id prefix (0x…); `.` is the current one."""
    if spec in (".", ""):
        wid = repo.current_worksheet()
        if wid is None:
            raise SpecError(spec, "there is no current worksheet")
        return wid
    prefix = _id_prefix(spec)
    if prefix is not None:
        rows = [w for w in repo.index.worksheets() if w["wid"].startswith(prefix)] if len(prefix) >= MIN_PREFIX else []
    else:
        rows = repo.index.worksheets(spec, pattern="%" in spec)
    if not rows:
        raise SpecError(spec, "no worksheet matches")
    if len(rows) > 1 and prefix is not None:
        raise SpecError(spec, "ambiguous worksheet", [f"{w['name']}(0x{w['wid'][:8]})" for w in rows])
    return rows[-1]["wid"]


# --- bundles ----------------------------------------------------------------


def split_target(spec: str) -> tuple[str, str]:
    """`ws//name/sub/path` -> (`ws//name`, `sub/path`)."""
    ws = ""
    rest = spec
    if _qualified(spec):
        ws, rest = spec.split("//", 1)
        ws += "//"
    head, _, path = rest.partition("/")
    return ws + head, path


def _qualified(spec: str) -> bool:
    """`ws//…`: a `//` before any single `/` (a `//` later is inside the path)."""
    before, sep, _ = spec.partition("//")
    return bool(sep) and "/" not in before


def _latest(repo: Repository, wid: str | None) -> Iterator[tuple[str, str]]:
    """(id, name) of the indexed bundles on a worksheet, last first, each
    once, at its last place."""
    seen: set[str] = set()
    for bid, name in repo.index.latest_on_worksheet(wid) if wid else ():
        if bid not in seen:
            seen.add(bid)
            yield bid, name


def _order(repo, spec, m, wid) -> list[ObjectId]:
    """`^N`, `^N-M`, `name^N`: counting back from the worksheet's end."""
    name = m["name"]
    first = int(m["n"] or 1)
    last = int(m["m"]) if m["m"] else first
    if first < 1 or last < first:
        raise SpecError(spec, "bad range")
    candidates = _latest(repo, wid)
    if name:
        like = "%" in name
        pattern = re.compile("^" + ".*".join(map(re.escape, name.split("%"))) + "$") if like else None
        candidates = ((bid, n) for bid, n in candidates if (pattern.match(n) if like else n == name))
    picked = [ObjectId(bid) for bid, _ in itertools.islice(candidates, first - 1, last)]
    if not picked:
        raise SpecError(spec, "no bundle on the worksheet matches")
    return picked


def resolve_bundles(repo: Repository, spec: str, worksheet: str | None = None) -> list[ObjectId]:
    """Every bundle a spec names (several only for ranges like `^1-5`)."""
    spec = spec.strip()
    if not spec:
        raise SpecError(spec, "empty bundle spec")
    wid = worksheet if worksheet is not None else repo.current_worksheet()
    if _qualified(spec):
        ws_spec, spec = spec.split("//", 1)
        wid = resolve_worksheet(repo, ws_spec)
        if not spec:
            raise SpecError(ws_spec + "//", "no bundle named after the worksheet")
    if "::" in spec:
        raise SpecError(spec, "remote specs are read by the sync commands; this command works on the local repository")
    prefix = _id_prefix(spec)
    if prefix is None and spec.startswith("0x"):
        # No name starts with 0x (names.check_name), so this was meant as an id.
        raise SpecError(spec, "malformed bundle id (0x and hex digits)")
    if prefix is not None:
        if len(prefix) < MIN_PREFIX:
            raise SpecError(spec, f"an id prefix needs at least {MIN_PREFIX} hex digits")
        rows = repo.index.by_prefix(prefix)
        if not rows:
            raise SpecError(spec, "no bundle matches")
        if len(rows) > 1:
            raise SpecError(spec, "ambiguous id prefix", [f"0x{r.id[:12]}({r.name})" for r in rows[:10]])
        return [ObjectId(rows[0].id)]
    m = re.match(_ORDER, spec) if "^" in spec else None
    if m:
        return _order(repo, spec, m, wid)
    if not re.match(_NAME, spec):
        raise SpecError(spec, "malformed bundle spec")
    rows = repo.index.by_name(spec, pattern="%" in spec)
    if not rows:
        raise SpecError(spec, "no bundle matches")
    if len(rows) == 1:
        return [ObjectId(rows[0].id)]
    on_ws = repo.index.on_worksheet(wid, [r.id for r in rows]) if wid else set()
    preferred = [r for r in rows if r.id in on_ws] or rows
    return [ObjectId(max(preferred, key=lambda r: (r.created, r.seq)).id)]


def resolve_bundle(repo: Repository, spec: str, worksheet: str | None = None) -> ObjectId:
    ids = resolve_bundles(repo, spec, worksheet)
    if len(ids) != 1:
        raise SpecError(spec, "names several bundles where one is needed")
    return ids[0]


def resolve_target(repo: Repository, spec: str, worksheet: str | None = None) -> Target:
    """`bundle/sub/path` -> Target.  A path that would leave the bundle is
    refused (PathEscape)."""
    from cl.objects.trees import split_path  # not at the top: `cl ls` needs no trees
    bundle_spec, path = split_target(spec)
    bid = resolve_bundle(repo, bundle_spec, worksheet)
    return Target(bid, "/".join(split_path(path)))


def expand(repo: Repository, specs, worksheet: str | None = None) -> list[ObjectId]:
    """Resolve several specs (ranges included), keeping order, each once."""
    out: dict[ObjectId, None] = {}
    for spec in specs:
        for bid in resolve_bundles(repo, spec, worksheet):
            out[bid] = None
    return list(out)
