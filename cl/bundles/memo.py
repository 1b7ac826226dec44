"""Memoized runs: find a finished run that a new run would only repeat.

Two runs are the same computation when their command, every dependency
(key, bundle and path) and the image digest they run in are identical.
Everything they read is content-addressed — a bundle id names fixed bytes,
a digest names a fixed image — so reusing any such `ready` run is safe,
whoever made it (CodaLab only reused the same owner's runs)."""

from typing import Iterable

from cl.index import provenance as q
from cl.objects.ids import ObjectId
from cl.objects.types import Dependency, Item, Result, State
from cl.repo import Repository

# Keys under which a result's `image` map may carry the resolved image:
# a registry digest (`name@sha256:…`) is the most portable, the local image
# id still names fixed bytes.
DIGEST_KEYS = ("digest", "id")


def digest_of(image: dict | None) -> str | None:
    """The content name of the image a result recorded, or None (no image:
    the local executor, or a run that never started)."""
    for key in DIGEST_KEYS:
        value = (image or {}).get(key)
        if value:
            return str(value)
    return None


def recorded_digest(repo: Repository, state: State) -> str | None:
    """The digest of the image a run's result recorded (None without one)."""
    if state.result is None:
        return None
    return digest_of(repo.read(state.result, Result).image)


def _edges(dependencies: Iterable) -> list[tuple[str, str, str]]:
    out = []
    for d in dependencies:
        if isinstance(d, Dependency):
            out.append((d.key, str(d.bundle), d.path))
        else:
            key, bundle, path = d
            out.append((key, str(bundle), path))
    return sorted(out)


def find_memoized(repo: Repository, command: str, dependencies: Iterable,
                  image_digest: str | None) -> ObjectId | None:
    """The oldest live `ready` run with exactly this command, these
    dependencies (Dependency values or (key, bundle, path) tuples) and this
    image digest (None matches only runs that recorded no image), or None.

    Candidates come from the dependency index (runs depending on the first
    dependency with the same command), so the lookup reads a handful of
    objects however large the repository."""
    wanted = _edges(dependencies)
    first = wanted[0][1] if wanted else None
    for bid in q.ready_runs_with(repo.db, command, first):
        if _edges(repo.index.dependencies(bid)) != wanted:
            continue
        _, state = repo.head_state(bid)
        if state.state != "ready":
            continue
        if recorded_digest(repo, state) == (image_digest or None):
            return ObjectId(bid)
    return None



def place(repo: Repository, bid: ObjectId, worksheet: str | None = None) -> None:
    """Put a reused run on a worksheet as a new run would be (None: the
    current one; "": none), so reusing looks like running."""
    wid = repo.current_worksheet() if worksheet is None else worksheet
    if wid:
        repo.append_to_worksheet(wid, (Item("bundle", bid),), f"add 0x{bid[:8]} (reused)")
