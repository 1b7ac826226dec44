"""CodaLab's group and permission commands as actions a principal asks of
the server (the sync protocol's `access` operation, docs/protocol.md):
uinfo, uls, gnew, gls, ginfo, grm, uadd, urm, perm, chown and `show`
(owner and permissions of refs, for `cl info` / `cl wls`).  Each checks
who asks before it changes anything; a refusal is an AccessDenied."""

from cl.auth.policy import LEVEL_NAMES, LEVELS, PUBLIC, Policy, owned_ref
from cl.auth.users import check_name
from cl.errors import CLError, UsageError


class AccessDenied(CLError):
    """The principal may not do this."""


def _str(args: dict, key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"'{key}' must be a non-empty string")
    return value


def _refs(args: dict) -> list[str]:
    refs = args.get("refs")
    if not isinstance(refs, list) or not refs or len(refs) > 10_000 or not all(
            isinstance(r, str) and owned_ref(r) for r in refs):
        raise UsageError("'refs' must be a list of bundles/<id> or worksheets/<wid> names")
    return refs


def _signed_in(policy: Policy) -> str:
    if policy.principal.user is None:
        raise AccessDenied("sign in first (anonymous users may only read)")
    return policy.principal.user


def _group(policy: Policy, name: str, admin: bool = False) -> None:
    """The group must exist (and the principal administer it, with admin)."""
    store = policy.access.store
    if name == PUBLIC:
        if admin:
            raise AccessDenied(f"'{PUBLIC}' is everyone: its members cannot be changed")
        return
    if store.group(name) is None:
        raise UsageError(f"no such group: '{name}'")
    if admin and not policy.principal.root:
        me = _signed_in(policy)
        if not any(u == me and a for u, a in store.members(name)):
            raise AccessDenied(f"{me} is not an admin of group '{name}'")


def _user(policy: Policy, name: str) -> None:
    if policy.access.store.user(name) is None:
        raise UsageError(f"no such user: '{name}'")


def uinfo(policy, args):
    user = args.get("user") or _signed_in(policy)
    if not isinstance(user, str):
        raise UsageError("'user' must be a string")
    if user != policy.principal.user:
        _user(policy, user)
    p = policy.access.principal(user)
    return {"user": user, "root": p.root,
            "groups": [{"group": g, "admin": a} for g, a in policy.access.store.memberships(user)]}


def uls(policy, args):
    _signed_in(policy)
    return {"users": [{"user": n, "root": r} for n, r, _ in policy.access.store.users()]}


def gnew(policy, args):
    me = _signed_in(policy)
    name = check_name("group", _str(args, "group"))
    store = policy.access.store
    if name == PUBLIC or store.group(name) is not None:
        raise UsageError(f"group '{name}' exists already")
    store.add_group(name, me)
    store.set_member(name, me, True)
    return {"group": name}


def gls(policy, args):
    me = _signed_in(policy)
    store = policy.access.store
    mine = dict(store.memberships(me))
    out = [{"group": PUBLIC, "owner": None, "admin": False}]
    for name, owner in store.groups():
        if policy.principal.root or name in mine:
            out.append({"group": name, "owner": owner, "admin": mine.get(name, False)})
    return {"groups": out}


def ginfo(policy, args):
    me = _signed_in(policy)
    name = _str(args, "group")
    _group(policy, name)
    if name == PUBLIC:
        return {"group": PUBLIC, "owner": None, "members": []}
    store = policy.access.store
    members = store.members(name)
    if not policy.principal.root and me not in {u for u, _ in members}:
        raise AccessDenied(f"{me} is not in group '{name}'")
    return {"group": name, "owner": store.group(name)[1],
            "members": [{"user": u, "admin": a} for u, a in members]}


def grm(policy, args):
    me = _signed_in(policy)
    name = _str(args, "group")
    _group(policy, name)
    if name == PUBLIC:
        raise AccessDenied(f"'{PUBLIC}' cannot be removed")
    if not policy.principal.root and policy.access.store.group(name)[1] != me:
        raise AccessDenied(f"only the owner of group '{name}' or root may remove it")
    policy.access.store.remove_group(name)
    return {"group": name}


def uadd(policy, args):
    name, user = _str(args, "group"), _str(args, "user")
    _group(policy, name, admin=True)
    _user(policy, user)
    policy.access.store.set_member(name, user, bool(args.get("admin")))
    return {"group": name, "user": user, "admin": bool(args.get("admin"))}


def urm(policy, args):
    name, user = _str(args, "group"), _str(args, "user")
    if user != policy.principal.user:  # anyone may leave a group
        _group(policy, name, admin=True)
    else:
        _group(policy, name)
    policy.access.store.remove_member(name, user)
    return {"group": name, "user": user}


def perm(policy, args):
    refs, group = _refs(args), _str(args, "group")
    level = args.get("level")
    if level not in LEVELS:
        raise UsageError(f"permission must be none, read or all, not {level!r}")
    _group(policy, group)
    for ref in refs:
        _exists(policy, ref)
        if policy.level(ref) < 2:
            raise AccessDenied(f"{policy.principal.user} may not change the permissions of "
                               f"'{ref}' (needs 'all')")
    for ref in refs:
        policy.access.store.set_perm(ref, group, LEVELS[level])
    return {"refs": refs, "group": group, "level": level}


def chown(policy, args):
    refs, user = _refs(args), _str(args, "user")
    _user(policy, user)
    for ref in refs:
        _exists(policy, ref)
        if not policy.principal.root and policy.access.store.owner(ref) != policy.principal.user:
            raise AccessDenied(f"only the owner of '{ref}' or root may give it away")
    for ref in refs:
        policy.access.store.set_owner(ref, user)
    return {"refs": refs, "user": user}


def show(policy, args):
    """Owner, group permissions and the asker's own level of readable refs."""
    out = {}
    for ref in _refs(args):
        level = policy.level(ref)
        if level < 1:
            continue
        store = policy.access.store
        out[ref] = {"owner": store.owner(ref) or "root",
                    "perms": {g: LEVEL_NAMES[v] for g, v in sorted(store.perms(ref).items())},
                    "mine": LEVEL_NAMES[level]}
    return {"permissions": out}


def _exists(policy, ref):
    if policy.access.refs.get(ref) is None or policy.level(ref) < 1:
        raise UsageError(f"no such ref on this server: '{ref}'")


ACTIONS = {f.__name__: f for f in (uinfo, uls, gnew, gls, ginfo, grm, uadd, urm, perm, chown, show)}


def act(policy: Policy, action, args) -> dict:
    """Run one action for `policy`'s principal."""
    fn = ACTIONS.get(action) if isinstance(action, str) else None
    if fn is None:
        raise UsageError(f"unknown access action {action!r} (known: {', '.join(sorted(ACTIONS))})")
    if not isinstance(args, dict):
        raise UsageError("'args' must be a map")
    return fn(policy, args)
