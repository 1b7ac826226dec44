"""Bundle commands: upload, make, ls, info, cat, download, edit, rm, search."""

import os
import sys
import time

import click

from cl.app import listing
from cl.cli import editor, options, output
from cl.cli.context import json_option, pass_repo, worksheet_option
from cl.cli.parsing import Many, cleared_or, words


def command_line() -> str:
    """The command line that made a bundle, without the leading `cl`, so
    that `cl info -f args ^ | xargs cl` runs it again."""
    import shlex  # imported by the commands that make bundles, not by every command here
    return shlex.join(sys.argv[1:])


def _edit_metadata(name, description, tags):
    """Open $EDITOR on the metadata; returns (name, description, tags)."""
    text = f"name: {name}\ndescription: {description}\ntags: {' '.join(tags)}\n"
    edited = editor.edit(text, ".txt", keep_as=("cl-metadata-", ".txt"))
    if edited is None:
        return name, description, tags
    fields = {}
    for line in edited.splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    return fields.get("name", name), fields.get("description", description), tuple(fields.get("tags", "").split())


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-n", "--name", help="Name of the bundle (default: the file's name).")
@click.option("-d", "--description", default="", help="Description.")
@click.option("--tags", cls=Many, help="Tags: --tags a b c (several words, or repeat).")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the metadata in $EDITOR first.")
@click.option("--kind", type=click.Choice(["dataset", "program"]), default=None, help="Bundle kind (default dataset).")
@click.option("-x", "--exclude-patterns", "exclude", cls=Many, help="Leave out files matching these patterns.")
@click.option("-i", "--ignore", "ignore_file", help="Leave out what matches the patterns in this file (one a line).")
@click.option("-p", "--pack", is_flag=True, help="Keep archives (.tar.gz, .zip …) packed instead of unpacking them.")
@click.option("-z", "--force-compression", is_flag=True,
              help="Accepted for CodaLab's scripts: cl's objects are stored and sent compressed anyway.")
@click.option("-l", "--link", is_flag=True,
              help="Record the path as the bundle's source of truth (link_url, link_format raw); the bytes are stored too.")
@click.option("--link-url", help="Where the data lives (link_url); -l sets it to the path.")
@click.option("--link-format", type=click.Choice(["raw", "zip"]), help="How it is stored there (link_format).")
@click.option("-L", "--follow-symlinks", "follow", is_flag=True, help="Store what symbolic links point to, not the links (a link given by name needs it).")
@click.option("-c", "--contents", "text", help="Make a one-file bundle holding TEXT.")
@click.option("-g", "--git", "git", is_flag=True, help="The path is a git repository's URL: clone it (with its .git).")
@click.option("--git-rev", "git_rev", metavar="REV", help="Upload exactly the tree committed at this git revision.")
@click.option("--license", "license_", help="The license the data or program is released under (license).")
@click.option("--source-url", help="Where the data or program comes from (source_url).")
@worksheet_option("Put the bundle on this worksheet (default: the current one).")
@json_option
@pass_repo
def upload(repo, paths, name, description, tags, edit_, kind, exclude, ignore_file, pack, force_compression, link,
           link_url, link_format, follow, text, git, git_rev, license_, source_url, worksheet, as_json):
    """Upload files and directories, or one http(s) URL, as a bundle; prints its id.

    `cl upload dataset a.txt` and `cl upload program sort.py` (the CodaLab
    forms) set the kind."""
    from cl.app import bundles
    paths = list(paths)
    if paths and paths[0] in ("dataset", "program") and not os.path.exists(paths[0]) and len(paths) > 1:
        kind = kind or paths.pop(0)
    tags = words(tags)
    if edit_:
        guess = name or (os.path.basename(os.path.normpath(paths[0])) if paths else "contents")
        name, description, tags = _edit_metadata(guess, description, tags)
    url = bundles.is_url_upload(paths)
    total = bundles.upload_size(paths) if sys.stderr.isatty() and paths and not url else None
    with output.transfer_progress() if url else output.progress("uploading", total, enabled=total is not None) as bar:
        bid = bundles.upload(repo, paths, text=text, name=name, description=description, tags=tags,
                             kind=kind or "dataset", exclude=words(exclude), ignore_file=ignore_file, pack=pack,
                             follow_links=follow, git_rev=git_rev, git=git, worksheet=worksheet, args=command_line(),
                             license=license_, source_url=source_url, link=link, link_url=link_url,
                             link_format=link_format, progress=bar)
    _created(bid, as_json)


def _created(bid, as_json: bool) -> None:
    """The id of a bundle made or changed: `0x…`, or {"id"} with --json."""
    if as_json:
        output.as_json({"id": bid.display})
    else:
        click.echo(bid.display)


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("-n", "--name", help="Name of the new bundle.")
@click.option("-d", "--description", default="", help="Description.")
@click.option("--tags", cls=Many, help="Tags: --tags a b c.")
@click.option("--allow-failed-dependencies", is_flag=True, help="Make it even from failed or killed bundles.")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the metadata in $EDITOR first.")
@worksheet_option("Put the bundle on this worksheet.")
@json_option
@pass_repo
def make(repo, targets, name, description, tags, allow_failed_dependencies, edit_, worksheet, as_json):
    """Make a bundle out of [KEY:]TARGET... without copying any bytes."""
    from cl.app import bundles
    tags = words(tags)
    if edit_:
        name, description, tags = _edit_metadata(name or "make", description, tags)
    bid = bundles.make(repo, targets, name=name, description=description, tags=tags, worksheet=worksheet,
                       args=command_line(), allow_failed_dependencies=allow_failed_dependencies)
    _created(bid, as_json)


LS_HEADERS = ["id", "name", "kind", "state", "size", "created", "command"]


def _short_command(command: str) -> str:
    return command if len(command) <= 40 else command[:37] + "..."


def _ls_row(row):
    created = listing.fmt_time(row.created)
    command = _short_command(row.command or "")
    return ["0x" + row.id[:8], row.name, row.kind, row.state, output.size(row.data_size), created, command]


def _ls_columns(listing):
    """The LS_HEADERS columns from `Index.listing`'s, each built at once (a
    worksheet may list thousands of bundles)."""
    ids, names, kinds, states, sizes, created, commands = listing
    return [["0x" + bid[:8] for bid in ids], names, kinds, states, output.sizes(sizes), created,
            [c if len(c) <= 40 else _short_command(c) for c in commands]]  # a call only for long ones


@click.command()
@worksheet_option("List this worksheet instead of the current one.")
@click.option("-u", "--uuid-only", is_flag=True, help="Print only ids.")
@click.option("-f", "--field", "fields", help="A table of these comma-separated fields (as cl info -f).")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@pass_repo
def ls(repo, worksheet, uuid_only, fields, as_json):
    """List the bundles on the current worksheet, newest last."""
    if fields:
        _field_table(repo, listing.listing_ids(repo, worksheet), fields)
    elif as_json:
        output.as_json(listing.listing_rows(repo, worksheet))
    elif uuid_only:
        click.echo("".join("0x" + bid + "\n" for bid in listing.listing_ids(repo, worksheet)), nl=False)
    else:
        text = listing.listing_text(repo, worksheet, _ls_cache_key(), _ls_text)
        sys.stdout.write(output.colour_states(text, LS_HEADERS) if output.colours(sys.stdout) else text)


def _field_names(fields: str) -> list[str]:
    return [f.strip() for f in fields.split(",") if f.strip()]


def _field_table(repo, ids, fields: str) -> None:
    """`-f F1,F2` of ls and search: a table with a column per field."""
    from cl.app import bundles
    names = _field_names(fields)
    rows = bundles.field_rows(repo, ids, names)
    if rows:
        output.table(names, [[_field_text(v) for v in row] for row in rows])


def _ls_text(ws, columns) -> str:
    text = f"worksheet: {ws['name']}" + (f" ({ws['title']})" if ws["title"] else "") + "\n"
    return text + (output.table_columns(LS_HEADERS, _ls_columns(columns)) if columns[0] else "")


LS_FORMAT = 2  # the version of _ls_text's layout: a change must bump it, or old cached text is shown


def _ls_cache_key() -> str:
    """What `cl ls` text depends on besides the index: its layout, and the
    time zone its creation times are shown in."""
    return f"{LS_FORMAT} {os.environ.get('TZ', '')} {time.tzname} {time.timezone} {time.altzone}"


@click.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("-v", "--verbose", is_flag=True, help="Add contents, dependents and host worksheets.")
@click.option("-r", "--raw", is_flag=True, help="Every field, as JSON (the genpaths a worksheet can show).")
@click.option("-f", "--field", "fields", help="Print only these comma-separated fields (e.g. args).")
@worksheet_option("Resolve ^N and names on this worksheet.")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@pass_repo
def info(repo, specs, verbose, raw, fields, worksheet, as_json):
    """Show a bundle's metadata, state, dependencies and result."""
    from cl.app import bundles
    names = _field_names(fields) if fields else []
    records = bundles.info(repo, specs, verbose or raw or bundles.info_needs_verbose(names),
                           worksheet=worksheet)
    if fields:
        for row in bundles.info_fields(records, names, repo):
            click.echo("\t".join(_field_text(v) for v in row))
        return
    if as_json or raw:
        output.as_json(records if len(records) > 1 else records[0])
        return
    for i, rec in enumerate(records):
        if i:
            click.echo()
        _print_info(rec)


def _field_text(value) -> str:
    """One `-f` field as text: lists of words space-separated, maps and
    records as JSON (never Python's repr)."""
    if value is None:
        return ""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        import json  # -f of a map only
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def _print_info(rec: dict) -> None:
    short = {k: rec[k] for k in ("id", "name", "kind", "state", "description", "tags", "created",
                                 "creator", "command") if rec.get(k) not in (None, "", [])}
    short["data_size"] = output.size(rec["data_size"])
    output.record(short)
    if rec.get("live"):
        output.record({"live": rec["live"]})
    if rec["dependencies"]:
        click.echo("dependencies:")
        for d in rec["dependencies"]:
            click.echo(f"  {d['key'] or '(whole)'}: {d['name']}({d['bundle'][:10]})" + (f"/{d['path']}" if d["path"] else ""))
    if rec.get("result"):
        res = {k: v for k, v in rec["result"].items() if v not in (None, "", {}, 0)}
        if "peak_memory" in res:
            res["peak_memory"] = output.size(res["peak_memory"])
        output.record({"result": res})
    if rec.get("request"):
        request, ran = dict(rec["request"]), rec.get("result") or {}
        if request.get("image") and ran.get("executor") and not ran.get("image"):
            request["image"] += f" (not used: the {ran['executor']} executor runs no image)"
        output.record({"request": request})
    if rec.get("source"):
        output.record({"source": rec["source"]})
    if rec.get("listing") is not None:
        click.echo("contents:")
        for e in rec["listing"]:
            click.echo(f"  {e['name']:<30} {output.size(e['size']):>8}  {e['type']}")
    for p in rec.get("previews") or ():  # CodaLab's headings
        click.echo(f"=== {p['path'] or 'contents'} preview ===")
        click.echo(p["text"], nl=False)
    if rec.get("dependents"):
        click.echo("dependents:")
        for d in rec["dependents"]:
            click.echo(f"  {d['name']}({d['bundle'][:10]}) as {d['key'] or '(whole)'}")
    if rec.get("host_worksheets"):
        click.echo("worksheets: " + " ".join(w["name"] for w in rec["host_worksheets"]))
    if rec.get("permissions"):  # from a remote `cl server`
        p = rec["permissions"]
        click.echo(f"permissions: owner {p['owner']}; you: {p['mine']}; "
                   + (", ".join(f"{g}: {v}" for g, v in p["perms"].items()) or "no groups"))


@click.command()
@click.argument("target", type=options.TARGET)
@click.option("--head", type=options.COUNT, help="Only the first N lines.")
@click.option("-t", "--tail", type=options.COUNT, help="Only the last N lines.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@pass_repo
def cat(repo, target, head, tail, worksheet):
    """Print a file of a bundle, or list a directory with sizes."""
    from cl.app import bundles
    entries = bundles.cat(repo, target, sys.stdout.buffer, head, tail, worksheet=worksheet)
    if entries is not None:
        output.table(["name", "size", "type"], [[e.name, output.size(e.size), e.type] for e in entries])


@click.command()
@click.argument("target", type=options.TARGET)
@click.option("-o", "--output-path", "dest", type=click.Path(), help="Where to write (default: the bundle's or file's name).")
@click.option("-f", "--force", is_flag=True, help="Overwrite what is there.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def download(repo, target, dest, force, worksheet, as_json):
    """Copy a bundle or a file in it to the local disk (writable copies)."""
    from cl.app import bundles
    path = bundles.download(repo, target, dest, force, worksheet=worksheet)
    if as_json:
        output.as_json({"path": path})
    else:
        click.echo(path)


@click.command()
@click.argument("spec")
@click.option("-n", "--name", help="New name.")
@click.option("-d", "--description", help="New description.")
@click.option("-T", "--tags", cls=Many, help="New tags, replacing the old ones (-T a b c; -T alone clears).")
@click.option("-f", "--field", "fields", nargs=2, multiple=True, metavar="FIELD VALUE",
              help="Set any metadata field (license, source_url, …); repeatable.")
@click.option("--freeze", is_flag=True, help="Freeze the bundle: its metadata can no longer change.")
@click.option("--unfreeze", is_flag=True, help="Unfreeze the bundle.")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the metadata in $EDITOR.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def edit(repo, spec, name, description, tags, fields, freeze, unfreeze, edit_, worksheet, as_json):
    """Change a bundle's metadata (a new state; history is kept)."""
    from cl.app import bundles
    bid = bundles.edit(repo, spec, name=name, description=description, tags=cleared_or(tags),
                       fields=dict(fields), freeze=True if freeze else False if unfreeze else None,
                       worksheet=worksheet, editor=_edit_metadata if edit_ else None)
    _created(bid, as_json)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Also remove every bundle that depends on these.")
@click.option("--force", is_flag=True, help="Remove even if other bundles depend on these (breaks them).")
@click.option("-d", "--data-only", is_flag=True, help="Remove only the contents; keep the metadata.")
@click.option("-i", "--dry-run", is_flag=True, help="Only say what would be removed.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def rm(repo, specs, recursive, force, data_only, dry_run, worksheet, as_json):
    """Remove bundles (from every worksheet too)."""
    from cl.app import bundles
    removal = bundles.plan_removal(repo, specs, recursive=recursive, force=force, data_only=data_only,
                                   worksheet=worksheet)
    if as_json:
        output.as_json({"removed": [bid.display for bid in removal.bundles], "dry_run": dry_run})
    else:
        for bid in removal.bundles:
            click.echo(bid.display)
    if dry_run:
        click.echo(f"would remove {len(removal.bundles)} bundle(s)", err=True)
        return
    bundles.remove(repo, removal)


@click.command()
@click.argument("keywords", nargs=-1)
@click.option("-u", "--uuid-only", is_flag=True, help="Print only ids (for xargs).")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@click.option("-a", "--append", is_flag=True, help="Append the bundles found to the worksheet (-w, or the current one).")
@click.option("-f", "--field", "fields", help="A table of these comma-separated fields (as cl info -f).")
@worksheet_option("The worksheet -a appends to.")
@pass_repo
def search(repo, keywords, uuid_only, as_json, append, fields, worksheet):
    """Find bundles with CodaLab's search language: words, FIELD=VALUE
    (`%` wildcards, `a,b` lists), dependency=SPEC, dependency/KEY=SPEC,
    host_worksheet=WS, tag=T, .floating, .mine, .before=DATE, .after=DATE,
    FIELD=.sort, FIELD=.sort-, .last, .limit=N (default 10), .offset=N,
    .count, FIELD=.sum, .format=F."""
    from cl.app import bundles
    result = bundles.search(repo, keywords, append, worksheet=worksheet)
    if as_json and result.count is not None:
        output.as_json({"count": result.count})
    elif as_json and result.total is not None:
        output.as_json({"field": result.total[0], "sum": result.total[1]})
    elif result.aggregate is not None:  # .count or FIELD=.sum, through .format=
        click.echo(result.aggregate)
    elif uuid_only:
        click.echo("".join("0x" + r.id + "\n" for r in result.rows), nl=False)
    elif fields:
        _field_table(repo, [r.id for r in result.rows], fields)
    elif as_json:
        output.as_json(listing.bundle_json(result.rows))
    elif result.rows:
        output.table(LS_HEADERS, [_ls_row(r) for r in result.rows])


@click.command(name="open")
@click.argument("spec")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def open_(repo, spec, worksheet, as_json):
    """Open a bundle's page (an HTML file of its info and contents) in the
    web browser; prints the page's path."""
    from cl.app import pages
    path = pages.bundle_page(repo, spec, worksheet)
    output.opened_page(path, pages.show(path), as_json)

