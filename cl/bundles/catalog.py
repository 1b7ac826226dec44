"""Resolving parsed specs (`cl.bundles.spec_grammar`) against a catalog:
the one place that says what a spec means, for the local repository
(`LocalCatalog`, over the index) and for a remote (`cl.sync.view.RemoteView`)
alike.

A catalog answers a few questions about live bundles and worksheets; the
rules are here:

* an id prefix names the one live bundle whose id starts with it;
* among several bundles of a name (or pattern) those on the worksheet win
  (the spec's worksheet, else the current one), then the newest;
* `^N-M` counts back from the worksheet's end, a bundle listed twice
  counting once, at its last place; a range reaching past the end is an
  error naming the range;
* a worksheet spec is `.` or empty (the current one), `/` (the home
  worksheet, as in CodaLab: config `worksheet.home` here, the worksheet a
  remote names as its current there), `0x` and a unique id prefix, a name
  or a `%` pattern (the most recently changed wins)."""

import itertools
from typing import Iterator, NamedTuple, Protocol

from cl.bundles.spec_grammar import (MAX_PATTERN, MIN_PREFIX, BundleSpec, IdPrefix, Named, Ordinal,
                                     check_text, like, parse_spec, print_base, shown)
from cl.errors import SpecError, did_you_mean

HOME = "/"  # the worksheet spec of the home worksheet (CodaLab's `-w /`)


class Candidate(NamedTuple):
    """A live bundle as spec resolution sees it."""
    id: str
    name: str
    created: int


class WorksheetRow(NamedTuple):
    wid: str
    name: str
    time: int


class Catalog(Protocol):
    """What resolving a spec needs to know.  Every answer is about live
    (not removed) bundles and worksheets."""

    where: str      # '' locally; " on remote 'origin'" -- appended to errors

    def current_worksheet(self) -> str | None:
        """The current worksheet's id (the remote's own for a remote)."""

    def home_worksheet(self) -> str | None:
        """The home worksheet's id (`/`, as in CodaLab), if there is one."""

    def worksheet_rows(self, name: str | None = None) -> list[WorksheetRow]:
        """Every live worksheet; or those of that name, or matching that
        LIKE pattern when it has `%`."""

    def with_prefix(self, prefix: str) -> list[Candidate]:
        """Bundles whose id starts with `prefix` (lowercase hex); a few are enough."""

    def named(self, name: str) -> list[Candidate]:
        """Bundles of that name, or matching that LIKE pattern when it has `%`."""

    def latest_on_worksheet(self, wid: str) -> Iterator[tuple[str, str]]:
        """(id, name) of the bundles a worksheet lists, last place first;
        a bundle listed twice comes twice."""

    def on_worksheet(self, wid: str, ids: list[str]) -> set[str]:
        """Those of `ids` that the worksheet lists."""

    def bundle_names(self) -> set[str]:
        """The names of every live bundle (asked only to suggest one after
        a miss)."""


# --- worksheets ----------------------------------------------------------------


def find_worksheet(cat: Catalog, spec: str) -> str | None:
    """A worksheet's id from `.`/'' (current), `/` (home, as in CodaLab),
    `0x` prefix, name or pattern; None when nothing matches (an ambiguous
    prefix is an error)."""
    if spec in (".", ""):
        return cat.current_worksheet()
    if spec == HOME:
        return cat.home_worksheet()
    check_text(spec)
    if spec.startswith("0x"):
        prefix = spec[2:].lower()
        hex_ok = prefix and all(c in "0123456789abcdef" for c in prefix)
        hits = [w for w in cat.worksheet_rows() if w.wid.startswith(prefix)] \
            if hex_ok and len(prefix) >= MIN_PREFIX else []
        if len(hits) > 1:
            raise SpecError(shown(spec), "ambiguous worksheet" + cat.where,
                            [f"{w.name}(0x{w.wid[:8]})" for w in sorted(hits, key=_changed)])
    elif "%" in spec and len(spec) > MAX_PATTERN:
        raise SpecError(shown(spec), f"pattern longer than {MAX_PATTERN} characters")
    else:
        hits = cat.worksheet_rows(spec)
    return max(hits, key=_changed).wid if hits else None


def _changed(w: WorksheetRow) -> tuple[int, str]:
    return w.time, w.wid


def resolve_worksheet(cat: Catalog, spec: str) -> str:
    """`find_worksheet`, with an error when nothing matches."""
    wid = find_worksheet(cat, spec)
    if wid is None:
        if spec in (".", ""):
            raise SpecError(spec, "there is no current worksheet" + cat.where)
        if spec == HOME:
            raise SpecError(spec, "there is no home worksheet" + cat.where,
                            hint=None if cat.where else "name one with 'cl config worksheet.home NAME'")
        hint = None if "%" in spec or spec.startswith("0x") else \
            did_you_mean(spec, [w.name for w in cat.worksheet_rows()])
        raise SpecError(shown(spec), f"no worksheet{cat.where} matches", hint=hint)
    return wid


# --- bundles -------------------------------------------------------------------


def _distinct(pairs: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Each bundle once, at its first (that is, last on the worksheet) place."""
    seen: set[str] = set()
    for bid, name in pairs:
        if bid not in seen:
            seen.add(bid)
            yield bid, name


def ordinal(cat: Catalog, spec: str, base: Ordinal, wid: str | None) -> list[str]:
    """The ids `[name]^N[-M]` picks from `cat.latest_on_worksheet(wid)`."""
    candidates = _distinct(cat.latest_on_worksheet(wid)) if wid else iter(())
    if base.name:
        pattern = base.name
        candidates = ((b, n) for b, n in candidates
                      if (like(pattern, n) if "%" in pattern else n == pattern))
    picked = [bid for bid, _ in itertools.islice(candidates, base.first - 1, base.last)]
    if not picked:
        raise SpecError(shown(spec), f"no bundle on the worksheet{cat.where} matches")
    if len(picked) < base.last - base.first + 1:
        have = base.first - 1 + len(picked)
        raise SpecError(shown(spec), f"the range {print_base(base)} goes past the end of the worksheet"
                        f"{cat.where}, which has {have} matching bundle{'s' if have != 1 else ''}")
    return picked


def _newest(cat: Catalog, hits: list[Candidate], wid: str | None) -> str:
    if len(hits) == 1:
        return hits[0].id
    on_ws = cat.on_worksheet(wid, [h.id for h in hits]) if wid else set()
    preferred = [h for h in hits if h.id in on_ws] or hits
    return max(preferred, key=lambda h: (h.created, h.id)).id


def resolve(cat: Catalog, spec: BundleSpec, text: str, worksheet: str | None = None) -> list[str]:
    """The ids (several only for a range) a parsed spec names in `cat`.
    `worksheet` is the worksheet to prefer when the spec names none (the
    catalog's current one when None too); `text` is the spec as typed, for
    errors."""
    wid = resolve_worksheet(cat, spec.worksheet) if spec.worksheet is not None else \
        (worksheet if worksheet is not None else cat.current_worksheet())
    base = spec.base
    if isinstance(base, IdPrefix):
        hits = cat.with_prefix(base.hex)
        if not hits:
            raise SpecError(shown(text), f"no bundle{cat.where} matches")
        if len(hits) > 1:
            raise SpecError(shown(text), "ambiguous id prefix" + cat.where,
                            [f"0x{h.id[:12]}({h.name})" for h in hits[:10]])
        return [hits[0].id]
    if isinstance(base, Ordinal):
        return ordinal(cat, text, base, wid)
    assert isinstance(base, Named)
    hits = cat.named(base.name)
    if not hits:
        hint = _worksheet_hint(cat, spec) or \
            (None if "%" in base.name else did_you_mean(base.name, cat.bundle_names()))
        raise SpecError(shown(text), f"no bundle{cat.where} matches", hint=hint)
    return [_newest(cat, hits, wid)]


def _worksheet_hint(cat: Catalog, spec: BundleSpec) -> str | None:
    """For `WS/NAME` where WS names a worksheet: how to say a bundle on it.
    `WS/NAME` is bundle WS, path NAME, as in CodaLab's target specs; only
    `WS//NAME` names bundle NAME on worksheet WS."""
    base = spec.base
    if spec.worksheet is not None or not spec.path or not isinstance(base, Named) or "%" in base.name:
        return None
    if not cat.worksheet_rows(base.name):
        return None
    return (f"'{base.name}' is a worksheet: bundle '{spec.path}' on it is "
            f"'{base.name}//{spec.path}' ('WS/NAME' is the path NAME inside bundle WS)")


def resolve_text(cat: Catalog, text: str, worksheet: str | None = None) -> list[str]:
    """Parse and resolve a spec with no remote part and no path."""
    spec = parse_spec(text)
    if spec.remote is not None:
        raise SpecError(shown(text), "remote specs are read by the sync commands; "
                        "this command works on the local repository")
    if spec.path is not None:
        raise SpecError(shown(text), "malformed bundle spec", hint=_worksheet_hint(cat, spec))
    return resolve(cat, spec, text, worksheet)


# --- the local repository --------------------------------------------------------


class LocalCatalog:
    """A repository's index as a catalog."""

    where = ""

    def __init__(self, repo):
        self.repo = repo

    def current_worksheet(self) -> str | None:
        return self.repo.current_worksheet()

    def home_worksheet(self) -> str | None:
        """The worksheet config `worksheet.home` names (cl init sets it to
        the worksheet it makes)."""
        spec = self.repo.config.get("worksheet", "home")
        return find_worksheet(self, spec) if spec and spec != HOME else None

    def worksheet_rows(self, name: str | None = None) -> list[WorksheetRow]:
        return [WorksheetRow(w["wid"], w["name"], w["time"])
                for w in self.repo.index.worksheets(name, pattern=name is not None and "%" in name)]

    def with_prefix(self, prefix: str) -> list[Candidate]:
        return [Candidate(r.id, r.name, r.created) for r in self.repo.index.by_prefix(prefix)]

    def named(self, name: str) -> list[Candidate]:
        return [Candidate(r.id, r.name, r.created)
                for r in self.repo.index.by_name(name, pattern="%" in name)]

    def bundle_names(self) -> set[str]:
        return self.repo.index.bundle_names()

    def latest_on_worksheet(self, wid: str) -> Iterator[tuple[str, str]]:
        from cl.index.specs import latest_live_on_worksheet
        return latest_live_on_worksheet(self.repo.index.db, wid)

    def on_worksheet(self, wid: str, ids: list[str]) -> set[str]:
        return self.repo.index.on_worksheet(wid, ids)
