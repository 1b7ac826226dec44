"""Repository commands: init, status, fsck, gc, reindex, config."""

import os

import click

from cl.cli import output
from cl.cli.context import pass_repo
from cl.errors import InputError
from cl.repo import Repository


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--bare", is_flag=True, help="The directory itself is the repository (for servers and shared remotes).")
@click.option("-w", "--worksheet", help="Name of the first worksheet (default: the directory's name).")
def init(directory, bare, worksheet):
    """Create a cl repository (.codalab) in DIRECTORY."""
    try:
        os.makedirs(directory, exist_ok=True)
        repo = Repository.init(directory, bare=bare, worksheet=worksheet)
    except OSError as exc:
        raise InputError(f"cannot create a repository in '{directory}': {exc.strerror or exc}") from None
    wid = repo.current_worksheet()
    ws = repo.index.worksheet(wid)
    click.echo(f"Initialized empty cl repository in {repo.root}")
    click.echo(f"Current worksheet: {ws['name']}")
    repo.close()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a record for scripts.")
@pass_repo
def status(repo, as_json):
    """Where the repository is, the current worksheet, and what it holds."""
    objects = total = 0
    for fan in os.scandir(repo.path("objects")):
        if fan.is_dir():
            for entry in os.scandir(fan.path):
                objects += 1
                total += entry.stat().st_size
    wid = repo.current_worksheet()
    ws = repo.index.worksheet(wid) if wid else None
    rec = {"repository": repo.root, "worksheet": ws["name"] if ws else None,
           "bundles": repo.index.counts_by_state(), "objects": objects, "bytes": total}
    if as_json:
        output.as_json(rec)
        return
    click.echo(f"repository: {rec['repository']}")
    click.echo(f"worksheet: {rec['worksheet'] or '(none)'}")
    counts = rec["bundles"]
    click.echo(f"bundles: {sum(counts.values())}"
               + ("" if not counts else " (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"))
    click.echo(f"objects: {objects} ({output.size(total)})")


@click.command()
@pass_repo
def fsck(repo):
    """Re-hash every object and check that everything named is present."""
    from cl.bundles import maintenance  # fsck, gc and reindex only: not for `cl status`
    report = maintenance.fsck(repo)
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
@pass_repo
def gc(repo, dry_run, prune):
    """Delete objects that no bundle or worksheet reaches, stale temporary
    files and unused checkouts."""
    from cl.bundles import maintenance
    from cl.bundles.units import parse_duration
    grace = 0 if prune == "now" else parse_duration(prune)
    busy = _busy_checkouts(repo)
    report = maintenance.gc(repo, dry_run=dry_run, grace_seconds=grace, busy_checkouts=busy)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {report.objects} objects ({output.size(report.bytes)}), "
               f"{report.tmp} temporary files, {report.checkouts} checkouts")


def _busy_checkouts(repo) -> set[str]:
    try:
        from cl.runs.checkouts import busy_checkouts
    except ImportError:
        return set()
    return busy_checkouts(repo)


@click.command()
def reindex():
    """Rebuild repo.db's index and heads from the objects alone (a damaged
    repo.db is kept aside)."""
    from cl.bundles import maintenance
    repo, set_aside = Repository.open_for_reindex()
    try:
        counts = maintenance.reindex(repo)
        adopted = repo.adopt_sole_worksheet()
        adopted = adopted and repo.index.worksheet(adopted)["name"]
        for note in output.reindex_notes(set_aside, repo.current_worksheet(), adopted):
            click.echo(f"cl: {note}", err=True)
    finally:
        repo.close()
    click.echo(f"reindexed {counts['bundles']} bundles, {counts['worksheets']} worksheets")


@click.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--list", "list_", is_flag=True, help="Every setting: its value, type and what it does.")
@click.option("--global", "global_", is_flag=True,
              help="The user's own config.toml (~/.config/cl), under every repository's.")
@click.option("--show-origin", is_flag=True, help="Say where each value comes from.")
def config(key, value, list_, global_, show_origin):
    """Show or set configuration: `cl config run.image IMAGE`.

    A value comes from the environment (CL_RUN_IMAGE for run.image), else
    the repository's config.toml, else the user's, else the default."""
    from cl.config import Config, display, dumps, known
    if global_:
        settings = Config.user_wide()
    else:
        repo = Repository.find()
        click.get_current_context().call_on_close(repo.close)
        settings = repo.config
    if list_:
        rows = settings.listing()
        headers = ["setting", "value", "origin", "type", "description"]
        if not show_origin:
            headers.pop(2)
            rows = [r[:2] + r[3:] for r in rows]
        output.table(headers, rows)
        return
    if key is None:
        click.echo(dumps(settings.data), nl=False)
        return
    table, _, name = key.rpartition(".")
    if value is None:
        known(key)
        current, origin = settings.lookup(table, name)
        if current is None:
            raise SystemExit(1)
        click.echo((f"{origin}\t" if show_origin else "") + display(current))
        return
    settings.set(table, name, value)
    settings.save()
