"""`cl rm`: mark bundles deleted (their bundle and state objects stay as
tombstones; `cl gc` reclaims their data), refusing when other bundles depend
on them unless those are removed too (`-r`) or `--force`."""

from dataclasses import dataclass

from cl.errors import DependencyError
from cl.objects.ids import ObjectId
from cl.objects.value import replace
from cl.repo import Repository


@dataclass(frozen=True)
class Removal:
    bundles: tuple[ObjectId, ...]
    data_only: bool


def descendants(repo: Repository, roots) -> list[ObjectId]:
    """Live bundles derived from `roots`, breadth first, roots excluded."""
    seen = set(roots)
    order: list[ObjectId] = []
    frontier = list(roots)
    while frontier:
        nxt = []
        for bid in frontier:
            for child, _ in repo.index.dependents(bid):
                if child not in seen:
                    seen.add(child)
                    order.append(ObjectId(child))
                    nxt.append(child)
        frontier = nxt
    return order


def plan(repo: Repository, ids: list[ObjectId], recursive=False, force=False,
         data_only=False) -> Removal:
    targets = list(dict.fromkeys(ids))
    if recursive:
        targets += [d for d in descendants(repo, targets) if d not in targets]
    if not force and not data_only:
        chosen = set(targets)
        for bid in targets:
            blockers = [c for c, _ in repo.index.dependents(bid) if c not in chosen]
            if blockers:
                names = ", ".join(f"{repo.index.bundle(c).name}(0x{c[:8]})" for c in blockers)
                raise DependencyError(
                    f"0x{bid[:8]} has dependents: {names}",
                    hint="remove them too with -r, or break them with --force")
    return Removal(tuple(targets), data_only)


def apply(repo: Repository, removal: Removal) -> None:
    chosen = set(removal.bundles)
    with repo.store.writing(), repo.db.transaction():  # the span first (docs/design.md)
        for bid in removal.bundles:
            if removal.data_only:
                repo.update_state(bid, lambda s: replace(s, data_deleted=True))
            else:
                repo.update_state(bid, lambda s: replace(s, deleted=True))
        if not removal.data_only:
            for wid in {w for bid in removal.bundles for w in repo.index.host_worksheets(bid)}:
                repo.commit_worksheet(
                    wid, lambda ws: replace(ws, items=tuple(
                        i for i in ws.items if not (i.kind == "bundle" and i.value in chosen))),
                    f"rm {len(chosen)} bundle(s)")
