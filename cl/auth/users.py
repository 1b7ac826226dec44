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


def users(store: AccessStore) -> list[dict]:
    return [{"user": name, "root": root, "tokens": store.token_count(name),
             "groups": [g for g, _ in store.memberships(name)]}
            for name, root, _ in store.users()]
