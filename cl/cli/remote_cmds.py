"""Sharing commands: remote, alias, clone, push, pull, cp, wadd,
serve-stdio (`cl server` is in server_cmds.py).  Each parses its arguments, makes one call into
cl/app/sharing.py (or starts cl/server), and prints the result."""

import sys

import click

from cl.app import sharing
from cl.cli import options, output
from cl.cli.context import json_option, pass_repo
from cl.errors import UsageError


def _print_report(report, verb: str, as_json: bool = False) -> None:
    if as_json:
        output.as_json(report.to_json())
        if report.rejected:
            sys.exit(3)
        return
    for line in report.lines:
        click.echo(f"{line.kind} {line.label}: {line.status}")
    moved = report.sent if verb == "push" else report.received
    click.echo(f"{verb} {report.remote}: {output.counted(moved, 'object')} {'sent' if verb == 'push' else 'received'}",
               err=True)
    for warning in report.warnings:
        click.echo(f"{verb} {report.remote}: warning: {warning}", err=True)
    if report.rejected:
        sys.exit(3)


# --- remotes ------------------------------------------------------------------


@click.group()
def remote():
    """Manage remotes: other repositories to push to and pull from."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@pass_repo
def remote_add(repo, name, url):
    """Add a remote NAME at URL (ssh://host/path, user@host:path,
    http://host:port, or a directory)."""
    sharing.add_remote(repo, name, url)


@remote.command("ls")
@json_option
@pass_repo
def remote_ls(repo, as_json):
    """List remotes."""
    if as_json:
        output.as_json(sharing.remotes(repo))
        return
    for name, url in sharing.remotes(repo).items():
        click.echo(f"{name}\t{url}")


@remote.command("rm")
@click.argument("name")
@pass_repo
def remote_rm(repo, name):
    """Remove a remote."""
    sharing.remove_remote(repo, name)


@click.command()
@click.argument("name", required=False)
@click.argument("url", required=False)
@click.option("-r", "--remove", is_flag=True, help="Remove the alias NAME.")
@json_option
@pass_repo
def alias(repo, name, url, remove, as_json):
    """Name a remote (as CodaLab's `cl alias`): with no URL, show it; with
    no arguments, list all; `-r NAME` removes it."""
    if remove:
        if name is None or url is not None:
            raise UsageError("cl alias -r takes one NAME")
        sharing.remove_remote(repo, name)
    elif as_json and url is None:
        known = sharing.remotes(repo)
        output.as_json(known if name is None else {name: sharing.remote_url(repo, name)})
    elif name is None:
        for n, known in sharing.remotes(repo).items():
            click.echo(f"{n}\t{known}")
    elif url is None:
        click.echo(sharing.remote_url(repo, name))
    else:
        sharing.add_remote(repo, name, url)


# --- moving things ------------------------------------------------------------


@click.command()
@click.argument("url")
@click.argument("directory", required=False, type=click.Path())
@click.option("-c", "--config", "settings", multiple=True, metavar="KEY=VALUE",
              help="Set config in the new repository first (e.g. -c ssh.command='ssh -i KEY').")
@json_option
def clone(url, directory, settings, as_json):
    """Copy the repository at URL into DIRECTORY, with `origin` set to URL."""
    with output.transfer_progress() as progress:
        repo, done = sharing.clone(url, directory, sharing.parse_settings(settings), progress)
    repo.close()
    if as_json:
        output.as_json(done.to_json())
        return
    click.echo(f"cloned {url} into {done.directory}: {output.counted(done.worksheets, 'worksheet')}, "
               f"{output.counted(done.bundles, 'bundle')}")


@click.command()
@click.argument("args", nargs=-1, metavar="[REMOTE] [WS|SPEC]...")
@click.option("--all", "everything", is_flag=True, help="Every worksheet and bundle.")
@click.option("--force", is_flag=True, help="Overwrite diverged remote refs instead of merging.")
@json_option
@pass_repo
def push(repo, args, everything, force, as_json):
    """Send worksheets or bundles with their whole closure (history,
    bundles, ancestors, results, contents).  Default: the current worksheet
    to origin.  Prints one line per ref (ok, up to date, merged, forced,
    rejected: …); exits 3 when a ref was rejected."""
    with output.transfer_progress() as progress:
        report = sharing.push(repo, args, everything, force, progress)
    _print_report(report, "push", as_json)


@click.command()
@click.argument("args", nargs=-1, metavar="[REMOTE] [WS|SPEC]...")
@click.option("--all", "everything", is_flag=True, help="Every worksheet and bundle.")
@json_option
@pass_repo
def pull(repo, args, everything, as_json):
    """Fetch worksheets or bundles with their closure and bring the local
    refs up to date, merging diverged ones.  Default: the current worksheet
    from origin."""
    with output.transfer_progress() as progress:
        report = sharing.pull(repo, args, everything, progress)
    _print_report(report, "pull", as_json)


@click.command()
@click.argument("remote", required=False)
@json_option
@pass_repo
def fetch(repo, remote, as_json):
    """Bring a remote's worksheets and bundles into this repository and
    record them as remote-tracking refs (remotes/NAME/...), without
    changing any local worksheet.  Default: origin."""
    done = sharing.fetch(repo, remote)
    if as_json:
        output.as_json({"remote": done.remote, "worksheets": done.worksheets, "bundles": done.bundles,
                        "changed": done.changed, "received": done.received})
        return
    click.echo(f"fetch {done.remote}: {output.counted(done.worksheets, 'worksheet')}, "
               f"{output.counted(done.bundles, 'bundle')}, {output.counted(done.changed, 'ref')} changed, "
               f"{output.counted(done.received, 'object')} received")


@click.command()
@click.argument("spec")
@click.argument("worksheet")
@json_option
@pass_repo
def cp(repo, spec, worksheet, as_json):
    """Add a bundle to a worksheet: cl cp [REMOTE::]SPEC [REMOTE::]WS.
    Between repositories the bundle travels with its dependencies."""
    _said(sharing.cp(repo, spec, worksheet), as_json)


def _said(line: str, as_json: bool) -> None:
    """The one line cp and wadd print, or {"result": line} with --json."""
    if as_json:
        output.as_json({"result": line})
    else:
        click.echo(line)


@click.command()
@click.argument("source")
@click.argument("dest")
@click.option("-r", "--replace", "replace_items", is_flag=True,
              help="Replace the destination's items instead of appending (its bundles are only detached).")
@json_option
@pass_repo
def wadd(repo, source, dest, replace_items, as_json):
    """Append the items of one worksheet to another: cl wadd
    [REMOTE::]WS [REMOTE::]WS.  Bundles travel with their dependencies."""
    _said(sharing.wadd(repo, source, dest, replace_items), as_json)


# --- serving ------------------------------------------------------------------


@click.command("serve-stdio")
@click.argument("path", type=click.Path())
def serve_stdio(path):
    """Serve the repository at PATH over standard input/output (what SSH
    remotes run on the far side)."""
    sharing.serve_stdio(path)
