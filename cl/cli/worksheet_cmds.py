"""Worksheet commands: new, work, wls, wrm, add, detach, wedit, print, wlog.
Each parses its arguments, makes one call into cl/app/worksheets.py, and
formats."""

import os
import tempfile

import click

from cl.app import worksheets as app_ws
from cl.cli import editor, output
from cl.cli.context import json_option, pass_repo, worksheet_option
from cl.cli.options import COUNT
from cl.cli.parsing import Many
from cl.errors import CLError, UsageError

EDIT_HEADER = (
    "// Editing worksheet {name}.  This header is removed when you save.",
    "// Text is Markdown.  {SPEC} or [desc]{SPEC} alone on a line: a bundle;  {{WS}}: a worksheet link.",
    "// % title \"T\"   % display hidden|link|inline|contents|image|html|record|table|graph ARGS",
    "// % schema NAME   % addschema NAME   % add KEY [GENPATH [POST]]   % search ...   % wsearch ...",
    "// !COMMAND runs `cl COMMAND` on save (`!rm ^` removes the bundle above).  // lines are comments.",
)


def _fmt_time(ns):
    from cl.app.listing import fmt_time
    return fmt_time(ns) or ""


# --- new, work, wls, wrm ----------------------------------------------------------


@click.command()
@click.argument("name")
@click.option("-t", "--title", default="", help="A title for the worksheet.")
@click.option("--no-link", is_flag=True, help="Don't link it from the current worksheet (and back).")
@worksheet_option("The worksheet that links to the new one (default: the current one).")
@json_option
@pass_repo
def new(repo, name, title, no_link, worksheet, as_json):
    """Make a new worksheet NAME; prints its id.  The current worksheet gets
    a link to it and it a link back (switch to it with `cl work NAME`)."""
    wid = app_ws.new(repo, name, title, link=not no_link, worksheet=worksheet)
    if as_json:
        output.as_json({"id": "0x" + wid})
    else:
        click.echo("0x" + wid)


@click.command()
@click.argument("worksheet", required=False)
@click.option("-u", "--uuid-only", is_flag=True, help="Print only the worksheet's id.")
@json_option
@pass_repo
def work(repo, worksheet, uuid_only, as_json):
    """Switch to WORKSHEET, or show the current one."""
    wid = app_ws.current(repo) if worksheet is None else app_ws.switch(repo, worksheet)
    if uuid_only and not as_json:
        click.echo("0x" + wid)
    elif as_json:
        output.as_json({"id": "0x" + wid, "name": app_ws.name_title(repo, "0x" + wid)[0]})
    elif worksheet is None:
        click.echo(f"Current worksheet: {app_ws.describe(repo, wid)}")
    else:
        click.echo(f"Switched to worksheet: {app_ws.describe(repo, wid)}")


@click.command()
@click.argument("keywords", nargs=-1)
@click.option("-u", "--uuid-only", is_flag=True, help="Print only ids.")
@click.option("-a", "--address", help="List the worksheets of this remote (a name from cl remote, or a URL).")
@click.option("--refresh", is_flag=True, help="With REMOTE::, fetch from the remote first.")
@json_option
@pass_repo
def wls(repo, keywords, uuid_only, address, refresh, as_json):
    """List worksheets; KEYWORDS filter them: words, name=, title=, tag=,
    bundle=SPEC, .last, .limit=N, .offset=N, .count.  `cl wls REMOTE::`
    lists a remote's worksheets as last fetched (--refresh: fetch first)."""
    if len(keywords) == 1 and keywords[0].endswith("::"):
        from cl.app import sharing
        result = sharing.remote_worksheets(repo, keywords[0][:-2], refresh)
    else:
        result = app_ws.search(repo, keywords, address)
    if result.count is not None:
        click.echo(result.count)
        return
    rows = result.rows
    if uuid_only:
        click.echo("".join("0x" + r.id + "\n" for r in rows), nl=False)
        return
    if as_json:
        output.as_json([r.to_json() for r in rows])
        return
    if rows and any(r.permissions is not None for r in rows):  # from a server: its owners and permissions
        from cl.app.sharing import permission_text
        output.table(["", "name", "title", "bundles", "items", "updated", "owner", "permissions", "id"],
                     [["*" if r.current else "", r.name, r.title, r.bundles, r.items, _fmt_time(r.time),
                       (r.permissions or {}).get("owner", "-"), permission_text(r.permissions), "0x" + r.id[:8]]
                      for r in rows])
    elif rows:
        output.table(["", "name", "title", "bundles", "items", "updated", "author", "id"],
                     [["*" if r.current else "", r.name, r.title, r.bundles, r.items, _fmt_time(r.time),
                       r.author, "0x" + r.id[:8]] for r in rows])


@click.command()
@click.argument("worksheets", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Remove even a worksheet that has items.")
@json_option
@pass_repo
def wrm(repo, worksheets, force, as_json):
    """Remove worksheets.  The bundles on them are not removed (nor are the
    worksheets they link to); every version stays in the history."""
    if as_json:
        output.as_json(["0x" + wid for wid in app_ws.remove(repo, worksheets, force)])
        return
    for wid in app_ws.remove(repo, worksheets, force):
        click.echo("0x" + wid)


# --- add, detach --------------------------------------------------------------------


@click.command()
@click.argument("items", nargs=-1)
@click.option("-m", "--message", "text", help="Add TEXT (Markdown; a '%' line is a directive).")
@click.option("-w", "--worksheet", "subworksheet", multiple=True, help="Add a link to worksheet SUBWS.")
@click.option("--dest-worksheet", "dest", help="Add to this worksheet (default: the current one).")
@click.option("-d", "--copy-dependencies", is_flag=True, help="With bundles, add their dependencies too (first).")
@pass_repo
def add(repo, items, text, subworksheet, dest, copy_dependencies):
    """Add text, bundles or worksheet links to a worksheet.

    \b
      cl add -m TEXT            cl add text TEXT
      cl add SPEC...            cl add bundle SPEC...
      cl add -w SUBWS           cl add worksheet SUBWS...
    """
    items = list(items)
    texts = [text] if text is not None else []
    bundle_specs, ws_specs = [], list(subworksheet)
    if items and items[0] in ("text", "bundle", "worksheet"):
        what, rest = items[0], items[1:]
        if not rest:
            raise UsageError(f"'cl add {what}' needs something to add")
        if what == "text":
            texts.append(" ".join(rest))
        elif what == "bundle":
            bundle_specs = rest
        else:
            ws_specs += rest
    else:
        bundle_specs = items
    app_ws.add(repo, dest, texts=texts, bundles=bundle_specs, worksheets=ws_specs,
               copy_dependencies=copy_dependencies)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("-n", "--index", type=COUNT, help="Which appearance of a bundle shown more than once (1 = the last).")
@worksheet_option("Detach from this worksheet (default: the current one).")
@json_option
@pass_repo
def detach(repo, specs, index, worksheet, as_json):
    """Take bundles off a worksheet without removing them."""
    ids = app_ws.detach(repo, specs, worksheet, index)
    if as_json:
        output.as_json([bid.display for bid in ids])
        return
    for bid in ids:
        click.echo(bid.display)


# --- wedit ----------------------------------------------------------------------------


@click.command()
@click.argument("worksheet", required=False)
@click.option("-f", "--file", "path", type=click.Path(), help="Read the new text from FILE ('-' for stdin) instead of an editor.")
@click.option("-n", "--name", help="Rename the worksheet.")
@click.option("-t", "--title", help="Set the title.")
@click.option("-T", "--tags", cls=Many, help="Set the tags (-T a b c; -T alone clears).")
@click.option("--freeze", is_flag=True, help="Freeze the worksheet: every change is refused until unfrozen.")
@click.option("--unfreeze", is_flag=True, help="Unfreeze the worksheet.")
@pass_repo
def wedit(repo, worksheet, path, name, title, tags, freeze, unfreeze):
    """Edit a worksheet's text in $EDITOR (or from -f FILE), or change its
    name, title or tags, or freeze it.  References are resolved, `!COMMAND`
    lines run after saving; if the worksheet changed meanwhile nothing is
    saved and your text is kept in a file named in the message."""
    if freeze and unfreeze:
        raise UsageError("choose one of --freeze, --unfreeze")
    wid = app_ws.resolve(repo, worksheet)
    if name is not None or title is not None or tags or freeze or unfreeze:
        tag_list = None
        if tags:
            tag_list = tuple(t for group in tags for t in group.replace(",", " ").split())
        app_ws.set_info(repo, wid, name, title, tag_list, freeze=True if freeze else False if unfreeze else None)
        if path is None:
            click.echo(f"Saved worksheet: {app_ws.describe(repo, wid)}")
            return
    head, ws_name, original = app_ws.editing(repo, wid)
    from_editor = path is None
    if from_editor:
        header = "".join(line.replace("{name}", ws_name) + "\n" for line in EDIT_HEADER)
        edited = editor.edit(header + original, ".ws", keep_as=(f"cl-wedit-{ws_name}-", ".ws"))
        if edited is None:
            click.echo("No change.")
            return
        text = _strip_header(edited, header)
    else:
        text = editor.read(path, keep_as=(f"cl-wedit-{ws_name}-", ".ws"))
    from cl.cli.main import ALIASES, COMMANDS
    try:
        commit, commands = app_ws.save(repo, wid, text, expected_head=head,
                                       known_command=lambda name: name in COMMANDS or name in ALIASES)
    except CLError as exc:
        if not (from_editor or path == "-"):
            raise
        kept = _keep(text, ws_name)
        raise CLError(f"{exc.message}; nothing was saved",
                      hint=f"your text is in {kept}: fix it and run 'cl wedit {ws_name} -f {kept}'") from None
    click.echo(f"Saved worksheet: {app_ws.describe(repo, wid)}" if commit else "No change to the worksheet.")
    _run_commands(repo, wid, commands)


def _strip_header(edited: str, header: str) -> str:
    if edited.startswith(header):
        return edited[len(header):]
    lines = edited.split("\n")
    known = {line.split(".")[0] for line in header.split("\n") if line}
    while lines and lines[0].startswith("//") and any(lines[0].startswith(k) for k in known):
        lines.pop(0)
    return "\n".join(lines)


def _keep(text: str, name: str) -> str:
    fd, kept = tempfile.mkstemp(prefix=f"cl-wedit-{name}-", suffix=".ws", dir=os.getcwd()
                                if os.access(os.getcwd(), os.W_OK) else None)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return kept


def _run_commands(repo, wid, commands) -> None:
    """Run `!COMMAND` lines as cl commands, in order, after the save.  A
    command that creates or lists bundles (one with -w/--worksheet) works
    on the edited worksheet."""
    if not commands:
        return
    from cl.cli.main import cli
    current = repo.current_worksheet()
    for pc in commands:
        argv = list(pc.argv)
        cmd = cli.get_command(click.get_current_context(), argv[0])
        takes_ws = cmd is not None and any(p.name == "worksheet" and "--worksheet" in getattr(p, "opts", ())
                                           for p in cmd.params)
        if takes_ws and wid != current and not ({"-w", "--worksheet"} & set(argv)):
            argv[1:1] = ["--worksheet", "0x" + wid]
        click.echo(f"line {pc.lineno}: cl {' '.join(argv)}", err=True)
        try:
            cli.main(args=argv, prog_name="cl", standalone_mode=False)
        except CLError as exc:
            raise CLError(f"line {pc.lineno}: {exc.message}",
                          hint="the worksheet was saved; commands after this one did not run") from None
        except click.ClickException as exc:
            raise CLError(f"line {pc.lineno}: cl {argv[0]}: {exc.format_message()}",
                          hint="the worksheet was saved; commands after this one did not run") from None


# --- print, wlog ------------------------------------------------------------------------


@click.command(name="print")
@click.argument("worksheet", required=False)
@click.option("-r", "--raw", is_flag=True, help="The text form (what `cl wedit` edits).")
@click.option("--html", "as_html", is_flag=True, help="One self-contained HTML page (images embedded, graphs drawn).")
@click.option("-o", "--output", "dest", type=click.Path(), help="Write to this file instead of stdout.")
@click.option("--server", metavar="URL", help="With --html: link names to this server's pages (URL/bundles/0x…).")
@json_option
@pass_repo
def print_(repo, worksheet, raw, as_html, dest, server, as_json):
    """Show a worksheet (WS@N: its N-th version, see `cl wlog`)."""
    if as_json + raw + as_html > 1:
        raise UsageError("choose one of --json, --raw, --html")
    if server and not as_html:
        raise UsageError("--server goes with --html")
    if as_json:
        import json
        _emit(json.dumps(app_ws.page_json(app_ws.page(repo, worksheet)), indent=2) + "\n", dest)
    elif raw:
        _emit(app_ws.text(repo, worksheet), dest)
    elif as_html:
        _emit(app_ws.html(repo, worksheet, server=server), dest)
    elif dest:
        from cl.cli import ws_render
        page = app_ws.page(repo, worksheet)
        with open(dest, "w", encoding="utf-8") as f:
            ws_render.print_page(page, f)
        click.echo(os.path.abspath(dest))
    else:
        from cl.cli import ws_render
        ws_render.print_page(app_ws.page(repo, worksheet))


def _emit(text: str, dest: str | None) -> None:
    if dest:
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(os.path.abspath(dest))
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("worksheet", required=False)
@json_option
@pass_repo
def wlog(repo, worksheet, as_json):
    """The versions of a worksheet, newest first (print one with
    `cl print WS@N`)."""
    versions = app_ws.history(repo, worksheet)
    if as_json:
        output.as_json([v.to_json() for v in versions])
        return
    output.table(["version", "commit", "time", "author", "items", "message"],
                 [[f"@{v.number}", "0x" + v.commit[:8], _fmt_time(v.time), v.author, v.items,
                   v.message + (" (removed)" if v.deleted else "")] for v in versions])


@click.command()
@click.argument("worksheet", required=False)
@json_option
@pass_repo
def wopen(repo, worksheet, as_json):
    """Open a worksheet's page (as `cl print --html`) in the web browser;
    prints the page's path."""
    from cl.app import pages
    path = pages.worksheet_page(repo, worksheet)
    output.opened_page(path, pages.show(path), as_json)

