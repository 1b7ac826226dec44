"""What every command shares: the lazily opened repository and `--json`."""

import functools

import click

from cl.app.repository import open_repository


def pass_repo(f):
    """Open the repository (walking up from the working directory) only
    when the command runs, and hand it to the command as `repo`."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        root = ctx.find_root()
        repo = root.meta.get("cl.repo")
        if repo is None:
            repo = open_repository()
            root.meta["cl.repo"] = repo
            root.call_on_close(functools.partial(_finish, repo, root.meta))
        value = f(repo, *args, **kwargs)
        root.meta["cl.succeeded"] = True
        return value

    return wrapper


def _finish(repo, meta: dict) -> None:
    """The command is done: `Repository.finish`, with upkeep only if it
    succeeded; upkeep's warning on stderr (the command's outcome stands)."""
    warning = repo.finish(maintain=bool(meta.get("cl.succeeded")))
    if warning:
        click.echo(f"cl: warning: {warning}", err=True)


def json_option(f):
    """`--json`: print the command's records for scripts, in the shape
    docs/api.md documents (the values the Python API returns)."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print records for scripts (shapes: docs/api.md).")(f)


def worksheet_option(text: str):
    """`-w/--worksheet` (CodaLab's `--worksheet-spec` too): the worksheet a
    command works on or resolves `^N` and names on."""
    return click.option("-w", "--worksheet", "--worksheet-spec", "worksheet", help=text)
