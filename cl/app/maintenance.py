"""Repository upkeep: fsck, gc and reindex."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Fsck, Gc


def fsck(repo: Repository) -> Fsck:
    """Re-hash every object and check that everything named is present."""
    from cl.app.records import Fsck
    from cl.bundles import maintenance
    report = maintenance.fsck(repo)
    return Fsck(report.objects, report.bytes, tuple(report.problems), tuple(report.notes))


def gc(repo: Repository, dry_run: bool = False, prune: str = "1h") -> Gc:
    """Delete objects nothing reaches (older than `prune`, or 'now'),
    stale temporary files and checkouts no run uses."""
    from cl.app.records import Gc
    from cl.bundles import maintenance
    from cl.bundles.units import parse_duration
    grace = 0 if prune == "now" else parse_duration(prune)
    report = maintenance.gc(repo, dry_run=dry_run, grace_seconds=grace, busy_checkouts=_busy_checkouts(repo))
    return Gc(dry_run, report.objects, report.bytes, report.tmp, report.checkouts)


def _busy_checkouts(repo: Repository) -> set[str]:
    try:
        from cl.runs.checkouts import busy_checkouts
    except ImportError:
        return set()
    return busy_checkouts(repo)


def reindex(repo: Repository) -> dict[str, int]:
    """Rebuild the index and heads from the objects alone; counts by kind."""
    from cl.bundles import maintenance
    return dict(maintenance.reindex(repo))
