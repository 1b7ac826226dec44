"""The refs a walk of everything a repository keeps starts from: `cl gc`
keeps what they reach and `cl fsck` checks it.

Two kinds: the local heads, `bundles/<id>` (a bundle's state) and
`worksheets/<wid>` (a worksheet's commit), and the remote-tracking refs
that fetch, push and pull record (cl/sync/tracking.py),
`remotes/NAME/bundles/<id>` and `remotes/NAME/worksheets/<wid>`, with the
same values.  A tracking ref is a root so that what a fetch brought stays
until a later fetch says the remote dropped it: `cl status`, `cl wls
NAME::` and a later pull read those objects.  `remotes/NAME/HEAD` holds a
worksheet id, not an object, and is no root."""

from cl.refs.names import bundle_of, worksheet_of
from cl.refs.store import RefStore

TRACKING = "remotes/"  # remote-tracking refs: remotes/NAME/<a synced ref name>


def _tracked(refs: RefStore, parse) -> list[tuple[str, str, str]]:
    out = []
    for name, value in refs.items(TRACKING):
        _, _, synced = name[len(TRACKING):].partition("/")  # a remote's name has no '/'
        key = parse(synced)
        if key is not None:
            out.append((name, key, value))
    return out


def bundle_roots(refs: RefStore) -> list[tuple[str, str, str]]:
    """(ref name, bundle id, state id) of every local and tracked bundle head."""
    local = [(name, name[len("bundles/"):], value) for name, value in refs.items("bundles/")]
    return local + _tracked(refs, bundle_of)


def worksheet_roots(refs: RefStore) -> list[tuple[str, str, str]]:
    """(ref name, worksheet id, commit id) of every local and tracked worksheet head."""
    local = [(name, name[len("worksheets/"):], value) for name, value in refs.items("worksheets/")]
    return local + _tracked(refs, worksheet_of)
