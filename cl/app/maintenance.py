"""Repository upkeep: fsck, gc and reindex."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Fsck, Gc
    from cl.repo import SetAside


def fsck(repo: Repository) -> Fsck:
    """Re-hash every object and check that everything named is present."""
    from cl.app.records import Fsck
    from cl.bundles import maintenance
    report = maintenance.fsck(repo)
    return Fsck(report.objects, report.bytes, tuple(report.problems), tuple(report.notes))


def gc(repo: Repository, dry_run: bool = False, prune: str = "1h",
       waiting: Callable[[], None] | None = None) -> Gc:
    """Delete objects nothing reaches (older than `prune`, or 'now'),
    stale temporary files, checkouts no run uses, and what executors keep
    outside the repository that no run needs (Slurm's shared directory).
    Safe beside every writer (docs/design.md); `waiting` is called if
    writers make it wait."""
    from cl.app.records import Gc
    from cl.bundles import maintenance
    from cl.bundles.units import parse_duration
    from cl.runs import checkouts, registry
    grace = 0 if prune == "now" else parse_duration(prune)
    report = maintenance.gc(repo, dry_run=dry_run, grace_seconds=grace,
                            busy_checkouts=checkouts.reader(repo), waiting=waiting,
                            sweeps=tuple(registry.sweeps(repo)))
    return Gc(dry_run, report.objects, report.bytes, report.tmp, report.checkouts, report.swept)


def reindex(repo: Repository) -> dict[str, int]:
    """Rebuild the index and heads from the objects alone; counts by kind."""
    from cl.bundles import maintenance
    return dict(maintenance.reindex(repo))


def rebuild(start: str | None = None) -> tuple[dict, SetAside | None, str | None, str | None]:
    """`cl reindex` whatever state repo.db is in: a damaged one is kept
    aside and a new one built (Repository.open_for_reindex), then the
    index and heads are rebuilt; with no current worksheet left and one
    live worksheet, that one becomes current.  Returns (counts, what was
    set aside or None, the name of the worksheet made current or None,
    the current worksheet's id or None)."""
    from cl.bundles import maintenance
    repo, set_aside = Repository.open_for_reindex(start)
    try:
        counts = dict(maintenance.reindex(repo))
        adopted = repo.adopt_sole_worksheet()
        name = repo.index.worksheet(adopted)["name"] if adopted else None
        current = repo.current_worksheet()
    finally:
        repo.close()
    return counts, set_aside, name, current
