"""The bundle-spec grammar, parsed once into a value and printed back
(DESIGN §6).  Pure: no repository, no remote.

    spec     := [REMOTE "::"] [WORKSHEET "//"] base ["/" PATH]
    base     := "0x" HEX{4,64}                 an id or a unique prefix of one
              | NAME | PATTERN                 a name; with `%`, a SQL LIKE pattern
              | [NAME | PATTERN] "^" [N ["-" M]]
                                               the Nth (to Mth) last bundle on the
                                               worksheet, of that name if given

`print_spec(parse_spec(s)) == s` for every spec in canonical form (hex
digits lowercase, `^1` written `^`, `^N-N` written `^N`), and
`parse_spec(print_spec(v)) == v` for every value.  Resolving a value
against a repository or a remote is `cl.bundles.catalog`'s business.

Names follow `cl.bundles.names`: no whitespace, `/`, `:` or `^`, not `.`
or `..`, not starting with `0x`; a `%` makes the name a pattern, in which
`%` matches any run of characters and `_` any one character, letters in
their case -- SQLite's LIKE as the index runs it (`case_sensitive_like`),
and `like` below, which the remote view uses."""

import re

from cl.errors import SpecError
from cl.objects.value import Value, _set

MIN_PREFIX = 4
ID_DIGITS = 64
MAX_PATTERN = 1000     # a LIKE pattern longer than this is refused (SQLite caps them too)
MAX_POSITION = 10**9   # `^N` past this names nothing any worksheet holds

_HEX = frozenset("0123456789abcdefABCDEF")
_BAD_NAME = r"[\s/:^]"
_ORDER = r"(?P<name>[^^]*)\^(?:(?P<n>[0-9]+)(?:-(?P<m>[0-9]+))?)?\Z"


def shown(spec: str, limit: int = 80) -> str:
    """A spec as an error message quotes it: on one line (control and
    unencodable characters escaped), long ones cut short."""
    text = spec if len(spec) <= limit else spec[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _error(spec: str, problem: str) -> SpecError:
    return SpecError(shown(spec), problem)


# --- values --------------------------------------------------------------------


class IdPrefix(Value):
    """`0x` and 4 to 64 hex digits, kept lowercase."""

    __slots__ = ("hex",)

    def __init__(self, hex: str):
        _set(self, "hex", hex)


class Named(Value):
    """A bundle name, or a LIKE pattern when it holds `%`."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        _set(self, "name", name)

    @property
    def is_pattern(self) -> bool:
        return "%" in self.name


class Ordinal(Value):
    """`[name]^first[-last]`: positions counted back from the worksheet's
    end, 1 the last; `name` ('' for any) narrows to bundles of that name
    or pattern."""

    __slots__ = ("name", "first", "last")

    def __init__(self, name: str, first: int = 1, last: int | None = None):
        _set(self, "name", name)
        _set(self, "first", first)
        _set(self, "last", first if last is None else last)

    @property
    def is_range(self) -> bool:
        return self.last != self.first


Base = IdPrefix | Named | Ordinal


class BundleSpec(Value):
    """A parsed spec: which remote (None: the local repository), which
    worksheet (None: the current one; '' too, written `//name`), the base,
    and a path inside the bundle (None when the spec has no `/` after the
    base)."""

    __slots__ = ("remote", "worksheet", "base", "path")

    def __init__(self, base: Base, worksheet: str | None = None, remote: str | None = None,
                 path: str | None = None):
        _set(self, "remote", remote)
        _set(self, "worksheet", worksheet)
        _set(self, "base", base)
        _set(self, "path", path)


# --- printing ------------------------------------------------------------------


def print_base(base: Base) -> str:
    if isinstance(base, IdPrefix):
        return "0x" + base.hex
    if isinstance(base, Named):
        return base.name
    text = base.name + "^"
    if base.first != 1 or base.last != 1:
        text += str(base.first)
        if base.last != base.first:
            text += f"-{base.last}"
    return text


def print_spec(spec: BundleSpec) -> str:
    text = print_base(spec.base)
    if spec.worksheet is not None:
        text = spec.worksheet + "//" + text
    if spec.remote is not None:
        text = spec.remote + "::" + text
    if spec.path is not None:
        text += "/" + spec.path
    return text


# --- parsing -------------------------------------------------------------------


def split_remote(spec: str) -> tuple[str | None, str]:
    """`origin::ws//name` -> ("origin", "ws//name"); no `::` -> (None, spec).
    A `::` inside brackets (an IPv6 host in a URL) does not count."""
    at = spec.find("::")
    while at >= 0 and spec.count("[", 0, at) > spec.count("]", 0, at):
        at = spec.find("::", at + 1)
    if at < 0:
        return None, spec
    return spec[:at], spec[at + 2:]


def split_worksheet(rest: str) -> tuple[str | None, str]:
    """`ws//name/path` -> ("ws", "name/path"): a `//` before any single `/`
    (a `//` later is inside the path)."""
    before, sep, after = rest.partition("//")
    if sep and "/" not in before:
        return before, after
    return None, rest


def split_target(spec: str) -> tuple[str, str]:
    """`[remote::][ws//]name/sub/path` -> (`[remote::][ws//]name`, `sub/path`)."""
    remote, rest = split_remote(spec)
    ws, rest = split_worksheet(rest)
    head, _, path = rest.partition("/")
    prefix = (f"{remote}::" if remote is not None else "") + (f"{ws}//" if ws is not None else "")
    return prefix + head, path


def check_pattern_or_name(spec: str, name: str) -> None:
    if not name or re.search(_BAD_NAME, name) or name in (".", ".."):
        raise _error(spec, "malformed bundle spec")
    if name.startswith("0x"):
        raise _error(spec, "malformed bundle id (0x and hex digits)")
    if "%" in name and len(name) > MAX_PATTERN:
        raise _error(spec, f"pattern longer than {MAX_PATTERN} characters")


def _position(spec: str, digits: str | None) -> int | None:
    if digits is None:
        return None
    if len(digits) > 10 or int(digits) > MAX_POSITION:
        raise _error(spec, f"position past {MAX_POSITION}")
    return int(digits)


def parse_base(text: str, spec: str | None = None) -> Base:
    spec = text if spec is None else spec
    if not text:
        raise _error(spec, "empty bundle spec")
    if text.startswith("0x"):
        digits = text[2:]
        if not digits or not _HEX.issuperset(digits) or len(digits) > ID_DIGITS:
            raise _error(spec, "malformed bundle id (0x and hex digits)")
        if len(digits) < MIN_PREFIX:
            raise _error(spec, f"an id prefix needs at least {MIN_PREFIX} hex digits")
        return IdPrefix(digits.lower())
    if "^" in text:
        m = re.match(_ORDER, text)
        if not m:
            raise _error(spec, "malformed bundle spec")
        if m["name"]:
            check_pattern_or_name(spec, m["name"])
        first = _position(spec, m["n"])
        first = 1 if first is None else first
        last = _position(spec, m["m"])
        if first < 1 or (last is not None and last < first):
            raise _error(spec, "bad range")
        return Ordinal(m["name"], first, last)
    check_pattern_or_name(spec, text)
    return Named(text)


def check_text(spec: str, part: str | None = None) -> None:
    """Refuse text that is not UTF-8 (bytes a shell passed through as
    surrogates) and text on several lines: no remote, worksheet or bundle
    name holds them.  `part` is the piece checked, `spec` the whole one
    the error names."""
    part = spec if part is None else part
    if not part.isprintable():
        try:
            part.encode()
        except UnicodeEncodeError:
            raise _error(spec, "not valid UTF-8") from None
        if any(c in part for c in "\n\r\x00"):
            raise _error(spec, "malformed spec")


def parse_spec(spec: str) -> BundleSpec:
    """A bundle or target spec as a value; SpecError if malformed."""
    text = spec.strip()
    if not text:
        raise _error(spec, "empty bundle spec")
    remote, rest = split_remote(text)
    if remote is not None and not remote:
        raise _error(spec, "no remote before '::'")
    worksheet, rest = split_worksheet(rest)
    head, slash, path = rest.partition("/")
    # A path inside the bundle is a file name: any bytes but NUL (a name
    # that is not UTF-8 comes as surrogates, docs/format.md [F20]).
    check_text(text, text[:len(text) - len(path)] if slash else text)
    if "\x00" in path:
        raise _error(spec, "malformed spec")
    if worksheet is not None and not head:
        raise _error(spec, "no bundle named after the worksheet")
    return BundleSpec(parse_base(head, text), worksheet, remote, path if slash else None)


# --- LIKE, as SQLite does it ---------------------------------------------------


def _segment_at(segment: str, text: str, at: int) -> bool:
    """Does `segment` (with `_` for any one character) match `text` at `at`?"""
    if at + len(segment) > len(text):
        return False
    for i, c in enumerate(segment):
        t = text[at + i]
        if c != "_" and c != t:
            return False
    return True


def _find(segment: str, text: str, start: int) -> int:
    for at in range(start, len(text) - len(segment) + 1):
        if _segment_at(segment, text, at):
            return at
    return -1


def like(pattern: str, text: str) -> bool:
    """SQLite's `text LIKE pattern` with `case_sensitive_like` on, as the
    index has it (no ESCAPE): `%` any run, `_` any one character.  Greedy
    over the `%`-separated segments: no backtracking, so a long pattern
    costs at most its length times the text's."""
    segments = pattern.split("%")
    if len(segments) == 1:
        return len(text) == len(pattern) and _segment_at(pattern, text, 0)
    first, *middle, final = segments
    if not _segment_at(first, text, 0):
        return False
    at = len(first)
    for segment in middle:
        found = _find(segment, text, at)
        if found < 0:
            return False
        at = found + len(segment)
    return len(text) - len(final) >= at and _segment_at(final, text, len(text) - len(final))
