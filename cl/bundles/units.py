"""Sizes (`N[k|m|g|t]`) and durations (`N[s|m|h|d]`) as CodaLab writes them."""

import re

from cl.errors import InputError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?\Z", re.I)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)\Z", re.I)
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Bounds on what anyone means (1 EiB, a century): past them a number is a
# typo, and float() of 400 digits is infinite, which int() refuses.
MAX_SIZE = 1 << 60
MAX_DURATION_S = 36500 * 86400


def parse_size(text: str) -> int:
    """Bytes in `2g`, `512m`, `100k`, `1024`; at most MAX_SIZE."""
    m = _SIZE.match(str(text).strip())
    value = float(m[1]) * SIZE_UNITS[m[2].lower()] if m else None
    if value is None or value > MAX_SIZE:
        raise InputError(f"bad size: '{text}' (use N[k|m|g|t], at most {MAX_SIZE >> 40}t)")
    return int(value)


def parse_duration(text: str) -> int:
    """Seconds in `1h`, `30m`, `45s`, `2d`, `90`; at most MAX_DURATION_S."""
    m = _DURATION.match(str(text).strip())
    value = float(m[1]) * DURATION_UNITS[m[2].lower()] if m else None
    if value is None or value > MAX_DURATION_S:
        raise InputError(f"bad duration: '{text}' (use N[s|m|h|d], at most {MAX_DURATION_S // 86400}d)")
    return int(value)


def format_size(n: int) -> str:
    for unit in ("t", "g", "m", "k"):
        if n >= SIZE_UNITS[unit] and n % SIZE_UNITS[unit] == 0:
            return f"{n // SIZE_UNITS[unit]}{unit}"
    return str(n)
