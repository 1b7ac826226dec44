"""People and permissions: the server owner's user and token management
(on the served repository itself), the policy the HTTP server checks each
request against, and CodaLab's group/permission commands sent to a remote
over the sync protocol's `access` operation."""

from __future__ import annotations

from typing import Any

from cl.repo import Repository


def access_store(repo: Repository):
    """The permission database of `repo` (access.db beside repo.db)."""
    from cl.refs.access import AccessStore
    return AccessStore(repo.root)


def _with_store(repo: Repository, fn):
    store = access_store(repo)
    try:
        return fn(store)
    finally:
        store.close()


def add_user(repo: Repository, name: str, password: str, root: bool = False) -> None:
    from cl.auth import users
    _with_store(repo, lambda s: users.add_user(s, name, password, root))


def set_password(repo: Repository, name: str, password: str) -> None:
    from cl.auth import users
    _with_store(repo, lambda s: users.set_password(s, name, password))


def remove_user(repo: Repository, name: str) -> None:
    from cl.auth import users
    _with_store(repo, lambda s: users.remove_user(s, name))


def list_users(repo: Repository) -> list[dict]:
    from cl.auth import users
    return _with_store(repo, users.users)


def add_token(repo: Repository, user: str) -> str:
    """A new token bound to `user`, to be shown once."""
    from cl.auth import users
    return _with_store(repo, lambda s: users.add_token(s, user))


def _legacy(repo: Repository) -> list[tuple[str, str]]:
    from cl.auth.policy import LEGACY_PREFIX
    return list(repo.refs.items(LEGACY_PREFIX))


def list_tokens(repo: Repository) -> list[dict]:
    """The tokens the server accepts: id, user, created (local time text,
    or None for a token made before users existed)."""
    from cl.auth import users
    from cl.index.index import local_time
    return [{**row, "created": local_time(row["created"]) if row["created"] else None}
            for row in _with_store(repo, lambda s: users.tokens(s, _legacy(repo)))]


def remove_token(repo: Repository, given: str) -> int:
    """Revoke a token (an id from list_tokens, or the token itself) at
    once: a running server refuses it from its next request on.  How many
    tokens were removed."""
    from cl.auth import users
    legacy = _legacy(repo)

    def go(store) -> int:
        digests, names = users.token_digests(store, given, legacy)
        for name in names:
            repo.refs.set_if_equals(name, repo.refs.get(name), None)
        return store.remove_tokens(digests) + len(names)
    return _with_store(repo, go)


def credentials_count(repo: Repository) -> int:
    """How many tokens the server accepts (new ones and legacy ones)."""
    from cl.auth.policy import LEGACY_PREFIX
    return _with_store(repo, lambda s: s.token_count()) + len(repo.refs.items(LEGACY_PREFIX))


class ServedAccess:
    """What the HTTP server holds for its lifetime: the permission
    database and the closure cache; `policy(header)` gives a request's
    policy, or None for credentials that are wrong."""

    def __init__(self, repo: Repository):
        from cl.auth.policy import Access
        self.store = access_store(repo)
        self.access = Access(self.store, repo.store, repo.refs)

    def policy(self, authorization: str | None) -> Any:
        principal = self.access.authenticate(authorization)
        return None if principal is None else self.access.policy(principal)

    def close(self) -> None:
        self.store.close()


# --- CodaLab's commands, against a remote ---------------------------------------

def ask(repo: Repository, remote: str | None, action: str, args: dict | None = None,
        specs=(), kind: str = "bundle") -> dict:
    """Run one access action (cl/auth/admin.py) on a remote -- the one
    `-r`, the specs' `REMOTE::` prefixes or origin names -- as this
    repository's token there; bundle or worksheet `specs` are sent as
    the remote's ref names."""
    from cl.sync.access import run
    return run(repo, remote, action, dict(args or {}), tuple(specs), kind)
