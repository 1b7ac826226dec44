"""Worksheet items and their lines in the text form (pure).

An item is stored as `Item(kind, value)`:

    markup     one line of text
    bundle     a bundle id (64 hex digits)
    worksheet  a worksheet's stable id
    directive  the directive's canonical text without the `%`
               (`display table run`), or `//…` for a comment

One item per line, so worksheet versions diff and merge line by line."""

from typing import Callable

from cl.objects.types import Item
from cl.worksheets import markup
from cl.worksheets.markup import BundleRef, Comment, Directive, Line, Text, WorksheetRef


def directive_item(line: Directive | Comment) -> Item:
    if isinstance(line, Comment):
        return Item("directive", "//" + line.text)
    return Item("directive", markup.directive_text(line.tokens))


def read_directive(value: str) -> Directive | Comment:
    """A stored directive back as a line.  Stored values were checked when
    they were saved; a value that no longer reads (written by another
    version) raises InputError for the caller to show."""
    if value.startswith("//"):
        return Comment(value[2:])
    try:
        tokens = markup.split(value)
    except ValueError as exc:
        from cl.errors import InputError
        raise InputError(f"cannot read stored directive '% {value}' ({exc})") from None
    if not tokens:
        from cl.errors import InputError
        raise InputError("empty stored directive")
    return Directive(markup.check_directive(tokens))


def to_lines(items, describe_bundle: Callable[[str], str],
             describe_worksheet: Callable[[str], str]) -> list[Line]:
    """The lines of the text form.  References print as full ids with a
    description made by the callbacks, so the text reads well and saves
    back to the same items."""
    out: list[Line] = []
    for item in items:
        if item.kind == "markup":
            out.append(Text(item.value))
        elif item.kind == "bundle":
            out.append(BundleRef("0x" + item.value, markup.one_line(describe_bundle(item.value))))
        elif item.kind == "worksheet":
            out.append(WorksheetRef("0x" + item.value, markup.one_line(describe_worksheet(item.value))))
        else:
            try:
                out.append(read_directive(item.value))
            except Exception:
                # keep what cannot be read visible rather than lose it
                out.append(Comment(f" (unreadable directive) % {item.value}"))
    return out
