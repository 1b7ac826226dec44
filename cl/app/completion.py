"""What shell completion offers for an argument: bundle names, worksheet
names and remote names of the repository the shell is in, read from the
index (one cheap query each), never from objects.  Outside a repository
there is nothing to offer."""

from __future__ import annotations

from cl.errors import NotARepository

KINDS = ("bundle", "worksheet", "remote")


def candidates(kind: str, incomplete: str, start: str | None = None) -> list[str]:
    """The names of `kind` starting with `incomplete`, sorted."""
    from cl.app.repository import open_repository
    try:
        repo = open_repository(start)
    except NotARepository:
        return []
    try:
        if kind == "bundle":
            names = repo.index.bundle_names()
        elif kind == "worksheet":
            names = {w["name"] for w in repo.index.worksheets()}
        elif kind == "remote":
            from cl.sync.remotes import remotes
            names = set(remotes(repo))
        else:
            raise ValueError(f"no completion for {kind!r}")
    finally:
        repo.close()
    return sorted(n for n in names if n and n.startswith(incomplete))
