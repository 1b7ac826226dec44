"""`cl edit`: append a state with new metadata; history is kept."""

from cl.bundles.names import check_name
from cl.errors import CLError
from cl.objects.types import State
from cl.objects.value import replace
from cl.repo import Repository


FROZEN = "frozen"  # metadata key: true while the bundle's metadata may not change (cl edit --freeze)


def edit(repo: Repository, bid: str, name: str | None = None, description: str | None = None,
         tags=None, fields: dict | None = None, frozen: bool | None = None) -> State:
    """A new state with the changes.  A frozen bundle refuses every change
    but `frozen=False` (checked on the head the change applies to)."""
    def change(state: State) -> State:
        md = dict(state.metadata)
        if md.get(FROZEN) and frozen is not False:
            raise CLError(f"bundle '{md.get('name', '')}' (0x{bid[:8]}) is frozen",
                          hint="unfreeze it first: cl edit --unfreeze")
        if frozen:
            md[FROZEN] = True
        elif frozen is False:
            md.pop(FROZEN, None)
        if name is not None:
            md["name"] = check_name(name)
        if description is not None:
            md["description"] = description
        if tags is not None:
            md["tags"] = list(tags)
        for key, value in (fields or {}).items():
            md[key] = value
        check_name(md.get("name", ""))
        return replace(state, metadata=md)

    return repo.update_state(bid, change)


def history(repo: Repository, bid: str) -> list[tuple[str, State]]:
    """Every state of a bundle, newest first (first parent chain)."""
    out = []
    sid, state = repo.head_state(bid)
    while True:
        out.append((sid, state))
        if not state.parents:
            return out
        sid = state.parents[0]
        state = repo.read(sid, State)
