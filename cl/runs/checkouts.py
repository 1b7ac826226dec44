"""Which shared checkouts (`.codalab/checkouts/<id>[-x]`) runs are using,
so that `cl gc` leaves them alone.

A run uses checkouts from its claim (cl/index/runs.py: a worker claims a
run before it checks out its dependencies) until the claim is released
with its final state.  The checkouts of a claimed run are those of its
dependencies' contents -- or of a path inside them, or of each entry of a
directory mounted at `.` -- so every tree and file id inside each
dependency's contents is counted as in use: a few names too many, never
one too few.  gc asks while holding the gc lock, and a worker checks out
inside a write span (cl/runs/job.py), so a checkout made for a run claimed
after gc asked waits for gc and is made afresh."""

from typing import Callable

from cl.errors import CLError, CorruptObject, ObjectMissing
from cl.index import runs as rindex
from cl.objects.trees import read_tree
from cl.objects.types import MODE_DIR
from cl.repo import Repository


def reader(repo: Repository) -> Callable[[], set[str]]:
    """`busy_checkouts` for gc to call under the gc lock.  The claims
    tables are made now if missing: under the gc lock gc only reads
    SQLite (never waiting for its write lock, which a writer waiting for
    the gc lock may hold)."""
    rindex.ensure(repo.db)
    return lambda: busy_checkouts(repo)


def busy_checkouts(repo: Repository) -> set[str]:
    """Names under checkouts/ that a claimed run may be using."""
    ids: set[str] = set()
    for claim in rindex.claims(repo.db):
        try:
            bundle = repo.bundle(claim["bundle"])
        except (ObjectMissing, CorruptObject):
            continue  # no bundle, no dependencies to keep
        for dep in bundle.dependencies:
            try:
                contents = repo.contents(dep.bundle)
            except CLError:  # no such bundle, or a missing or corrupt object
                continue  # the run fails for it; nothing of it is checked out
            if contents is not None:
                _ids_inside(repo, contents.id, contents.mode == MODE_DIR, ids)
    return ids | {f"{oid}-x" for oid in ids}


def _ids_inside(repo: Repository, root: str, is_dir: bool, out: set[str]) -> None:
    stack = [(root, is_dir)]
    while stack:
        oid, is_dir = stack.pop()
        if oid in out:
            continue
        out.add(oid)
        if is_dir:
            try:
                entries = read_tree(repo.store, oid).entries
            except (ObjectMissing, CorruptObject):
                continue
            stack.extend((e.id, e.mode == MODE_DIR) for e in entries)
