"""The run directory and what is mounted in it.

    .codalab/runs/<bundle id>/      the working directory and HOME of the run
        stdout  stderr              what the command writes, readable while it runs
        <key>                       an empty placeholder where a dependency is
                                    mounted read-only (a directory or a file)
        <anything else>             the run's output
    .codalab/checkouts/<id>[-x]/    a dependency's contents, hard-linked into the
                                    store once and shared by every run using it

Placeholders stay empty on the host (the mounts live only in the run's own
mount namespace or container), so ingesting the run directory reads no
dependency bytes; the placeholders are then dropped from the result.

`.codalab/runs/` itself is 0700 and the worker's: a run may leave anything
in its own directory (a root run a setuid-root file) and may chmod it, but
cannot reach the parent, so no other local user can reach what it left."""

import os
import stat
import threading
from dataclasses import dataclass

from cl.errors import CLError
from cl.objects.checkout import materialize, publish, remove_tree
from cl.objects.ingest import IngestOptions, ingest_entries, ingest_path
from cl.objects.trees import NotInBundle, lookup, read_tree
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_LINK, Bundle, Contents
from cl.repo import Repository
from cl.runs.paths import STREAMS, run_dir  # noqa: F401 (re-exported)



class RunError(CLError):
    """Why a run could not be started; becomes the run's failure message."""


@dataclass(frozen=True)
class Mount:
    """A dependency placed at `key` (a path inside the run directory):
    `kind` is `dir` or `file` (bind-mounted read-only from `source`) or
    `link` (a symbolic link to `source`, the link's target text)."""

    key: str
    source: str
    kind: str


# --- checkouts -----------------------------------------------------------------


def checkout(repo: Repository, contents: Contents) -> str:
    """The shared, hard-linked checkout of `contents`; made once, atomically
    (built under tmp/ and renamed into place; a lost race keeps the other)."""
    name = contents.id + ("-x" if contents.mode == MODE_EXEC else "")
    dest = repo.path("checkouts", name)
    if os.path.lexists(dest):
        return dest
    os.makedirs(repo.path("checkouts"), exist_ok=True)
    tmp = repo.path("tmp", f"checkout-{name[:16]}-{os.getpid()}-{threading.get_ident()}")
    remove_tree(tmp)
    materialize(repo.store, contents, tmp, "link")
    directory = contents.mode == MODE_DIR
    if directory:  # moving a directory to another parent rewrites its `..`: it must be writable
        os.chmod(tmp, 0o755)
    if not publish(tmp, dest):
        return dest
    if directory:
        os.chmod(dest, 0o555)
    return dest


def _dep_label(repo: Repository, bid: str) -> str:
    row = repo.index.bundle(bid, include_deleted=True)
    return f"{row.name} (0x{bid[:8]})" if row and row.name else f"0x{bid[:8]}"


def plan_mounts(repo: Repository, bundle: Bundle) -> tuple[Mount, ...]:
    """Check out every dependency and say where each goes.  A dependency
    without contents (a failed run, with --allow-failed-dependencies) is
    left out."""
    mounts: list[Mount] = []
    for dep in bundle.dependencies:
        contents = repo.contents(dep.bundle)
        if contents is None:
            if bundle.options.get("allow_failed_dependencies"):
                continue
            raise RunError(f"Dependency {_dep_label(repo, dep.bundle)} has no contents")
        try:
            target = lookup(repo.store, contents, dep.path) if dep.path else contents
        except NotInBundle as exc:
            raise RunError(f"Dependency {_dep_label(repo, dep.bundle)}: {exc.message}") from None
        if dep.key == ".":
            if target.mode != MODE_DIR:
                raise RunError(f"Dependency key '.' needs a directory, and "
                               f"{_dep_label(repo, dep.bundle)}/{dep.path} is a file")
            for e in read_tree(repo.store, target.id).entries:
                mounts.append(_mount(repo, e.name, Contents(e.mode, e.size, e.id)))
        else:
            mounts.append(_mount(repo, dep.key, target))
    _check_overlaps(mounts)
    return tuple(mounts)


def _mount(repo: Repository, key: str, contents: Contents) -> Mount:
    if contents.mode == MODE_LINK:
        return Mount(key, os.fsdecode(repo.store.read_bytes(contents.id)), "link")
    kind = "dir" if contents.mode == MODE_DIR else "file"
    return Mount(key, checkout(repo, contents), kind)


def _check_overlaps(mounts: list[Mount]) -> None:
    keys = set()
    for m in mounts:
        if m.key in keys or m.key in STREAMS:
            raise RunError(f"Two dependencies would be placed at '{m.key}'"
                           if m.key in keys else f"A dependency cannot be placed at '{m.key}'")
        keys.add(m.key)
    for m in mounts:
        parts = m.key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in keys:
                raise RunError(f"Dependency '{m.key}' would be placed inside dependency "
                               f"'{'/'.join(parts[:i])}'")


# --- the run directory ---------------------------------------------------------


def private_runs_dir(path: str) -> None:
    """`.codalab/runs/` owned by us and reachable by no one else (0700).

    A run owns its directory and everything in it; one running as root
    (Docker on a root worker) can leave a setuid-root file there, and a
    run can chmod its own directory.  Only the parent, which no run can
    reach, keeps other users out of every run directory."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if st.st_uid != os.geteuid():
        if os.geteuid() != 0:
            raise RunError(f"'{path}' belongs to uid {st.st_uid}, not to this worker's uid "
                           f"{os.geteuid()}: run directories would be open to another user")
        os.lchown(path, 0, 0)
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)


def prepare_run_dir(path: str, mounts: tuple[Mount, ...], owner: tuple[int, int] | None = None) -> None:
    """A fresh run directory with empty stdout/stderr and a placeholder
    at every mount point, in a private parent."""
    private_runs_dir(os.path.dirname(path))
    remove_tree(path)
    os.makedirs(path)
    for name in STREAMS:
        open(os.path.join(path, name), "wb").close()
    for m in mounts:
        where = os.path.join(path, m.key)
        os.makedirs(os.path.dirname(where), exist_ok=True)
        if m.kind == "dir":
            os.mkdir(where)
        elif m.kind == "file":
            open(where, "wb").close()
        else:
            os.symlink(m.source, where)
    if owner is not None:
        for root, dirs, files in os.walk(path):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, *owner)


def disk_usage(path: str) -> int:
    """Bytes of the files under `path` (placeholders are empty)."""
    total = 0
    stack = [path]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                for de in it:
                    try:
                        if de.is_dir(follow_symlinks=False):
                            stack.append(de.path)
                        else:
                            total += de.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def ingest_run_dir(repo: Repository, path: str, mounts: tuple[Mount, ...], exclude=()) -> Contents:
    """Store everything the run left in its directory except the mount
    placeholders (and `exclude` patterns)."""
    contents = ingest_path(repo.store, path, IngestOptions(exclude=tuple(exclude)))
    if not mounts:
        return contents
    return _drop(repo, contents, [m.key.split("/") for m in mounts], top=True)


def _drop(repo: Repository, contents: Contents, paths: list[list[str]], top: bool = False
          ) -> Contents | None:
    here = {p[0] for p in paths if len(p) == 1}
    deeper: dict[str, list[list[str]]] = {}
    for p in paths:
        if len(p) > 1:
            deeper.setdefault(p[0], []).append(p[1:])
    kept: dict[str, Contents] = {}
    for e in read_tree(repo.store, contents.id).entries:
        if e.name in here:
            continue
        c = Contents(e.mode, e.size, e.id)
        if e.name in deeper and e.is_dir:
            c = _drop(repo, c, deeper[e.name])
            if c is None:
                continue
        kept[e.name] = c
    if not kept and not top:
        return None  # a parent made only to hold a mount point
    return ingest_entries(repo.store, kept)


def remove_run_dir(path: str) -> None:
    try:
        remove_tree(path)
    except OSError:
        pass
