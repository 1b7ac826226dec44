"""Managing users and tokens on the server's own repository (`cl server
user …`, `cl server token add USER`): what only the person who runs the
server does, by hand, never over the wire."""

import re
import time

from cl.auth.passwords import hash_password, new_token, token_digest
from cl.auth.policy import LEGACY_USER, PUBLIC
from cl.errors import UsageError
from cl.refs.access import AccessStore

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}\Z")
MIN_PASSWORD = 8


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise UsageError(f"invalid {kind} name: '{name}' "
                         "(letters, digits, _ . -; at most 64; not starting with . or -)")
    return name


def check_password_text(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def add_user(store: AccessStore, name: str, password: str, root: bool = False) -> None:
    check_name("user", name)
    if name == PUBLIC:
        raise UsageError(f"'{PUBLIC}' is the group of everyone, not a user name")
    if store.user(name) is not None:
        raise UsageError(f"user '{name}' exists already (change the password with "
                         f"'cl server user passwd {name}')")
    store.add_user(name, hash_password(check_password_text(password)),
                   root or name == LEGACY_USER, time.time_ns())


def set_password(store: AccessStore, name: str, password: str) -> None:
    if store.user(name) is None:
        raise UsageError(f"no such user: '{name}'")
    store.set_password(name, hash_password(check_password_text(password)))


def remove_user(store: AccessStore, name: str) -> None:
    if store.user(name) is None:
        raise UsageError(f"no such user: '{name}'")
    store.remove_user(name)


def add_token(store: AccessStore, user: str) -> str:
    """A new token for `user`, shown once; only its digest is kept."""
    if store.user(user) is None:
        raise UsageError(f"no such user: '{user}' (add one with 'cl server user add {user}')")
    token = new_token()
    store.add_token(token_digest(token), user, time.time_ns())
    return token


TOKEN_ID = 12  # hex digits of a token's digest that name it in `cl server token ls/rm`


def tokens(store: AccessStore, legacy: list[tuple[str, str]] = ()) -> list[dict]:
    """Every token the server accepts, by id (a prefix of its digest: the
    token itself is never kept), its user and when it was made; tokens
    made before users existed (`legacy`: (ref name, digest)) are root's."""
    out = [{"id": digest[:TOKEN_ID], "user": user, "created": created}
           for digest, user, created in store.tokens()]
    return out + [{"id": "legacy:" + name.rpartition("/")[2], "user": LEGACY_USER, "created": None}
                  for name, _ in legacy]


def token_digests(store: AccessStore, given: str, legacy: list[tuple[str, str]] = ()) -> tuple[list, list]:
    """What `cl server token rm GIVEN` removes: (digests in access.db,
    legacy ref names).  GIVEN is an id from `token ls` or the token itself;
    an id that names no token, or several, is refused."""
    if given.startswith("legacy:"):
        names = [n for n, _ in legacy if n.rpartition("/")[2] == given[len("legacy:"):]]
        if not names:
            raise UsageError(f"no such token: '{given}'")
        return [], names
    digest = token_digest(given)
    held = store.tokens()
    if any(d == digest for d, _, _ in held):
        return [digest], []
    if any(value == digest for _, value in legacy):
        return [], [n for n, value in legacy if value == digest]
    if len(given) < 6 or not all(c in "0123456789abcdef" for c in given):
        raise UsageError(f"no such token: '{given}' (give an id from 'cl server token ls' or the token)")
    matches = [d for d, _, _ in held if d.startswith(given)]
    if len(matches) != 1:
        raise UsageError(f"no such token: '{given}'" if not matches else
                         f"'{given}' names {len(matches)} tokens: give more of the id")
    return matches, []


def users(store: AccessStore) -> list[dict]:
    return [{"user": name, "root": root, "tokens": store.token_count(name),
             "groups": [g for g, _ in store.memberships(name)]}
            for name, root, _ in store.users()]
