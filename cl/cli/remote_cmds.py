"""Sharing commands: remote, alias, clone, push, pull, cp, wadd,
serve-stdio and server.  Each parses its arguments, makes one call into
cl/sync or cl/server, and prints the result."""

import sys

import click

from cl.cli import options
from cl.cli.context import pass_repo


def _print_report(report, verb: str) -> None:
    for line in report.lines:
        click.echo(f"{line.kind} {line.label}: {line.status}")
    moved = report.sent if verb == "push" else report.received
    noun = "object" if moved == 1 else "objects"
    click.echo(f"{verb} {report.remote}: {moved} {noun} {'sent' if verb == 'push' else 'received'}",
               err=True)
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
    from cl.sync.remotes import add_remote
    add_remote(repo, name, url)


@remote.command("ls")
@pass_repo
def remote_ls(repo):
    """List remotes."""
    from cl.sync.remotes import remotes
    for name, entry in remotes(repo).items():
        click.echo(f"{name}\t{entry.get('url', '')}")


@remote.command("rm")
@click.argument("name")
@pass_repo
def remote_rm(repo, name):
    """Remove a remote."""
    from cl.sync.remotes import remove_remote
    remove_remote(repo, name)


@click.command()
@click.argument("name", required=False)
@click.argument("url", required=False)
@pass_repo
def alias(repo, name, url):
    """Name a remote (as CodaLab's `cl alias`): with no URL, show it; with
    no arguments, list all."""
    from cl.errors import CLError
    from cl.sync.remotes import add_remote, remotes
    known = remotes(repo)
    if name is None:
        for n, entry in known.items():
            click.echo(f"{n}\t{entry.get('url', '')}")
    elif url is None:
        if name not in known:
            raise CLError(f"no such remote: '{name}'")
        click.echo(known[name].get("url", ""))
    else:
        add_remote(repo, name, url)


# --- moving things ------------------------------------------------------------


@click.command()
@click.argument("url")
@click.argument("directory", required=False, type=click.Path())
@click.option("-c", "--config", "settings", multiple=True, metavar="KEY=VALUE",
              help="Set config in the new repository first (e.g. -c ssh.command='ssh -i KEY').")
def clone(url, directory, settings):
    """Copy the repository at URL into DIRECTORY, with `origin` set to URL."""
    from cl.errors import UsageError
    from cl.sync.ops import clone as do_clone
    pairs = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            raise UsageError(f"-c takes KEY=VALUE: '{setting}'")
        pairs[key] = value
    repo, report = do_clone(url, directory, pairs)
    repo.close()
    click.echo(f"cloned {url} into {directory or repo.project_dir}: "
               f"{len([l for l in report.lines if l.kind == 'worksheet'])} worksheets, "
               f"{len([l for l in report.lines if l.kind == 'bundle'])} bundles")


@click.command()
@click.argument("args", nargs=-1, metavar="[REMOTE] [WS|SPEC]...")
@click.option("--all", "everything", is_flag=True, help="Every worksheet and bundle.")
@click.option("--force", is_flag=True, help="Overwrite diverged remote refs instead of merging.")
@pass_repo
def push(repo, args, everything, force):
    """Send worksheets or bundles with their whole closure (history,
    bundles, ancestors, results, contents).  Default: the current worksheet
    to origin.  Prints one line per ref (ok, up to date, merged, forced,
    rejected: …); exits 3 when a ref was rejected."""
    from cl.sync.ops import push as do_push, split_remote_arg
    name, what = split_remote_arg(repo, args)
    _print_report(do_push(repo, name, what, everything, force), "push")


@click.command()
@click.argument("args", nargs=-1, metavar="[REMOTE] [WS|SPEC]...")
@click.option("--all", "everything", is_flag=True, help="Every worksheet and bundle.")
@pass_repo
def pull(repo, args, everything):
    """Fetch worksheets or bundles with their closure and bring the local
    refs up to date, merging diverged ones.  Default: the current worksheet
    from origin."""
    from cl.sync.ops import pull as do_pull, split_remote_arg
    name, what = split_remote_arg(repo, args)
    _print_report(do_pull(repo, name, what, everything), "pull")


@click.command()
@click.argument("spec")
@click.argument("worksheet")
@pass_repo
def cp(repo, spec, worksheet):
    """Add a bundle to a worksheet: cl cp [REMOTE::]SPEC [REMOTE::]WS.
    Between repositories the bundle travels with its dependencies."""
    from cl.sync.copy import copy_bundle
    line = copy_bundle(repo, spec, worksheet)
    click.echo(line)


@click.command()
@click.argument("source")
@click.argument("dest")
@pass_repo
def wadd(repo, source, dest):
    """Append the items of one worksheet to another: cl wadd
    [REMOTE::]WS [REMOTE::]WS.  Bundles travel with their dependencies."""
    from cl.sync.copy import copy_items
    click.echo(copy_items(repo, source, dest))


# --- serving ------------------------------------------------------------------


@click.command("serve-stdio")
@click.argument("path", type=click.Path())
def serve_stdio(path):
    """Serve the repository at PATH over standard input/output (what SSH
    remotes run on the far side)."""
    from cl.sync.serve import serve_stdio as serve
    serve(path)


@click.command()
@click.argument("args", nargs=-1, metavar="[DIR] | token add NAME [DIR]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=2800, show_default=True, type=options.PORT)
def server(args, host, port):
    """Serve a repository over HTTP, or make an access token for it.

    \b
    cl server [--host H] [--port P] [DIR]   serve DIR (default: this repository)
    cl server token add NAME [DIR]          make a token for NAME (printed once)

    Binds to 127.0.0.1 unless --host says otherwise; requests without a
    valid token are refused."""
    from cl.errors import UsageError
    from cl.server import run
    if args[:2] == ("token", "add"):
        if len(args) not in (3, 4):
            raise UsageError("usage: cl server token add NAME [DIR]")
        click.echo(run.add_token(args[2], args[3] if len(args) == 4 else None))
        return
    if len(args) > 1 or (args and args[0] == "token"):
        raise UsageError("usage: cl server [--host H] [--port P] [DIR] | cl server token add NAME [DIR]")
    run.serve(args[0] if args else None, host, port,
              announce=lambda text: click.echo(text, err=True))
