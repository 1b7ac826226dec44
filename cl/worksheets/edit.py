"""The text form of a worksheet version, and saving edited text back:
references are resolved to ids (errors name the line and nothing is
saved), `% title` sets the title, a directive that cannot be interpreted
is saved as typed (to be shown as an error, as CodaLab does), and
`!COMMAND` lines come back to the caller to run once the new version is
committed."""

import re
from dataclasses import dataclass

from cl.errors import CLError
from cl.index import worksheets as wsindex
from cl.objects.ids import ObjectId
from cl.objects.types import Item, Worksheet
from cl.objects.value import replace
from cl.repo import Repository
from cl.worksheets import items as items_mod
from cl.worksheets import markup
from cl.worksheets.markup import (BadDirective, BundleRef, Command, Comment, Directive, MarkupError, Text,
                                  WorksheetRef)

_FULL_ID = re.compile(r"0x([0-9a-f]{64})\Z")
_FULL_WID = re.compile(r"0x([0-9a-f]{32})\Z")
# an ordering inside a command argument: [key:]name^N[-M][/path]
_ORDERING = re.compile(r"(?P<key>[^\s:/^]+:)?(?P<spec>[^\s:/^]*\^\d*(?:-\d+)?)(?P<path>/\S*)?\Z")


@dataclass(frozen=True)
class PendingCommand:
    """A `!COMMAND` line: its arguments with `^`-orderings already bound to
    the bundles above it in the text (so `!rm ^` under a bundle removes
    that bundle), and its line number for messages."""

    argv: tuple[str, ...]
    lineno: int


@dataclass(frozen=True)
class Resolved:
    items: tuple[Item, ...]
    title: str | None
    commands: tuple[PendingCommand, ...]


# --- text form ----------------------------------------------------------------------


def describe_bundle(repo: Repository, bid: str) -> str:
    row = repo.index.bundle(bid, include_deleted=True)
    if row is None:
        return "missing bundle"
    text = f"{row.kind} {row.name}" + (" (removed)" if row.deleted else "")
    if row.command:
        text += " : " + row.command
    return text


def describe_worksheet(repo: Repository, wid: str) -> str:
    row = wsindex.by_exact_id(repo.db, wid)
    if row is None:
        return "missing worksheet"
    return f"worksheet {row['name']}" + (" (removed)" if row["deleted"] else "")


def text_form(repo: Repository, ws: Worksheet) -> str:
    lines = items_mod.to_lines(ws.items, lambda b: describe_bundle(repo, b),
                               lambda w: describe_worksheet(repo, w))
    return markup.print_text(lines)


# --- resolving edited text ----------------------------------------------------------


def resolve(repo: Repository, lines: list, wid: str | None) -> Resolved:
    """Items from parsed lines.  Bundle specs resolve as on the command line
    with `wid` as the current worksheet; a failure names its line."""
    from cl.bundles.specs import resolve_bundle
    from cl.worksheets.ops import resolve as resolve_ws
    items: list[Item] = []
    commands: list[PendingCommand] = []
    title = None
    for line in lines:
        try:
            if isinstance(line, Text):
                items.append(Item("markup", line.text))
            elif isinstance(line, BundleRef):
                m = _FULL_ID.match(line.spec)
                if m and repo.refs.get(f"bundles/{m[1]}") is not None:
                    items.append(Item("bundle", m[1]))
                else:
                    items.append(Item("bundle", str(resolve_bundle(repo, line.spec, wid))))
            elif isinstance(line, WorksheetRef):
                m = _FULL_WID.match(line.spec)
                if m and wsindex.by_exact_id(repo.db, m[1]):
                    items.append(Item("worksheet", m[1]))
                else:
                    items.append(Item("worksheet", resolve_ws(repo, line.spec)))
            elif isinstance(line, (Directive, BadDirective, Comment)):
                if isinstance(line, Directive) and line.name == "title":
                    title = line.args[0]
                items.append(items_mod.directive_item(line))
            elif isinstance(line, Command):
                above = [i.value for i in items if i.kind == "bundle"]
                commands.append(PendingCommand(bind_orderings(repo, line.argv, above), line.lineno))
        except MarkupError:
            raise
        except CLError as exc:
            raise MarkupError(line.lineno, exc.message) from None
    return Resolved(tuple(items), title, tuple(commands))


def bind_orderings(repo: Repository, argv, above: list[str]) -> tuple[str, ...]:
    """Replace `^`, `^N`, `name^N`, ranges (optionally `key:` before and
    `/path` after) by the ids of the bundles above the command line."""
    out: list[str] = []
    for arg in argv:
        m = _ORDERING.match(arg) if "^" in arg else None
        if not m:
            out.append(arg)
            continue
        ids = _pick(repo, m["spec"], above)
        if len(ids) > 1 and (m["key"] or m["path"]):
            raise CLError(f"'{arg}' names several bundles where one is needed")
        out.extend((m["key"] or "") + "0x" + bid + (m["path"] or "") for bid in ids)
    return tuple(out)


class _Above:
    """The bundles above a command line, as the spec resolver's `^` reads
    a worksheet (cl.bundles.catalog.ordinal)."""

    where = " above this line"

    def __init__(self, repo: Repository, above: list[str]):
        self.repo = repo
        self.above = above

    def latest_on_worksheet(self, wid: str):
        rows = {r.id: r for r in self.repo.index.bundles(list(dict.fromkeys(self.above)))}
        return ((bid, rows[bid].name) for bid in reversed(self.above)
                if bid in rows and not rows[bid].deleted)


def _pick(repo: Repository, spec: str, above: list[str]) -> list[str]:
    """`[name]^N[-M]` over the bundles above, as the spec grammar reads it."""
    from cl.bundles.catalog import ordinal
    from cl.bundles.spec_grammar import Ordinal, parse_base
    base = parse_base(spec)
    if not isinstance(base, Ordinal):
        from cl.errors import SpecError
        raise SpecError(spec, "malformed bundle spec")
    return ordinal(_Above(repo, above), spec, base, "above")


# --- saving ---------------------------------------------------------------------------


def save_text(repo: Repository, wid: str, text: str, expected_head: str | None,
              message: str = "edit") -> tuple[ObjectId | None, Resolved]:
    """Parse, resolve and commit edited text as a new version, refusing if
    the worksheet moved past `expected_head`.  Returns (commit, resolved);
    the commit is None when nothing changed."""
    _, current = repo.worksheet_head(wid)
    if current.deleted:
        raise CLError(f"worksheet '{current.name}' has been removed")
    lines = markup.parse(text)
    resolved = resolve(repo, lines, wid)
    new_title = resolved.title if resolved.title is not None else current.title
    if resolved.items == current.items and new_title == current.title:
        return None, resolved

    def change(ws):
        return replace(ws, items=resolved.items, title=new_title)
    commit = repo.commit_worksheet(wid, change, message, expected_head=expected_head)
    return commit, resolved


def parse_added_text(repo: Repository, text: str, wid: str) -> tuple[Item, ...]:
    """`cl add -m TEXT`: the text's lines as items (directives and
    references work as in the editor; commands do not)."""
    lines = markup.parse(text)
    for line in lines:
        if isinstance(line, Command):
            raise MarkupError(line.lineno, "commands ('!…') run only from 'cl wedit'")
    return resolve(repo, lines, wid).items
