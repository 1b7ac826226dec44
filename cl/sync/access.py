"""CodaLab's user, group and permission commands as seen from a client:
each is one `access` request (docs/protocol.md) to a remote, and bundle or
worksheet specs become the remote's ref names first -- an `origin::spec`
is resolved on the remote, a plain spec here (ids are the same on both
sides)."""

from cl.bundles.spec_grammar import split_remote
from cl.bundles.specs import resolve_bundles, resolve_worksheet
from cl.errors import UsageError
from cl.remote.client import Client
from cl.repo import Repository
from cl.sync.remotes import open_remote
from cl.sync.view import RemoteView


def pick_remote(specs, remote: str | None) -> str | None:
    """The one remote the specs' `REMOTE::` prefixes (and -r) name."""
    named = {split_remote(s)[0] for s in specs} - {None}
    if remote is not None:
        named.add(remote)
    if len(named) > 1:
        raise UsageError(f"one remote at a time, not {', '.join(sorted(named))}")
    return named.pop() if named else None


def ref_names(repo: Repository, client: Client, specs, kind: str) -> list[str]:
    """`bundles/<id>` or `worksheets/<wid>` for each spec."""
    view = None
    out: list[str] = []
    for spec in specs:
        remote, rest = split_remote(spec)
        if remote is not None:
            view = view or RemoteView(client)
            if kind == "bundle":
                out += [f"bundles/{b}" for b in view.resolve_bundles(rest)]
            else:
                out.append(f"worksheets/{view.resolve_worksheet(rest)}")
        elif kind == "bundle":
            out += [f"bundles/{b}" for b in resolve_bundles(repo, rest)]
        else:
            out.append(f"worksheets/{resolve_worksheet(repo, rest)}")
    return list(dict.fromkeys(out))


def run(repo: Repository, remote: str | None, action: str, args: dict,
        specs=(), kind: str = "bundle") -> dict:
    """Open the remote (from -r, the specs' prefixes, or origin), turn
    `specs` into `args['refs']`, and ask."""
    with open_remote(repo, pick_remote(specs, remote)) as client:
        if specs:
            args = {**args, "refs": ref_names(repo, client, specs, kind)}
        return client.access(action, args)
