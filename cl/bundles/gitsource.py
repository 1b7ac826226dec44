"""Git provenance of uploads (the only module that imports dulwich): which
commit, branch and dirty state a path had, and uploading exactly the tree
committed at a revision."""

import os
import re

from cl.errors import InputError
from cl.objects.ingest import ingest_nested
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
    """{commit, branch, dirty, path} for a path inside a git work tree.
    `dirty`: under the path, the index differs from HEAD, a tracked file
    differs from the index, or a file is neither tracked nor ignored.  Only
    the uploaded path is examined, and the user's git files are only read
    (git status would rewrite the index's stat cache)."""
    top = find_worktree(path)
    if top is None:
        return None
    from dulwich.repo import Repo

    try:
        with Repo(top) as repo:
            rel = _rel(top, path)
            try:
                commit = repo.head()
            except KeyError:
                return {"commit": None, "branch": None, "dirty": True, "path": rel}
            ref = repo.refs.read_ref(b"HEAD") or b""
            branch = ref[len(b"ref: refs/heads/"):].decode() if ref.startswith(b"ref: refs/heads/") else None
            dirty = _dirty(repo, repo[commit].tree, rel)
            return {"commit": commit.decode(), "branch": branch, "dirty": dirty, "path": rel}
    except Exception as exc:  # an unreadable git repo must not stop an upload
        return {"error": f"{type(exc).__name__}: {exc}"}


def _under(rel: str):
    """A test for tree paths (bytes) at or below `rel`, minus any
    `.codalab` (never uploaded, so it never makes an upload dirty)."""
    whole, prefix = rel.encode(), rel.encode() + b"/"

    def test(p: bytes) -> bool:
        return (not rel or p == whole or p.startswith(prefix)) and b".codalab" not in p.split(b"/")
    return test


def _dirty(repo, tree: bytes, rel: str) -> bool:
    from dulwich.index import get_unstaged_changes
    from dulwich.object_store import iter_tree_contents, tree_lookup_path

    under = _under(rel)
    index = repo.open_index()
    indexed = {p: (e.mode, e.sha) for p, e in index.iteritems() if under(p)}
    # staged: what the index holds under the path against what HEAD holds
    committed = {}
    try:
        mode, sha = tree_lookup_path(repo.object_store.__getitem__, tree, rel.encode()) if rel \
            else (MODE_DIR, tree)
    except KeyError:
        mode = None
    if mode == MODE_DIR:
        base = rel.encode() + b"/" if rel else b""
        committed = {base + e.path: (e.mode, e.sha)
                     for e in iter_tree_contents(repo.object_store, sha) if under(base + e.path)}
    elif mode is not None:
        committed = {rel.encode(): (mode, sha)}
    if committed != indexed:
        return True
    # unstaged: tracked files under the path changed in the work tree (stat
    # first, then content)
    if any(get_unstaged_changes(_Entries(index, under), repo.path)):
        return True
    return _untracked(repo, rel, indexed)


class _Entries:
    """An index seen through a test on paths, for get_unstaged_changes,
    which reads an index's entries with iteritems: given the whole index it
    would stat every tracked file of the repository to describe one upload."""

    def __init__(self, index, test):
        self._index = index
        self._test = test

    def iteritems(self):
        return ((p, e) for p, e in self._index.iteritems() if self._test(p))

    def __getattr__(self, name):
        return getattr(self._index, name)


def _untracked(repo, rel: str, indexed: dict) -> bool:
    """Whether a file under `rel` is neither tracked nor ignored.  Ignored
    directories are not entered, as git does not."""
    from dulwich.ignore import IgnoreFilterManager

    ignore = IgnoreFilterManager.from_repo(repo)
    tracked_dirs = {p[:i] for p in indexed for i in range(len(p)) if p[i:i + 1] == b"/"}
    top = repo.path
    stack = [rel]
    while stack:
        here = stack.pop()
        full = os.path.join(top, here) if here else top
        if not os.path.isdir(full) or os.path.islink(full):
            return here.encode() not in indexed and not ignore.is_ignored(here)
        with os.scandir(full) as it:
            for de in it:
                sub = f"{here}/{de.name}" if here else de.name
                if de.name == ".codalab" or (not here and de.name == ".git"):
                    continue
                if de.is_dir(follow_symlinks=False):
                    if sub.encode() in tracked_dirs or not ignore.is_ignored(sub + "/"):
                        stack.append(sub)
                elif sub.encode() not in indexed and not ignore.is_ignored(sub):
                    return True
    return False


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
    """Store a committed file or tree.  Trees are walked with a stack (a
    tree may be deeper than Python's recursion limit) and written after
    their entries; names keep their bytes (docs/format.md [F20])."""
    if mode != MODE_DIR:
        return _blob(repo, store, mode, sha)
    top: dict = {}
    stack = [(sha, top)]  # (a tree, the dict its entries go into)
    while stack:
        tree_sha, named = stack.pop()
        for entry in repo.object_store[tree_sha].items():
            if entry.mode == 0o160000:  # submodule: not part of this repository's data
                continue
            name = entry.path.decode("utf-8", "surrogateescape")
            if entry.mode == MODE_DIR:
                named[name] = below = {}
                stack.append((entry.sha, below))
            else:
                named[name] = _blob(repo, store, entry.mode, entry.sha)
    return ingest_nested(store, top)


def _blob(repo, store: ObjectStore, mode: int, sha: bytes) -> Contents:
    data = repo.object_store[sha].as_raw_string()
    if mode == MODE_LINK:
        return Contents(MODE_LINK, len(data), store.write_bytes(data))
    kind = MODE_EXEC if mode & 0o111 else MODE_FILE
    return Contents(kind, len(data), store.write_bytes(data))
