"""`cl upload`: files, directories, archives, text and git revisions become
dataset or program bundles."""

import os
import stat
from dataclasses import dataclass

from cl.bundles import archives, gitsource, urlsource
from cl.bundles.names import default_name, metadata
from cl.errors import InputError
from cl.objects.ids import ObjectId
from cl.objects.background import Background
from cl.objects.ingest import IngestOptions, ingest_entries, ingest_path, text_contents
from cl.objects.types import Bundle, Contents
from cl.repo import Repository, new_nonce, now_ns


@dataclass(frozen=True)
class UploadRequest:
    paths: tuple[str, ...] = ()
    text: str | None = None
    name: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    kind: str = "dataset"
    exclude: tuple[str, ...] = ()
    pack: bool = False
    follow_links: bool = False
    git_rev: str | None = None
    git_clone: bool = False  # a URL is a git repository to clone (CodaLab's --git)
    worksheet: str | None = None
    args: str = ""


def _ingest_one(repo: Repository, path: str, req: UploadRequest, opts: IngestOptions) -> Contents:
    if not req.pack and archives.archive_suffix(path):
        limits = archives.Limits(repo.config.get("upload", "max_expansion"),
                                 repo.config.get("upload", "max_unpacked_bytes"))
        return archives.ingest_archive(repo.store, path, limits)
    return ingest_path(repo.store, path, opts)


def _base_name(path: str, pack: bool) -> str:
    base = os.path.basename(os.path.normpath(os.path.abspath(path)))
    suffix = None if pack else archives.archive_suffix(path)
    if suffix:
        base = base[: -len(suffix)]
    return base


def build_contents(repo: Repository, req: UploadRequest, progress=None) -> tuple[Contents, dict | None, str]:
    """Store the data; returns (contents, source, default name)."""
    if req.text is not None:
        if req.paths:
            raise InputError("give either paths or -c TEXT, not both")
        return text_contents(repo.store, req.text), None, "contents"
    if not req.paths:
        raise InputError("nothing to upload: give a path or -c TEXT")
    if urlsource.check_sources(req.paths, req.git_clone):  # progress: a Tick callback there
        return urlsource.ingest_url(repo, req.paths[0], clone=req.git_clone, pack=req.pack, progress=progress)
    root = os.path.realpath(repo.root)
    for path in req.paths:
        if not os.path.lexists(path):
            raise InputError(f"no such file or directory: '{path}'")
        if not req.follow_links and os.path.islink(os.path.normpath(path)):  # as CodaLab's upload
            raise InputError(f"not following the symbolic link '{path}' (to '{os.readlink(os.path.normpath(path))}')",
                             hint="pass -L to upload what it points to")
        where = os.path.abspath(path)  # a link itself (not followed) may live anywhere
        real = os.path.join(os.path.realpath(os.path.dirname(where)), os.path.basename(where))
        if req.follow_links:
            real = os.path.realpath(where)
        if real == root or real.startswith(root + os.sep):
            raise InputError(f"cannot upload the repository's own files: '{path}'")
    if req.git_rev is not None:
        if len(req.paths) != 1:
            raise InputError("--git-rev uploads one path")
        contents, source = gitsource.ingest_revision(repo.store, req.paths[0], req.git_rev)
        return contents, {"path": os.path.abspath(req.paths[0]), "git": source}, _base_name(req.paths[0], True)
    # Reading git's state is Python work and ingesting is mostly the
    # kernel's and blake3's: the two overlap.
    describing = Background(gitsource.describe, req.paths[0])
    try:
        contents, name = _ingest_all(repo, req, progress)
    finally:
        describing.wait()
    git = describing.result()
    source = {"path": os.path.abspath(req.paths[0])}
    if git:
        source["git"] = git
    return contents, source, name


def _ingest_all(repo: Repository, req: UploadRequest, progress) -> tuple[Contents, str]:
    # Never ingest the repository into itself.
    opts = IngestOptions(exclude=req.exclude, follow_links=req.follow_links, progress=progress,
                         skip_names=frozenset({".codalab"}))
    if len(req.paths) == 1:
        path = req.paths[0]
        return _ingest_one(repo, path, req, opts), _base_name(path, req.pack)
    named: dict[str, Contents] = {}
    for path in req.paths:  # several paths: archives among them stay packed, as in CodaLab
        key = _base_name(path, True)
        if key in named:
            raise InputError(f"two uploaded paths have the same name: '{key}'")
        named[key] = ingest_path(repo.store, path, opts)
    return ingest_entries(repo.store, named), _base_name(req.paths[0], req.pack)


def upload(repo: Repository, req: UploadRequest, progress=None) -> ObjectId:
    if req.kind not in ("dataset", "program"):
        raise InputError(f"unknown bundle kind: '{req.kind}' (dataset or program)")
    md = metadata(req.name or "x", req.description, req.tags)  # checks an explicit name early
    with repo.store.writing():  # gc waits until the bundle's ref has moved (docs/design.md)
        contents, source, name = build_contents(repo, req, progress)
        md["name"] = req.name or default_name(name)
        bundle = Bundle(kind=req.kind, created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                        metadata=md, contents=contents, source=source, args=req.args)
        return repo.add_bundle(bundle, worksheet=req.worksheet)


def total_size(paths) -> int:
    """Bytes an upload will read (for a progress bar).  A stack, not
    os.walk, which recurses: a tree may be deeper than Python's limit."""
    total = 0
    stack = list(paths)
    while stack:
        path = stack.pop()
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                total += st.st_size if stat.S_ISREG(st.st_mode) else 0
                continue
            with os.scandir(path) as it:
                stack.extend(de.path for de in it)
        except OSError:
            continue  # the upload itself will say what is wrong
    return total
