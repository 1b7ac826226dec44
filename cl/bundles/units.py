"""Sizes (`N[k|m|g|t]`) and durations (`N[s|m|h|d]`) as CodaLab writes them."""

import re

from cl.errors import InputError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?\Z", re.I)
MAX_DURATION = 10**12  # seconds: about 30,000 years
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)\Z", re.I)
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    """Bytes in `2g`, `512m`, `100k`, `1024`."""
    m = _SIZE.match(str(text).strip())
    if not m:
        raise InputError(f"bad size: '{text}' (use N[k|m|g|t])")
    return int(float(m[1]) * SIZE_UNITS[m[2].lower()])


def parse_duration(text: str) -> int:
    """Seconds in `1h`, `30m`, `45s`, `2d`, `90`."""
    m = _DURATION.match(str(text).strip())
    if not m:
        raise InputError(f"bad duration: '{text}' (use N[s|m|h|d])")
    seconds = float(m[1]) * DURATION_UNITS[m[2].lower()]
    if not seconds <= MAX_DURATION:  # also catches the infinity of a 400-digit number
        raise InputError(f"duration too long: '{text}' (at most {MAX_DURATION // DURATION_UNITS['d']}d)")
    return int(seconds)


def format_size(n: int) -> str:
    for unit in ("t", "g", "m", "k"):
        if n >= SIZE_UNITS[unit] and n % SIZE_UNITS[unit] == 0:
            return f"{n // SIZE_UNITS[unit]}{unit}"
    return str(n)
