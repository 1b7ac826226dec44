"""Worksheet items and their lines in the text form (pure).

An item is stored as `Item(kind, value)`:

    markup     one line of text
    bundle     a bundle id (64 hex digits)
    worksheet  a worksheet's stable id
    directive  the directive's canonical text without the `%`
               (`display table run`), or `//…` for a comment; a directive
               that cannot be interpreted is kept as typed (CodaLab keeps
               it too) and shown as an error

One item per line, so worksheet versions diff and merge line by line."""

from typing import Callable

from cl.objects.types import Item
from cl.worksheets import markup
from cl.errors import InputError
from cl.worksheets.markup import BadDirective, BundleRef, Comment, Directive, Line, Text, WorksheetRef


def directive_item(line: Directive | BadDirective | Comment) -> Item:
    if isinstance(line, Comment):
        return Item("directive", "//" + line.text)
    if isinstance(line, BadDirective):  # a space keeps `% //x` from reading back as a comment
        return Item("directive", " " + line.text if line.text.startswith("//") else line.text)
    return Item("directive", markup.directive_text(line.tokens))


def read_directive(value: str) -> Directive | Comment:
    """A stored directive back as a line; InputError, for the caller to
    show, when it cannot be interpreted (it was saved as typed)."""
    if value.startswith("//"):
        return Comment(value[2:])
    return Directive(markup.read_tokens(value))


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
            except InputError as exc:  # shown as typed, so it saves back unchanged
                out.append(BadDirective(item.value.strip(), exc.message))
    return out
