"""What `cl gc` removes from a Slurm worker's shared directory
(`slurm.shared_dir`): the part of `<shared_dir>/cl-<repo key>/` that no
live run needs.  SlurmExecutor.sweeper hands `sweep_shared` to gc
(cl/runs/registry.py collects the sweepers of every executor)."""

import os

from cl.index import runs as rindex
from cl.objects.checkout import remove_tree
from cl.objects.types import FINAL_STATES


def sweep_shared(repo, base: str, busy: set[str], dry_run: bool) -> int:
    """Remove what `<shared_dir>/cl-<repo key>/` (`base`) holds that no live
    run needs; how many entries (or would, with `dry_run`).  Called by
    `cl gc` holding the gc lock.

    * `checkouts/<id>[-x]`, staged dependencies: all but the names in `busy`
      (those of every claimed run's dependencies, cl/runs/checkouts.py).
      A worker stages inside a write span (cl/runs/job.py), so none is
      staging now, and leftovers of one that died (`*.tmp-*`) go too; a
      run claimed after gc asked stages again once gc is done.
    * `runs/<id>` and `runs/<id>.usage`: those of runs that have ended (or
      are gone from the repository) and that no worker holds.  A run that
      has not ended may be claimed again at any moment and its directory
      made afresh, so it is left alone whether claimed or not; an ended one
      is never claimed again, and its worker is done with its directory once
      it has let go of the claim (the outputs are saved first)."""
    doomed = [os.path.join(base, "checkouts", name) for name in _names(os.path.join(base, "checkouts"))
              if name not in busy]
    names = _names(os.path.join(base, "runs"))
    held = {claim["bundle"] for claim in rindex.claims(repo.db)}
    for name in names:
        bid = name.removesuffix(".usage")
        if len(bid) != 64 or bid in held:
            continue
        row = repo.index.bundle(bid, include_deleted=True)
        if row is None or row.state in FINAL_STATES:
            doomed.append(os.path.join(base, "runs", name))
    if not dry_run:
        for path in doomed:
            remove_tree(path)
    return len(doomed)


def _names(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []
