"""Which refs a push moves: a worksheet's head (its history comes along as
the commit's closure), every bundle on it, and all ancestors of those
bundles (from the index's dependency edges), each bundle with its head
state — whose closure holds results and contents."""

from cl.bundles.specs import expand, resolve_worksheet
from cl.errors import CLError, SpecError
from cl.repo import Repository


def bundle_refs(repo: Repository, bids) -> list[str]:
    seen: dict[str, None] = {}
    stack = list(bids)
    while stack:
        bid = stack.pop()
        if bid in seen:
            continue
        seen[bid] = None
        stack.extend(parent for _, parent, _ in repo.index.dependencies(bid))
    return [f"bundles/{b}" for b in seen if repo.refs.get(f"bundles/{b}")]


def worksheet_refs(repo: Repository, wid: str) -> list[str]:
    _, ws = repo.worksheet_head(wid)
    bids = [i.value for i in ws.items if i.kind == "bundle"]
    return bundle_refs(repo, bids) + [f"worksheets/{wid}"]


def all_refs(repo: Repository) -> list[str]:
    return [name for name, _ in repo.refs.items("bundles/")] + \
        [name for name, _ in repo.refs.items("worksheets/")]


def current_worksheet(repo: Repository) -> str:
    wid = repo.current_worksheet()
    if wid is None:
        raise CLError("there is no current worksheet", hint="name one, or use --all")
    return wid


def push_refs(repo: Repository, what, everything: bool = False) -> list[str]:
    """The refs `cl push [WS|SPEC…] [--all]` moves."""
    if everything:
        return all_refs(repo)
    if not what:
        return worksheet_refs(repo, current_worksheet(repo))
    names: list[str] = []
    for spec in what:
        try:
            wid = resolve_worksheet(repo, spec)
        except SpecError:
            names += bundle_refs(repo, expand(repo, [spec]))
        else:
            names += worksheet_refs(repo, wid)
    return list(dict.fromkeys(names))
