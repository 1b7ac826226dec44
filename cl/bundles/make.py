"""`cl make`: a bundle whose contents are a target, or a directory of keyed
targets.  It reuses the targets' trees: O(1), no bytes copied."""

from cl.bundles.names import default_name, metadata
from cl.bundles.specs import resolve_target
from cl.errors import CLError, InputError
from cl.objects.ids import ObjectId
from cl.objects.ingest import ingest_entries
from cl.objects.trees import lookup
from cl.objects.types import Bundle, Contents, Dependency
from cl.repo import Repository, new_nonce, now_ns


def target_contents(repo: Repository, bid: str, path: str) -> Contents:
    _, state = repo.head_state(bid)
    if state.deleted or state.data_deleted:
        # Its objects may be gone (cl gc): a new bundle must not name them.
        raise CLError(f"the data of bundle 0x{bid[:8]} has been deleted")
    contents = repo.contents(bid, state)
    if contents is None:
        row = repo.index.bundle(bid)
        raise CLError(f"bundle 0x{bid[:8]} has no contents yet (state {row.state if row else '?'})")
    return lookup(repo.store, contents, path) if path else contents


def parse_keyed(arg: str) -> tuple[str, str]:
    """`key:target` -> (key, target); a bare target has key ''."""
    if ":" in arg and "::" not in arg:
        key, target = arg.split(":", 1)
        return key, target
    return "", arg


def make(repo: Repository, targets: list[str], name: str | None = None, description: str = "",
         tags=(), worksheet: str | None = None, args: str = "") -> ObjectId:
    if not targets:
        raise InputError("nothing to make: give at least one target")
    keyed = [parse_keyed(t) for t in targets]
    if len(keyed) > 1 and any(key == "" for key, _ in keyed):
        raise InputError("with several targets every target needs a key (key:target)")
    # From the contents found in the targets to the new ref, one write span:
    # the make names those objects without writing them (docs/design.md).
    with repo.store.writing():
        deps = []
        parts: dict[str, Contents] = {}
        for key, spec in keyed:
            target = resolve_target(repo, spec)
            deps.append(Dependency(key, target.bundle, target.path))
            if key in parts:
                raise InputError(f"duplicate key: '{key}'")
            parts[key] = target_contents(repo, target.bundle, target.path)
        if len(keyed) == 1 and keyed[0][0] == "":
            contents = parts[""]
            dep = deps[0]
            base = dep.path.rsplit("/", 1)[-1] if dep.path else repo.index.bundle(dep.bundle).name
        else:
            contents = ingest_entries(repo.store, parts)
            base = "make"
        md = metadata(name or default_name(base), description, tags)
        bundle = Bundle(kind="make", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                        metadata=md, contents=contents, dependencies=tuple(deps), args=args)
        return repo.add_bundle(bundle, worksheet=worksheet)
