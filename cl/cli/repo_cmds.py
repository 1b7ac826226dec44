"""Repository commands: init, status, fsck, gc, reindex, config."""

import click

from cl.app import repository as app_repo
from cl.cli import output
from cl.cli.context import json_option, pass_repo
from cl.errors import UsageError


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--bare", is_flag=True, help="The directory itself is the repository (for servers and shared remotes).")
@click.option("-w", "--worksheet", help="Name of the first worksheet (default: the directory's name).")
@json_option
def init(directory, bare, worksheet, as_json):
    """Create a cl repository (.codalab) in DIRECTORY."""
    repo, made = app_repo.init(directory, bare=bare, worksheet=worksheet)
    repo.close()
    if as_json:
        output.as_json(made.to_json())
        return
    click.echo(f"Initialized empty cl repository in {made.repository}")
    click.echo(f"Current worksheet: {made.worksheet}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a record for scripts.")
@pass_repo
def status(repo, as_json):
    """Where the repository is, the current worksheet, and what it holds."""
    rec = app_repo.status(repo).to_json()
    if as_json:
        output.as_json(rec)
        return
    click.echo(f"repository: {rec['repository']}")
    click.echo(f"worksheet: {rec['worksheet'] or '(none)'}")
    counts = rec["bundles"]
    click.echo(f"bundles: {sum(counts.values())}"
               + ("" if not counts else " (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"))
    click.echo(f"objects: {rec['objects']} ({output.size(rec['bytes'])})")


@click.command()
@json_option
@pass_repo
def fsck(repo, as_json):
    """Re-hash every object and check that everything named is present."""
    from cl.app import maintenance  # fsck, gc and reindex only: not for `cl status`
    report = maintenance.fsck(repo)
    if as_json:
        output.as_json(report.to_json())
        if report.problems:
            raise SystemExit(1)
        return
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"checked {report.objects} objects ({output.size(report.bytes)}): "
               + (f"{len(report.problems)} problem(s)" if report.problems else "ok"), err=True)
    if report.problems:
        raise SystemExit(1)


@click.command()
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be deleted.")
@click.option("--prune", default="1h", show_default=True,
              help="Only delete unreachable objects and tmp files older than this ('now' for all).")
@json_option
@pass_repo
def gc(repo, dry_run, prune, as_json):
    """Delete objects that no bundle or worksheet reaches, stale temporary
    files and unused checkouts."""
    from cl.app import maintenance
    report = maintenance.gc(repo, dry_run=dry_run, prune=prune)
    if as_json:
        output.as_json(report.to_json())
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {report.objects} objects ({output.size(report.bytes)}), "
               f"{report.tmp} temporary files, {report.checkouts} checkouts")


@click.command()
@json_option
@pass_repo
def reindex(repo, as_json):
    """Rebuild repo.db's index and heads from the objects alone."""
    from cl.app import maintenance
    counts = maintenance.reindex(repo)
    if as_json:
        output.as_json(counts)
        return
    click.echo(f"reindexed {counts['bundles']} bundles, {counts['worksheets']} worksheets")


@click.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("-r", "--remove", is_flag=True, help="Unset KEY.")
@json_option
@pass_repo
def config(repo, key, value, remove, as_json):
    """Show or set configuration: `cl config run.image IMAGE`; `cl config -r KEY` unsets it."""
    if remove:
        if key is None or value is not None:
            raise UsageError("cl config -r takes one KEY")
        old = app_repo.config_remove(repo, key)
        if as_json:
            output.as_json({"key": key, "removed": old})
        return
    if key is None:
        if as_json:
            output.as_json(app_repo.config_data(repo))
        else:
            click.echo(app_repo.config_text(repo), nl=False)
        return
    if value is None:
        current = app_repo.config_get(repo, key)
        if as_json:
            output.as_json({"key": key, "value": current})
        if current is None:
            raise SystemExit(1)
        if not as_json:
            click.echo(current)
        return
    stored = app_repo.config_set(repo, key, value)
    if as_json:
        output.as_json({"key": key, "value": stored})
