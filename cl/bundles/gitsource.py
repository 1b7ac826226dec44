"""Git provenance of uploads (the only module that imports dulwich): which
commit, branch and dirty state a path had, and uploading exactly the tree
committed at a revision."""

import os
import re

from cl.errors import InputError
from cl.objects.ingest import ingest_entries
from cl.objects.store import ObjectStore
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, Contents


def find_worktree(path: str) -> str | None:
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def describe(path: str) -> dict | None:
    """{commit, branch, dirty, path} for a path inside a git work tree."""
    top = find_worktree(path)
    if top is None:
        return None
    from dulwich import porcelain
    from dulwich.repo import Repo

    try:
        repo = Repo(top)
        try:
            commit = repo.head().decode()
        except KeyError:
            return {"commit": None, "branch": None, "dirty": True, "path": _rel(top, path)}
        ref = repo.refs.read_ref(b"HEAD") or b""
        branch = ref[len(b"ref: refs/heads/"):].decode() if ref.startswith(b"ref: refs/heads/") else None
        rel = _rel(top, path)
        status = porcelain.status(repo, untracked_files="normal")
        changed = [p.decode() if isinstance(p, bytes) else p
                   for group in (status.staged.values(), [status.unstaged], [status.untracked])
                   for paths in group for p in paths]
        # The repository's own .codalab is never uploaded, so it does not make the upload dirty.
        changed = [p for p in changed if ".codalab" not in p.split("/")]
        dirty = any(not rel or p == rel or p.startswith(rel.rstrip("/") + "/") for p in changed)
        return {"commit": commit, "branch": branch, "dirty": dirty, "path": rel}
    except Exception as exc:  # an unreadable git repo must not stop an upload
        return {"error": f"{type(exc).__name__}: {exc}"}


def _rel(top: str, path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), top)
    return "" if rel == "." else rel.replace(os.sep, "/")


def ingest_revision(store: ObjectStore, path: str, rev: str) -> tuple[Contents, dict]:
    """Store the tree (or file) at `path` exactly as committed at `rev`."""
    top = find_worktree(path)
    if top is None:
        raise InputError(f"not inside a git work tree: '{path}'")
    from dulwich.repo import Repo

    repo = Repo(top)
    commit = _parse_revision(repo, rev)
    rel = _rel(top, path)
    mode, sha = MODE_DIR, commit.tree
    if rel:
        from dulwich.object_store import tree_lookup_path
        try:
            mode, sha = tree_lookup_path(repo.object_store.__getitem__, commit.tree, rel.encode())
        except KeyError:
            raise InputError(f"'{rel}' is not in revision '{rev}'") from None
    contents = _copy(repo, store, mode, sha)
    return contents, {"commit": commit.id.decode(), "rev": rev, "path": rel, "dirty": False}


_SUFFIX = re.compile(r"(?:~\d*|\^\d*)+\Z")
_STEP = re.compile(r"([~^])(\d*)")


def _parse_revision(repo, rev: str):
    """A commit by name, with git's `~N` / `^N` suffixes (`HEAD~2`,
    `main^`), which dulwich's parse_commit does not read itself."""
    from dulwich.objectspec import parse_commit

    m = _SUFFIX.search(rev)
    base, suffix = (rev[:m.start()], m.group()) if m and m.start() else (rev, "")
    try:
        commit = parse_commit(repo, base.encode())
        for op, n in _STEP.findall(suffix):
            count = int(n) if n else 1
            if op == "^":  # the count-th parent (`^0` is the commit itself)
                commit = repo[commit.parents[count - 1]] if count else commit
            else:  # `~N`: N first-parent steps back
                for _ in range(count):
                    commit = repo[commit.parents[0]]
    except (KeyError, IndexError, ValueError):
        raise InputError(f"unknown git revision: '{rev}'") from None
    return commit


def _copy(repo, store: ObjectStore, mode: int, sha: bytes) -> Contents:
    obj = repo.object_store[sha]
    if mode == MODE_DIR:
        named = {}
        for entry in obj.items():
            if entry.mode == 0o160000:  # submodule: not part of this repository's data
                continue
            named[entry.path.decode()] = _copy(repo, store, entry.mode, entry.sha)
        return ingest_entries(store, named)
    data = obj.as_raw_string()
    if mode == MODE_LINK:
        return Contents(MODE_LINK, len(data), store.write_bytes(data))
    kind = MODE_EXEC if mode & 0o111 else MODE_FILE
    return Contents(kind, len(data), store.write_bytes(data))
