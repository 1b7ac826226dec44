"""`cl edit`: append a state with new metadata; history is kept."""

from cl.bundles.names import check_name
from cl.objects.types import State
from cl.objects.value import replace
from cl.repo import Repository


def edit(repo: Repository, bid: str, name: str | None = None, description: str | None = None,
         tags=None, fields: dict | None = None) -> State:
    def change(state: State) -> State:
        md = dict(state.metadata)
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
