"""Worksheet workflows: new, switch, list, remove, add, detach, edit the
text or the name/title/tags, show (a page, its text form, HTML), history,
and typed tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from cl.app.listing import reading
from cl.errors import CLError, UsageError
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import WorksheetSearch, WorksheetVersion
    from cl.objects.ids import ObjectId
    from cl.objects.types import Worksheet
    from cl.worksheets.blocks import Page
    from cl.worksheets.edit import PendingCommand
    from cl.worksheets.tables import TypedTable


def resolve(repo: Repository, spec: str | None) -> str:
    """A worksheet spec (name, pattern, 0x-prefix, `.`) to its id; a full id
    also finds a removed worksheet."""
    from cl.worksheets.ops import resolve as resolve_ws
    return resolve_ws(repo, spec or ".")


def describe(repo: Repository, wid: str) -> str:
    """`name (0x…)`."""
    from cl.worksheets.ops import describe as describe_ws
    return describe_ws(repo, wid)


def new(repo: Repository, name: str, title: str = "", link: bool = True, worksheet: str | None = None) -> str:
    """A new worksheet; the current one (or `worksheet`) links to it and it
    back (`link`)."""
    from cl.worksheets import ops
    if worksheet is None:
        return ops.create(repo, name, title, link=link)
    from cl.objects.types import Item
    other = resolve(repo, worksheet)
    with repo.db.transaction():
        wid = ops.create(repo, name, title, link=False)
        if link:
            for here, there in ((other, wid), (wid, other)):
                repo.append_to_worksheet(here, (Item("worksheet", there),),
                                         "link to " + (name if there == wid else "its parent"))
    return wid


def current(repo: Repository) -> str:
    """The current worksheet's id."""
    wid = repo.current_worksheet()
    if wid is None:
        raise CLError("there is no current worksheet", hint="switch to one with 'cl work NAME'")
    return wid


def switch(repo: Repository, spec: str) -> str:
    """Make `spec` the current worksheet; its id."""
    from cl.worksheets import ops
    if "::" in spec:  # CodaLab's `work alias::ws` switches instance; here a remote is pulled
        from cl.bundles.spec_grammar import split_remote
        remote, ws = split_remote(spec)
        raise UsageError(f"the current worksheet is one of this repository's: '{spec}' is on remote "
                         f"'{remote}'", hint=f"bring it here with 'cl pull {remote} {ws or '/'}', then "
                         f"'cl work {ws or 'NAME'}'")
    wid = resolve(repo, spec)
    ops.switch(repo, wid)
    return wid


def search(repo: Repository, keywords: Iterable[str], address: str | None = None,
           visible: Callable[[str], bool] | None = None) -> WorksheetSearch:
    """Worksheets found with the worksheet search language (`cl wls`); with
    `address` (a remote's name or URL), the remote's worksheets.
    `visible(wid)`: what the asker may see (a server's reader)."""
    if address:
        return _remote_search(repo, address, keywords)
    return _search(repo, keywords, visible)


def _remote_search(repo: Repository, address: str, keywords: Iterable[str]) -> WorksheetSearch:
    """Search a remote's worksheets: their heads are copied into a scratch
    repository (cl/sync/remote_read.py) and searched there as local ones."""
    from cl.sync.remote_read import mirror
    with mirror(repo, address) as m:
        for wid, head, _ in m.view.worksheets():
            m.repo.store.fetch([head])
            m.repo.set_worksheet_head(wid, None, head)
        here = m.view.head_worksheet()
        if here:
            m.repo.refs.set_if_equals("HEAD", None, here)
        return _search(m.repo, keywords)


def _search(repo: Repository, keywords: Iterable[str],
            visible: Callable[[str], bool] | None = None) -> WorksheetSearch:
    from cl.app.records import WorksheetRow, WorksheetSearch
    from cl.index import worksheets as wsindex
    from cl.worksheets.wsearch import search_worksheets
    result = search_worksheets(repo, list(keywords), visible)
    if result.count is not None:
        return WorksheetSearch(count=result.count)
    rows = list(result.rows)
    counts = wsindex.item_counts(repo.db, [r["wid"] for r in rows])
    here = repo.current_worksheet()
    return WorksheetSearch(tuple(
        WorksheetRow(r["wid"], r["name"], r["title"], r["tags"], counts[r["wid"]][0], counts[r["wid"]][1],
                     r["time"], r["author"], r["wid"] == here) for r in rows))


def remove(repo: Repository, specs: Iterable[str], force: bool = False) -> Iterable[str]:
    """Remove worksheets (not their bundles), yielding each id as it goes."""
    from cl.worksheets import ops
    wids = [resolve(repo, spec) for spec in specs]
    for wid in wids:
        ops.remove(repo, wid, force)
        yield wid


def add(repo: Repository, dest: str | None = None, *, texts: Iterable[str] = (),
        bundles: Iterable[str] = (), worksheets: Iterable[str] = (),
        copy_dependencies: bool = False) -> ObjectId | None:
    """Append text (Markdown and directives), bundles and worksheet links
    to worksheet `dest` (default: the current one); the new commit.  With
    `copy_dependencies` each bundle's dependencies come first (CodaLab's
    `add -d`).  Where `dest` or a source is `REMOTE::…`, the bundles are
    copied to the destination as CodaLab's `add` copies them between
    instances (returns None: the commit is the other repository's)."""
    from cl.bundles.specs import expand
    from cl.objects.types import Item
    from cl.worksheets import edit, ops
    texts, bundles, worksheets = list(texts), list(bundles), list(worksheets)
    if not (texts or bundles or worksheets):
        raise UsageError("nothing to add: give -m TEXT, bundle specs or -w SUBWS")
    if any("::" in spec for spec in (dest or "", *bundles, *worksheets)):
        # another repository on either side: bundles are copied (cl/sync/copy.py)
        from cl.sync.copy import add_items
        add_items(repo, dest, texts=texts, bundles=bundles, worksheets=worksheets,
                  copy_dependencies=copy_dependencies)
        return None
    wid = resolve(repo, dest)
    items: list[Item] = []
    for t in texts:
        items.extend(edit.parse_added_text(repo, t, wid) or (Item("markup", ""),))
    ids = [str(bid) for bid in expand(repo, bundles)]
    if copy_dependencies:
        ids = list(dict.fromkeys(dep for bid in ids for dep in (*_dependencies(repo, bid), bid)))
    items.extend(Item("bundle", bid) for bid in ids)
    items.extend(Item("worksheet", resolve(repo, spec)) for spec in worksheets)
    return ops.add_items(repo, wid, items, f"add {len(items)} item(s)")


def _dependencies(repo: Repository, bid: str) -> list[str]:
    return [str(d.bundle) for d in repo.bundle(bid).dependencies]


def detach(repo: Repository, specs: Iterable[str], worksheet: str | None = None,
           index: int | None = None) -> list[ObjectId]:
    """Take bundles off a worksheet (they stay in the repository); a bundle
    shown more than once needs `index`, which appearance from the end."""
    from cl.bundles.specs import expand
    from cl.worksheets import ops
    wid = resolve(repo, worksheet)
    ids = expand(repo, list(specs), wid)
    ops.detach(repo, wid, [str(i) for i in ids], index)
    return ids


def set_info(repo: Repository, wid: str, name: str | None = None, title: str | None = None,
             tags: Iterable[str] | None = None, freeze: bool | None = None) -> None:
    """Rename a worksheet, or set its title or tags; `freeze` True freezes
    it (every later change is refused until it is unfrozen), False
    unfreezes it first."""
    from cl.worksheets import ops
    if freeze is False:
        _set_frozen(repo, wid, False)
    if name is not None or title is not None or tags is not None:
        ops.set_info(repo, wid, name, title, None if tags is None else tuple(tags))
    if freeze:
        _set_frozen(repo, wid, True)


def _set_frozen(repo: Repository, wid: str, frozen: bool) -> None:
    from cl.objects.value import replace
    _, ws = repo.worksheet_head(wid)
    if ws.frozen != frozen:
        repo.commit_worksheet(wid, lambda w: replace(w, frozen=frozen), "freeze" if frozen else "unfreeze")


def text(repo: Repository, spec: str | None = None) -> str:
    """The text form of a worksheet (`WS@N`: a version), what `cl wedit` edits."""
    from cl.worksheets import edit
    with reading(repo, spec) as (r, spec):
        _, ws, _ = _version(r, spec)
        return edit.text_form(r, ws)


def editing(repo: Repository, wid: str) -> tuple[str, str, str]:
    """What an edit starts from: (head commit, worksheet name, text form)."""
    from cl.worksheets import edit
    head, ws = repo.worksheet_head(wid)
    return head, ws.name, edit.text_form(repo, ws)


def save(repo: Repository, wid: str, text_: str, expected_head: str | None = None,
         known_command: Callable[[str], bool] | None = None
         ) -> tuple[ObjectId | None, tuple[PendingCommand, ...]]:
    """Save edited text as a new version unless the worksheet moved past
    `expected_head` (or nothing changed: commit None).  `known_command`
    checks the `!COMMAND` lines first; they are returned for the caller
    to run."""
    from cl.worksheets import edit, markup
    if known_command is not None:
        for line in markup.parse(text_):
            if isinstance(line, markup.Command) and not known_command(line.argv[0]):
                raise markup.MarkupError(line.lineno, f"unknown command '{line.argv[0]}'")
    commit, resolved = edit.save_text(repo, wid, text_, expected_head=expected_head)
    return commit, tuple(resolved.commands)


def _version(repo: Repository, spec: str | None) -> tuple[str, Worksheet, int | None]:
    from cl.worksheets import ops
    ws_spec, n = ops.split_version(spec or ".")
    wid = resolve(repo, ws_spec)
    if n is None:
        commit, ws = repo.worksheet_head(wid)
        return commit, ws, None
    v = ops.version(repo, wid, n)
    return v.commit, v.worksheet, v.number


def page(repo: Repository, spec: str | None = None, embed: bool = False) -> Page:
    """A worksheet (`WS@N`: a version) as display blocks; `embed` loads
    the bytes of images, HTML files and graph data."""
    with reading(repo, spec) as (r, spec):
        return _interpret(r, spec, embed)


def _interpret(repo: Repository, spec: str | None, embed: bool) -> Page:
    from cl.worksheets import interpret
    commit, ws, number = _version(repo, spec)
    return interpret.interpret(repo, ws, commit, number, embed=embed)


def html(repo: Repository, spec: str | None = None, server: str | None = None) -> str:
    """A worksheet as one self-contained HTML page: each bundle it names
    gets a section the names link to; given `server` (an http(s) address),
    names link to that server's pages instead."""
    from cl.worksheets import html as html_ops
    from cl.worksheets import pagerefs
    base = html_ops.server_base(server) if server else None
    with reading(repo, spec) as (r, spec):
        p = _interpret(r, spec, embed=True)
        return html_ops.render_page(p, pagerefs.collect(r, p), base)


def render_html(p: Page, fragment: bool = False) -> str:
    """A page as HTML: a whole document, or (`fragment`) its blocks alone
    with a scoped style sheet (what a notebook shows)."""
    from cl.worksheets import html as html_ops
    return html_ops.render_fragment(p.blocks) if fragment else html_ops.render_page(p)


def page_json(p: Page) -> dict[str, Any]:
    """A page as the JSON value of `cl print --json`: its fields, and each
    block as {"type": "markup" | "table" | "record" | …, its fields}."""
    import dataclasses

    from cl.index.index import local_time

    def block(blk: Any) -> dict[str, Any]:
        fields = dataclasses.asdict(blk)
        fields.pop("data", None)  # bytes of an embedded file: never loaded here
        return {"type": type(blk).__name__.lower(), **fields}
    return {"worksheet": "0x" + p.worksheet, "name": p.name, "title": p.title,
            "commit": "0x" + p.commit if p.commit else None, "version": p.version, "author": p.author,
            "time": local_time(p.time), "blocks": [block(b) for b in p.blocks]}


def cell_text(value: Any) -> str:
    """A typed table value as the text a table shows."""
    import datetime
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    from cl.worksheets.genpaths import text as as_text
    return as_text(value)


def table_html(headers: Iterable[str], rows: Iterable[tuple[str, Iterable[Any]]]) -> str:
    """A table of typed values, (bundle id, values) a row, as an HTML
    fragment (the page's table look)."""
    from cl.worksheets import blocks as b
    from cl.worksheets import html as html_ops
    cells = tuple(b.TableRow(bid, tuple(cell_text(v) for v in values)) for bid, values in rows)
    return html_ops.render_fragment([b.Table(tuple(headers), cells)])


def record_html(bid: str, name: str, fields: Iterable[tuple[str, Any]]) -> str:
    """A bundle's fields as an HTML record (the page's `record` look)."""
    from cl.worksheets import blocks as b
    from cl.worksheets import html as html_ops
    return html_ops.render_fragment([b.Record(bid, name, tuple((k, cell_text(v)) for k, v in fields))])


def history(repo: Repository, spec: str | None = None) -> list[WorksheetVersion]:
    """The versions of a worksheet, newest first."""
    from cl.app.records import WorksheetVersion
    from cl.worksheets import ops
    with reading(repo, spec, history=True) as (r, spec):
        versions = ops.history(r, resolve(r, spec))
        return [WorksheetVersion(v.number, v.commit, v.stored.time, v.stored.author, v.stored.message,
                                 v.stored.name, v.item_count, v.stored.deleted)
                for v in reversed(versions)]


def head(repo: Repository, spec: str | None = None) -> Worksheet:
    """The latest version of a worksheet."""
    return repo.worksheet_head(resolve(repo, spec))[1]


def name_title(repo: Repository, spec: str | None = None) -> tuple[str, str]:
    """A worksheet's name and title."""
    ws = head(repo, spec)
    return str(ws.name), str(ws.title)


def items(repo: Repository, spec: str | None = None) -> list[tuple[str, str]]:
    """A worksheet's items as (kind, value): markup, directive, bundle, worksheet."""
    return [(i.kind, i.value) for i in head(repo, spec).items]


def table(repo: Repository, spec: str | None = None, schema: Iterable[str] = ()) -> TypedTable:
    """The worksheet's bundles under a schema, as typed values."""
    from cl.worksheets.tables import table as typed_table
    return typed_table(repo, head(repo, spec), tuple(schema))



def check_position(repo: Repository, wid: str, after: int) -> None:
    """Refuse an item position past the end of the worksheet (`run -a`)."""
    _, ws = repo.worksheet_head(wid)
    if after > len(ws.items):
        raise UsageError(f"worksheet '{ws.name}' has {len(ws.items)} item(s): cannot put anything after item {after}")


def move_after(repo: Repository, wid: str, bid: str, after: int) -> None:
    """Move the last appearance of bundle `bid` on the worksheet to just
    after its `after`-th item (0: first), as CodaLab's --after_sort_key
    places a new bundle."""
    from cl.objects.types import Item
    from cl.objects.value import replace

    def change(ws: Worksheet) -> Worksheet:
        items = list(ws.items)
        item = Item("bundle", bid)
        last = max(i for i, it in enumerate(items) if it == item)
        del items[last]
        items.insert(min(after, len(items)), item)
        return replace(ws, items=tuple(items))
    repo.commit_worksheet(wid, change, f"move 0x{bid[:8]} after item {after}")
