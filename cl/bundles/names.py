"""Bundle names: what a name may be, and a valid default from a file name."""

import re

from cl.errors import InputError

# and lone surrogates: bytes of a file name that are not UTF-8 (no name can hold them)
_BAD = re.compile(r"[\s/:^%\ud800-\udfff]")


def check_name(name: str) -> str:
    if not name or _BAD.search(name) or name.startswith("0x") or name in (".", ".."):
        raise InputError(f"invalid bundle name: '{name}' (no spaces, '/', ':', '^' or '%', "
                         "and not starting with '0x')")
    return name


def default_name(text: str) -> str:
    name = _BAD.sub("-", text).strip("-") or "bundle"
    if name.startswith("0x"):
        name = "_" + name
    if name in (".", ".."):
        name = "bundle"
    return name


def metadata(name: str, description: str = "", tags=()) -> dict:
    return {"name": check_name(name), "description": description, "tags": list(tags)}
