"""CodaLab's user, group and permission commands, run against a remote
(`-r NAME`, or the `REMOTE::` prefix of a spec; default origin): uinfo,
uls, gnew, gls, ginfo, grm, uadd, urm, perm, wperm, chown.  Each makes one
call into cl/app/users.py and prints the answer."""

import click

from cl.app import users
from cl.cli import output
from cl.cli.context import json_option, pass_repo


def remote_option(f):
    return click.option("-r", "--remote", default=None, metavar="NAME",
                        help="The remote to ask (default: origin, or the specs' REMOTE::).")(f)


def _show(result: dict, as_json: bool, text) -> None:
    if as_json:
        output.as_json(result)
    else:
        text(result)


@click.command()
@click.argument("user", required=False)
@remote_option
@json_option
@pass_repo
def uinfo(repo, user, remote, as_json):
    """Show a user (default: you, as the remote's token names you)."""
    def text(r):
        click.echo(f"user: {r['user']}{'  (root)' if r['root'] else ''}")
        for g in r["groups"]:
            click.echo(f"group: {g['group']}{'  (admin)' if g['admin'] else ''}")
    _show(users.ask(repo, remote, "uinfo", {"user": user} if user else {}), as_json, text)


@click.command()
@remote_option
@json_option
@pass_repo
def uls(repo, remote, as_json):
    """List the remote's users."""
    _show(users.ask(repo, remote, "uls"), as_json, lambda r: [
        click.echo(u["user"] + ("\troot" if u["root"] else "")) for u in r["users"]])


@click.command()
@click.argument("group")
@remote_option
@json_option
@pass_repo
def gnew(repo, group, remote, as_json):
    """Create a group; you become its admin."""
    _show(users.ask(repo, remote, "gnew", {"group": group}), as_json,
          lambda r: click.echo(r["group"]))


@click.command()
@remote_option
@json_option
@pass_repo
def gls(repo, remote, as_json):
    """List the groups you are in (root: all)."""
    _show(users.ask(repo, remote, "gls"), as_json, lambda r: [
        click.echo(f"{g['group']}\t{g['owner'] or '-'}\t{'admin' if g['admin'] else 'member'}")
        for g in r["groups"]])


@click.command()
@click.argument("group")
@remote_option
@json_option
@pass_repo
def ginfo(repo, group, remote, as_json):
    """Show a group's owner and members."""
    def text(r):
        click.echo(f"group: {r['group']}  owner: {r['owner'] or '-'}")
        for m in r["members"]:
            click.echo(f"{m['user']}\t{'admin' if m['admin'] else 'member'}")
    _show(users.ask(repo, remote, "ginfo", {"group": group}), as_json, text)


@click.command()
@click.argument("group")
@remote_option
@json_option
@pass_repo
def grm(repo, group, remote, as_json):
    """Remove a group (its owner or root)."""
    _show(users.ask(repo, remote, "grm", {"group": group}), as_json,
          lambda r: click.echo(f"removed group {group}", err=True))


@click.command()
@click.argument("user")
@click.argument("group")
@click.option("-a", "--admin", is_flag=True, help="Make the user an admin of the group.")
@remote_option
@json_option
@pass_repo
def uadd(repo, user, group, admin, remote, as_json):
    """Add a user to a group (a group admin or root)."""
    _show(users.ask(repo, remote, "uadd", {"user": user, "group": group, "admin": admin}), as_json,
          lambda r: click.echo(f"added {user} to {group}" + (" as admin" if admin else ""), err=True))


@click.command()
@click.argument("user")
@click.argument("group")
@remote_option
@json_option
@pass_repo
def urm(repo, user, group, remote, as_json):
    """Remove a user from a group (a group admin, root, or the user)."""
    _show(users.ask(repo, remote, "urm", {"user": user, "group": group}), as_json,
          lambda r: click.echo(f"removed {user} from {group}", err=True))


def _granted(r: dict) -> None:
    for ref in r["refs"]:
        click.echo(f"{ref}: {r['group']} {r['level']}")


@click.command()
@click.argument("bundles", nargs=-1, required=True, metavar="BUNDLE...")
@click.argument("group")
@click.argument("level", type=click.Choice(["none", "read", "all"]))
@remote_option
@json_option
@pass_repo
def perm(repo, bundles, group, level, remote, as_json):
    """Give GROUP none, read or all permission on bundles (needs all)."""
    _show(users.ask(repo, remote, "perm", {"group": group, "level": level}, bundles, "bundle"),
          as_json, _granted)


@click.command()
@click.argument("worksheet")
@click.argument("group")
@click.argument("level", type=click.Choice(["none", "read", "all"]))
@remote_option
@json_option
@pass_repo
def wperm(repo, worksheet, group, level, remote, as_json):
    """Give GROUP none, read or all permission on a worksheet (needs all)."""
    _show(users.ask(repo, remote, "perm", {"group": group, "level": level}, [worksheet],
                    "worksheet"), as_json, _granted)


@click.command()
@click.argument("user")
@click.argument("bundles", nargs=-1, required=True, metavar="BUNDLE...")
@remote_option
@json_option
@pass_repo
def chown(repo, user, bundles, remote, as_json):
    """Make USER the owner of bundles (their owner or root)."""
    _show(users.ask(repo, remote, "chown", {"user": user}, bundles, "bundle"), as_json,
          lambda r: [click.echo(f"{ref}: owner {user}") for ref in r["refs"]])
