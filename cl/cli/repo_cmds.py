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
    if made.worksheet is None:
        click.echo("No worksheet yet: a clone lands on the worksheet pushed here last")
    else:
        click.echo(f"Current worksheet: {made.worksheet}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a record for scripts.")
@pass_repo
def status(repo, as_json):
    """Where the repository is, the current worksheet, and what it holds."""
    from cl.app import sharing
    rec = app_repo.status(repo).to_json()
    rec["remotes"] = {name: [{"worksheet": s.name, "id": "0x" + s.wid, "state": s.state, "ahead": s.ahead,
                              "behind": s.behind} for s in states]
                      for name, states in sharing.tracking_status(repo)}
    if as_json:
        output.as_json(rec)
        return
    click.echo(f"repository: {rec['repository']}")
    click.echo(f"worksheet: {rec['worksheet'] or '(none)'}")
    counts = rec["bundles"]
    click.echo(f"bundles: {sum(counts.values())}"
               + ("" if not counts else " (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"))
    click.echo(f"objects: {rec['objects']} ({output.size(rec['bytes'])})")
    for name, states in rec["remotes"].items():
        for s in states:
            counts = f" ({s['ahead']} ahead, {s['behind']} behind)" if s["state"] == "diverged" else \
                f" ({s['ahead'] or s['behind']})" if s["state"] in ("ahead", "behind") else ""
            click.echo(f"worksheet {s['worksheet']}: {s['state']} {name}{counts}")


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
    report = maintenance.gc(repo, dry_run=dry_run, prune=prune,
                            waiting=lambda: click.echo("waiting for commands that are storing objects", err=True))
    if as_json:
        output.as_json(report.to_json())
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {report.objects} objects ({output.size(report.bytes)}), "
               f"{report.tmp} temporary files, {report.checkouts} checkouts"
               + (f", {report.swept} entries in slurm.shared_dir" if report.swept else ""))


@click.command()
@json_option
def reindex(as_json):
    """Rebuild repo.db's index and heads from the objects alone (a damaged
    repo.db is kept aside)."""
    from cl.app import maintenance
    counts, set_aside, adopted, current = maintenance.rebuild()
    for note in output.reindex_notes(set_aside, current, adopted):
        click.echo(f"cl: {note}", err=True)
    if as_json:
        output.as_json(counts)
        return
    click.echo(f"reindexed {counts['bundles']} bundles, {counts['worksheets']} worksheets")


@click.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--list", "list_", is_flag=True, help="Every setting: its value, type and what it does.")
@click.option("--global", "user_wide", is_flag=True,
              help="The user's own config.toml (~/.config/cl), under every repository's.")
@click.option("--show-origin", is_flag=True, help="Say where each value comes from.")
@click.option("-r", "--remove", is_flag=True, help="Unset KEY.")
@json_option
def config(key, value, list_, user_wide, show_origin, remove, as_json):
    """Show or set configuration: `cl config run.image IMAGE`; `cl config -r KEY` unsets it.

    A value comes from the environment (CL_RUN_IMAGE for run.image), else
    the repository's config.toml, else the user's, else the default."""
    repo = None
    if not user_wide:
        repo = app_repo.open_repository()
        click.get_current_context().call_on_close(repo.close)
    if list_:
        rows = app_repo.config_list(repo, user_wide)
        if as_json:
            output.as_json(rows)
            return
        columns = ["key", "value", "origin", "type", "help"] if show_origin else ["key", "value", "type", "help"]
        output.table(["setting", *columns[1:-1], "description"], [[r[c] for c in columns] for r in rows])
        return
    if remove:
        if key is None or value is not None:
            raise UsageError("cl config -r takes one KEY")
        old = app_repo.config_remove(repo, key, user_wide)
        if as_json:
            output.as_json({"key": key, "removed": old})
        return
    if key is None:
        if as_json:
            output.as_json(app_repo.config_data(repo, user_wide))
        else:
            click.echo(app_repo.config_text(repo, user_wide), nl=False)
        return
    if value is None:
        current, origin = app_repo.config_lookup(repo, key, user_wide)
        if as_json:
            output.as_json({"key": key, "value": current, **({"origin": origin} if show_origin else {})})
        if current is None:
            raise SystemExit(1)
        if not as_json:
            click.echo((f"{origin}\t" if show_origin else "") + app_repo.config_display(current))
        return
    stored = app_repo.config_set(repo, key, value, user_wide)
    if as_json:
        output.as_json({"key": key, "value": stored})
