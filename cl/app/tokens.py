"""Bearer tokens of `cl server`: stored hashed (blake3) in the repository's
refs as `server/tokens/<name>`, never in clear; checked on every request
(by cl/server, which imports them from here: the application layer)."""

import hmac
import secrets

from cl.errors import UsageError
from cl.objects.ids import hash_bytes
from cl.repo import Repository

PREFIX = "server/tokens/"


def add_token(repo: Repository, name: str) -> str:
    """A new token for NAME (replacing NAME's old one); shown once."""
    if not name or "/" in name:
        raise UsageError(f"invalid token name: '{name}'")
    token = "cl_" + secrets.token_urlsafe(32)
    ref = PREFIX + name
    repo.refs.set_if_equals(ref, repo.refs.get(ref), hash_bytes(token.encode()))
    return token


def check(repo: Repository, authorization: str | None) -> str | None:
    """The name of the token an `Authorization: Bearer …` header carries, or None."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    digest = hash_bytes(authorization[len("Bearer "):].strip().encode())
    for ref, value in repo.refs.items(PREFIX):
        if hmac.compare_digest(value, digest):
            return ref[len(PREFIX):]
    return None


def count(repo: Repository) -> int:
    """How many tokens the server accepts."""
    return len(repo.refs.items(PREFIX))
