"""Bundle commands: upload, make, ls, info, cat, download, edit, rm, search."""

import os
import sys
import time

import click

from cl.bundles import info as info_ops
from cl.bundles.specs import expand, resolve_bundle, resolve_target, resolve_worksheet
from cl.cli import editor, options, output
from cl.cli.context import pass_repo
from cl.errors import InputError


def command_line() -> str:
    """The command line that made a bundle, without the leading `cl`, so
    that `cl info -f args ^ | xargs cl` runs it again."""
    import shlex  # imported by the commands that make bundles, not by every command here
    return shlex.join(sys.argv[1:])


def _worksheet(repo, spec):
    return resolve_worksheet(repo, spec) if spec else None


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
@click.option("--tags", multiple=True, help="Tags (repeat or space-separate).")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the metadata in $EDITOR first.")
@click.option("--kind", type=click.Choice(["dataset", "program"]), default=None, help="Bundle kind (default dataset).")
@click.option("-x", "--exclude-patterns", "exclude", multiple=True, help="Leave out files matching these patterns.")
@click.option("-p", "--pack", is_flag=True, help="Keep archives (.tar.gz, .zip …) packed instead of unpacking them.")
@click.option("-L", "--follow-symlinks", "follow", is_flag=True, help="Store what symbolic links point to, not the links.")
@click.option("-c", "--contents", "text", help="Make a one-file bundle holding TEXT.")
@click.option("--git", "git_rev", help="Upload exactly the tree committed at this git revision.")
@click.option("-w", "--worksheet", help="Put the bundle on this worksheet (default: the current one).")
@pass_repo
def upload(repo, paths, name, description, tags, edit_, kind, exclude, pack, follow, text, git_rev, worksheet):
    """Upload files and directories as a bundle; prints its id.

    `cl upload dataset a.txt` and `cl upload program sort.py` (the CodaLab
    forms) set the kind."""
    from cl.bundles.upload import UploadRequest, total_size, upload as upload_bundle
    paths = list(paths)
    if paths and paths[0] in ("dataset", "program") and not os.path.exists(paths[0]) and len(paths) > 1:
        kind = kind or paths.pop(0)
    tags = tuple(t for group in tags for t in group.split())
    if edit_:
        guess = name or (os.path.basename(os.path.normpath(paths[0])) if paths else "contents")
        name, description, tags = _edit_metadata(guess, description, tags)
    req = UploadRequest(paths=tuple(paths), text=text, name=name, description=description, tags=tags,
                        kind=kind or "dataset", exclude=exclude, pack=pack, follow_links=follow,
                        git_rev=git_rev, worksheet=_worksheet(repo, worksheet), args=command_line())
    total = total_size(paths) if sys.stderr.isatty() and paths else None
    with output.progress("uploading", total, enabled=total is not None) as bar:
        bid = upload_bundle(repo, req, progress=bar)
    click.echo(bid.display)


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("-n", "--name", help="Name of the new bundle.")
@click.option("-d", "--description", default="", help="Description.")
@click.option("--tags", multiple=True, help="Tags.")
@click.option("-w", "--worksheet", help="Put the bundle on this worksheet.")
@pass_repo
def make(repo, targets, name, description, tags, worksheet):
    """Make a bundle out of [KEY:]TARGET... without copying any bytes."""
    from cl.bundles.make import make as make_bundle
    tags = tuple(t for group in tags for t in group.split())
    bid = make_bundle(repo, list(targets), name, description, tags, _worksheet(repo, worksheet),
                      args=command_line())
    click.echo(bid.display)


LS_HEADERS = ["id", "name", "kind", "state", "size", "created", "command"]


def _short_command(command: str) -> str:
    return command if len(command) <= 40 else command[:37] + "..."


def _ls_row(row):
    created = info_ops.fmt_time(row.created)
    command = _short_command(row.command or "")
    return ["0x" + row.id[:8], row.name, row.kind, row.state, output.size(row.data_size), created, command]


def _ls_columns(listing):
    """The LS_HEADERS columns from `Index.listing`'s, each built at once (a
    worksheet may list thousands of bundles)."""
    ids, names, kinds, states, sizes, created, commands = listing
    return [["0x" + bid[:8] for bid in ids], names, kinds, states, output.sizes(sizes), created,
            [c if len(c) <= 40 else _short_command(c) for c in commands]]  # a call only for long ones


@click.command()
@click.option("-w", "--worksheet", help="List this worksheet instead of the current one.")
@click.option("-u", "--uuid-only", is_flag=True, help="Print only ids.")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@pass_repo
def ls(repo, worksheet, uuid_only, as_json):
    """List the bundles on the current worksheet, newest last."""
    if worksheet and "::" in worksheet:  # REMOTE::ws: read from the remote (cl/sync)
        from cl.sync.remote_read import remote_worksheet
        with remote_worksheet(repo, worksheet) as (mirror, wid):
            return _ls(mirror, wid, uuid_only, as_json)
    return _ls(repo, resolve_worksheet(repo, worksheet or "."), uuid_only, as_json)


def _ls(repo, wid, uuid_only, as_json):
    if as_json:
        rows = repo.index.bundles(list(dict.fromkeys(repo.index.worksheet_bundles(wid))))
        output.as_json([{"id": "0x" + r.id, "name": r.name, "kind": r.kind, "state": r.state,
                         "data_size": r.data_size, "created": info_ops.fmt_time(r.created),
                         "command": r.command} for r in rows])
        return
    if uuid_only:
        click.echo("".join("0x" + bid + "\n" for bid in repo.index.listing(wid)[0]), nl=False)
        return
    sys.stdout.write(repo.index.listing_text(wid, _ls_cache_key(), lambda: _ls_text(repo, wid)))


def _ls_text(repo, wid) -> str:
    ws = repo.index.worksheet(wid)
    text = f"worksheet: {ws['name']}" + (f" ({ws['title']})" if ws["title"] else "") + "\n"
    listing = repo.index.listing(wid)
    return text + (output.table_columns(LS_HEADERS, _ls_columns(listing)) if listing[0] else "")


LS_FORMAT = 1  # the version of _ls_text's layout: a change must bump it, or old cached text is shown


def _ls_cache_key() -> str:
    """What `cl ls` text depends on besides the index: its layout, and the
    time zone its creation times are shown in."""
    return f"{LS_FORMAT} {os.environ.get('TZ', '')} {time.tzname} {time.timezone} {time.altzone}"


@click.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("-v", "--verbose", is_flag=True, help="Add contents, dependents and host worksheets.")
@click.option("-r", "--raw", is_flag=True, help="Every field, as JSON (the genpaths a worksheet can show).")
@click.option("-f", "--field", "fields", help="Print only these comma-separated fields (e.g. args).")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@pass_repo
def info(repo, specs, verbose, raw, fields, as_json):
    """Show a bundle's metadata, state, dependencies and result."""
    if any("::" in spec for spec in specs):  # REMOTE::spec: read from the remote (cl/sync)
        from cl.sync.remote_read import records as remote_records
        records = remote_records(repo, specs, verbose or raw)
    else:
        records = [info_ops.record(repo, bid, verbose or raw) for bid in expand(repo, specs)]
    if fields:
        names = [f.strip() for f in fields.split(",") if f.strip()]
        for rec in records:
            click.echo("\t".join(_field_text(info_ops.field(rec, n)) for n in names))
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
        output.record({"request": rec["request"]})
    if rec.get("source"):
        output.record({"source": rec["source"]})
    if rec.get("listing") is not None:
        click.echo("contents:")
        for e in rec["listing"]:
            click.echo(f"  {e['name']:<30} {output.size(e['size']):>8}  {e['type']}")
    if rec.get("dependents"):
        click.echo("dependents:")
        for d in rec["dependents"]:
            click.echo(f"  {d['name']}({d['bundle'][:10]}) as {d['key'] or '(whole)'}")
    if rec.get("host_worksheets"):
        click.echo("worksheets: " + " ".join(w["name"] for w in rec["host_worksheets"]))


@click.command()
@click.argument("target")
@click.option("--head", type=options.COUNT, help="Only the first N lines.")
@click.option("--tail", type=options.COUNT, help="Only the last N lines.")
@pass_repo
def cat(repo, target, head, tail):
    """Print a file of a bundle, or list a directory with sizes."""
    if "::" in target:  # REMOTE::bundle/path: read from the remote (cl/sync)
        from cl.sync.remote_read import remote_target
        with remote_target(repo, target) as (mirror, t):
            return _cat(mirror, t, head, tail)
    return _cat(repo, resolve_target(repo, target), head, tail)


def _cat(repo, t, head, tail):
    from cl.bundles import read as read_ops
    entries = read_ops.list_dir(repo, t)
    if entries is not None:
        output.table(["name", "size", "type"], [[e.name, output.size(e.size), e.type] for e in entries])
        return
    out = sys.stdout.buffer
    with read_ops.open_file(repo, t) as f:
        read_ops.stream(f, out, head, tail)
    out.flush()


@click.command()
@click.argument("target")
@click.option("-o", "--output-path", "dest", type=click.Path(), help="Where to write (default: the bundle's or file's name).")
@click.option("-f", "--force", is_flag=True, help="Overwrite what is there.")
@pass_repo
def download(repo, target, dest, force):
    """Copy a bundle or a file in it to the local disk (writable copies)."""
    from cl.bundles import read as read_ops
    t = resolve_target(repo, target)
    if dest is None:
        dest = t.path.rsplit("/", 1)[-1] if t.path else repo.index.bundle(t.bundle).name
    read_ops.download(repo, t, dest, force)
    click.echo(os.path.abspath(dest))


@click.command()
@click.argument("spec")
@click.option("-n", "--name", help="New name.")
@click.option("-d", "--description", help="New description.")
@click.option("--tags", multiple=True, help="New tags (replace the old ones).")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the metadata in $EDITOR.")
@pass_repo
def edit(repo, spec, name, description, tags, edit_):
    """Change a bundle's metadata (a new state; history is kept)."""
    from cl.bundles import edit as edit_ops
    bid = resolve_bundle(repo, spec)
    tag_list = tuple(t for group in tags for t in group.split()) if tags else None
    if edit_:
        _, state = repo.head_state(bid)
        md = state.metadata
        name, description, tag_list = _edit_metadata(name or md.get("name", ""),
                                                     description if description is not None else md.get("description", ""),
                                                     tag_list if tag_list is not None else md.get("tags", []))
    if name is None and description is None and tag_list is None:
        raise InputError("nothing to change: give -n, -d, --tags or -e")
    edit_ops.edit(repo, bid, name=name, description=description, tags=tag_list)
    click.echo(bid.display)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Also remove every bundle that depends on these.")
@click.option("--force", is_flag=True, help="Remove even if other bundles depend on these (breaks them).")
@click.option("-d", "--data-only", is_flag=True, help="Remove only the contents; keep the metadata.")
@click.option("-i", "--dry-run", is_flag=True, help="Only say what would be removed.")
@pass_repo
def rm(repo, specs, recursive, force, data_only, dry_run):
    """Remove bundles (from every worksheet too)."""
    from cl.bundles import remove as remove_ops
    ids = expand(repo, specs)
    removal = remove_ops.plan(repo, ids, recursive=recursive, force=force, data_only=data_only)
    for bid in removal.bundles:
        click.echo(bid.display)
    if dry_run:
        click.echo(f"would remove {len(removal.bundles)} bundle(s)", err=True)
        return
    remove_ops.apply(repo, removal)


@click.command()
@click.argument("keywords", nargs=-1)
@click.option("-u", "--uuid-only", is_flag=True, help="Print only ids (for xargs).")
@click.option("--json", "as_json", is_flag=True, help="Print records for scripts.")
@click.option("-a", "--append", is_flag=True, help="Append the bundles found to the current worksheet.")
@pass_repo
def search(repo, keywords, uuid_only, as_json, append):
    """Find bundles with CodaLab's search language: words, FIELD=VALUE
    (`%` wildcards, `a,b` lists), dependency=SPEC, dependency/KEY=SPEC,
    host_worksheet=WS, tag=T, .floating, .mine, .before=DATE, .after=DATE,
    FIELD=.sort, FIELD=.sort-, .last, .limit=N (default 10), .offset=N,
    .count, FIELD=.sum."""
    from cl.bundles.search import search as search_bundles
    result = search_bundles(repo, list(keywords))
    if append and result.rows:
        from cl.objects.types import Item
        from cl.worksheets import ops as ws_ops
        wid = resolve_worksheet(repo, ".")
        ws_ops.add_items(repo, wid, [Item("bundle", r.id) for r in result.rows], "add search results")
    if result.count is not None:
        click.echo(result.count)
    elif result.total is not None:
        click.echo(f"{result.total[1]:g}")
    elif uuid_only:
        click.echo("".join("0x" + r.id + "\n" for r in result.rows), nl=False)
    elif as_json:
        output.as_json([{"id": "0x" + r.id, "name": r.name, "kind": r.kind, "state": r.state,
                         "data_size": r.data_size, "created": info_ops.fmt_time(r.created),
                         "command": r.command} for r in result.rows])
    elif result.rows:
        output.table(LS_HEADERS, [_ls_row(r) for r in result.rows])
