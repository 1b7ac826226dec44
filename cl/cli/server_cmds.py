"""`cl server`: serve a repository over HTTP, and manage the people it
knows (users with passwords, tokens bound to them).  Passwords come from a
prompt or, when stdin is not a terminal, its first line: never argv."""

import sys

import click

from cl.cli import options, output
from cl.errors import UsageError

USAGE = """usage: cl server [--host H] [--port P] [--workers N] [DIR]
       cl server user add USER [--root] [DIR] | user passwd USER [DIR]
       cl server user rm USER [DIR] | user ls [--json] [DIR]
       cl server token add USER [DIR] | token ls [--json] [DIR] | token rm ID|TOKEN [DIR]"""


def _password(confirm: bool = True) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError("no password on stdin")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


def _args(args, count: int) -> tuple:
    """`count` positional words and the optional DIR after them."""
    if len(args) not in (count, count + 1):
        raise UsageError(USAGE)
    return tuple(args[:count]) + ((args[count] if len(args) > count else None),)


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[DIR] | user … | token …")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=2800, show_default=True, type=options.PORT)
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 1024),
              help="Also run queued runs in this process, N at a time.")
@click.option("--root", is_flag=True, help="With 'user add': the user may do anything.")
@click.option("--json", "as_json", is_flag=True, help="With 'user ls' or 'token ls': print records.")
def server(args, host, port, workers, root, as_json):
    """Serve a repository over HTTP, or manage its users and tokens.

    \b
    cl server [--host H] [--port P] [--workers N] [DIR]
                                            serve DIR (default: this repository)
    cl server user add USER [--root] [DIR]  add a user (password from a prompt or stdin)
    cl server user passwd USER [DIR]        change a user's password
    cl server user rm USER [DIR]            remove a user and their tokens
    cl server user ls [--json] [DIR]        list users
    cl server token add USER [DIR]          make a token for USER (printed once)
    cl server token ls [--json] [DIR]       list tokens: id, user, when made
    cl server token rm ID|TOKEN [DIR]       revoke a token at once

    The server answers the sync protocol (/sync/v1), the REST API (/rest,
    described at /openapi.json and /api) and, with --workers N, runs the
    queued runs of DIR itself.  Behind a TLS proxy set server.behind_proxy
    and server.public_url (docs/server.md).

    Binds to 127.0.0.1 unless --host says otherwise.  A request with a
    token acts as the token's user; one without reads only what is public;
    one with a wrong token is refused."""
    from cl.server import run
    if args[:2] == ("token", "add"):
        user, directory = _args(args[2:], 1)
        click.echo(run.add_token(user, directory))
    elif args[:2] == ("token", "ls"):
        (directory,) = _args(args[2:], 0)
        rows = run.list_tokens(directory)
        if as_json:
            output.as_json(rows)
            return
        for row in rows:
            click.echo(f"{row['id']}\t{row['user']}\t{row['created'] or '-'}")
    elif args[:2] == ("token", "rm"):
        given, directory = _args(args[2:], 1)
        count = run.remove_token(given, directory)
        click.echo(f"revoked {count} token{'s' if count != 1 else ''}", err=True)
    elif args[:2] == ("user", "add"):
        user, directory = _args(args[2:], 1)
        run.add_user(user, _password(), root, directory)
        click.echo(f"added user {user}" + (" (root)" if root else ""), err=True)
    elif args[:2] == ("user", "passwd"):
        user, directory = _args(args[2:], 1)
        run.set_password(user, _password(), directory)
        click.echo(f"changed the password of {user}", err=True)
    elif args[:2] == ("user", "rm"):
        user, directory = _args(args[2:], 1)
        run.remove_user(user, directory)
        click.echo(f"removed user {user}", err=True)
    elif args[:2] == ("user", "ls"):
        (directory,) = _args(args[2:], 0)
        rows = run.list_users(directory)
        if as_json:
            output.as_json(rows)
            return
        for row in rows:
            click.echo(f"{row['user']}\t{'root' if row['root'] else '-'}\t{row['tokens']} tokens\t"
                       f"{','.join(row['groups']) or '-'}")
    elif args and args[0] in ("user", "token"):
        raise UsageError(USAGE)
    else:
        (directory,) = _args(args, 0)
        run.serve(directory, host, port, announce=lambda text: click.echo(text, err=True), workers=workers,
                  log=lambda text: click.echo(text, err=True))
