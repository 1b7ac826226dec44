"""Post-processors: how a genpath's value is formatted for display.

A post-processor is a chain of primitives separated by " | " (spaces
around the bar matter, as in CodaLab):

    duration      seconds -> 1m30s          size     bytes -> 1.5k
    date          seconds since the epoch -> 2024-01-31 12:00:00 (local time)
    %.3f  %d  %s  printf-style formatting (numbers parsed from text first)
    s/OLD/NEW/    regular-expression substitution (the last / may be left out)
    [A:B]         a substring, Python slice bounds (either may be empty)

Parsing (`parse`) is pure and checks the syntax; `apply` never raises: a
value that cannot be formatted is shown unchanged."""

import re
import time
from dataclasses import dataclass

from cl.errors import InputError

_SLICE = re.compile(r"\[(-?\d*):(-?\d*)\]\Z")
_CONVERSION = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?([sdifeEgGxXo]))")


@dataclass(frozen=True)
class Step:
    kind: str            # duration, size, date, printf, sub, slice
    args: tuple = ()


def parse(text: str) -> tuple[Step, ...]:
    """Parse a chain; raises InputError naming the bad primitive."""
    if text is None or text.strip() == "":
        return ()
    return tuple(_parse_one(part.strip()) for part in text.split(" | "))


def _parse_one(part: str) -> Step:
    if part in ("duration", "size", "date"):
        return Step(part)
    if part.startswith("%"):
        kinds = [m[1] for m in _CONVERSION.finditer(part) if m[1]]
        if len(kinds) != 1 or "%" in _CONVERSION.sub("", part):
            raise InputError(f"bad format in post-processor: '{part}'")
        return Step("printf", (part, kinds[0]))
    if part.startswith("s/"):
        pieces = _split_sub(part[2:])
        if pieces is None:
            raise InputError(f"bad substitution (s/OLD/NEW/): '{part}'")
        old, new = pieces
        try:
            re.compile(old)
        except re.error as exc:
            raise InputError(f"bad regular expression in '{part}': {exc}") from None
        return Step("sub", (old, new))
    m = _SLICE.match(part)
    if m:
        a = int(m[1]) if m[1] else None
        b = int(m[2]) if m[2] else None
        return Step("slice", (a, b))
    raise InputError(f"unknown post-processor: '{part}'")


def _split_sub(rest: str) -> tuple[str, str] | None:
    """`OLD/NEW/` or `OLD/NEW` with `\\/` escaping a slash."""
    parts, cur, i = [], [], 0
    while i < len(rest):
        c = rest[i]
        if c == "\\" and i + 1 < len(rest) and rest[i + 1] == "/":
            cur.append("/")
            i += 2
            continue
        if c == "/":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    if len(parts) == 3 and parts[2] == "":
        parts = parts[:2]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def apply(steps: tuple[Step, ...], value):
    for step in steps:
        if value is None:
            return None
        value = _apply_one(step, value)
    return value


def _number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        text = str(value).strip()
        return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)
    except ValueError:
        return None


def _apply_one(step: Step, value):
    if step.kind == "duration":
        n = _number(value)
        return value if n is None else duration(n)
    if step.kind == "size":
        n = _number(value)
        return value if n is None else size(n)
    if step.kind == "date":
        n = _number(value)
        return value if n is None else date(n)
    if step.kind == "printf":
        fmt, kind = step.args
        if kind in "difeEgGxXo":
            n = _number(value)
            if n is None:
                return value
            if kind in "dixXo":
                n = int(n)
            try:
                return fmt % n
            except (TypeError, ValueError):
                return value
        try:
            return fmt % (value,)
        except (TypeError, ValueError):
            return value
    if step.kind == "sub":
        old, new = step.args
        try:
            return re.sub(old, new, str(value))
        except re.error:
            return value
    if step.kind == "slice":
        a, b = step.args
        return str(value)[a:b]
    raise AssertionError(step.kind)


def duration(seconds: float) -> str:
    """CodaLab's duration: 4.2s, 3m5s, 2h10m, 3d4h, 1y20d."""
    if seconds < 0:
        return "-" + duration(-seconds)
    m = int(seconds / 60)
    if m == 0:
        return f"{seconds:.1f}s"
    s = seconds - m * 60
    h = m // 60
    if h == 0:
        return f"{m}m{int(s)}s"
    m -= h * 60
    d = h // 24
    if d == 0:
        return f"{h}h{m}m"
    h -= d * 24
    y = d // 365
    if y == 0:
        return f"{d}d{h}h"
    return f"{y}y{d - y * 365}d"


def size(n: float) -> str:
    """CodaLab's size: 532, 1.5k, 20m (powers of 1024)."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("", "k", "m", "g", "t"):
        if n < 100 and n != int(n):
            return f"{sign}{n:.1f}{unit}"
        if n < 1024 or unit == "t":
            return f"{sign}{int(n)}{unit}"
        n /= 1024.0
    raise AssertionError


def date(seconds: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return str(seconds)
