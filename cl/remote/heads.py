"""What a synced ref may point at (docs/protocol.md §6): `bundles/<id>` a
state of that bundle, `worksheets/<wid>` a commit of that worksheet.  One
check for both directions: the server applies it to every update it
receives, the client to every head it fetches, before anything is stored
or merged."""

from cl.objects.ids import ObjectId
from cl.objects.types import WORKSHEET_TYPES, State, Worksheet
from cl.refs.names import bundle_of, worksheet_of
from cl.remote.frames import RemoteError

# The end of an `update` answer whose new head the server does not hold:
# gc took what a `put` stored before the ref could name it (docs/design.md,
# "Receives"); a client sends the objects again and retries.
NOT_HERE = "the object is not here"


def head_problem(name: str, obj) -> str | None:
    """Why `obj` cannot be the value of ref `name`, or None when it can."""
    bid = bundle_of(name)
    if bid is not None:
        if not isinstance(obj, State):
            return "not a state"
        return None if obj.bundle == bid else "a state of another bundle"
    wid = worksheet_of(name)
    if wid is not None:
        if not isinstance(obj, WORKSHEET_TYPES):
            return "not a worksheet commit"
        return None if obj.worksheet == wid else "a commit of another worksheet"
    return "not a ref that can be pushed"


def check_received(remote: str, name: str, oid: str, obj) -> None:
    """Refuse a head a remote sent for `name` that is not of `name`."""
    problem = head_problem(name, obj)
    if problem is not None:
        raise RemoteError(f"remote '{remote}' sent '{name}' pointing at {ObjectId(oid).display}, "
                          f"{problem}; no ref was moved")
