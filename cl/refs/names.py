"""Ref names: the one grammar every ref store and every peer is held to.

A name is `/`-separated parts, none empty, none starting with `.` (so never
`.` or `..`), with no white space, control character or backslash, at most
MAX_NAME characters.
Two namespaces say more: `bundles/<64 hex digits>` and
`worksheets/<wid>` (a wid is 1–128 of `A-Z a-z 0-9 _ -`).  What the sync
protocol moves is narrower still: `HEAD` and those two (`synced`)."""

import re

from cl.errors import CLError

MAX_NAME = 255
_PART = r"[^\s/\\.\x00-\x1f\x7f][^\s/\\\x00-\x1f\x7f]*"
# Patterns as text, compiled by re on first use: every command that opens a
# repository imports this module, most never check a ref name.
_NAME = rf"{_PART}(?:/{_PART})*\Z"
_BUNDLE = r"bundles/([0-9a-f]{64})\Z"
_WORKSHEET = r"worksheets/([0-9A-Za-z_\-]{1,128})\Z"
WID = re.compile(r"[0-9A-Za-z_\-]{1,128}\Z")


class BadRefName(CLError):
    """A ref name outside the grammar above."""

    def __init__(self, name, why: str = "not a valid ref name"):
        super().__init__(f"{why}: {name!r:.140}")
        self.name = name


def check_name(name) -> str:
    """`name` if it is a valid ref name, else BadRefName."""
    if not isinstance(name, str) or len(name) > MAX_NAME or not re.match(_NAME, name):
        raise BadRefName(name)
    if name.startswith("bundles/") and not re.match(_BUNDLE, name):
        raise BadRefName(name, "a bundle ref is 'bundles/' and 64 hex digits")
    if name.startswith("worksheets/") and not re.match(_WORKSHEET, name):
        raise BadRefName(name, "a worksheet ref is 'worksheets/' and a worksheet id")
    return name


def bundle_of(name: str) -> str | None:
    """The bundle id of a `bundles/<id>` ref, else None."""
    m = re.match(_BUNDLE, name)
    return m[1] if m else None


def worksheet_of(name: str) -> str | None:
    """The wid of a `worksheets/<wid>` ref, else None."""
    m = re.match(_WORKSHEET, name)
    return m[1] if m else None


def synced(name) -> bool:
    """Whether `name` is one the sync protocol serves and moves."""
    return name == "HEAD" or (isinstance(name, str)
                              and bool(re.match(_BUNDLE, name) or re.match(_WORKSHEET, name)))
