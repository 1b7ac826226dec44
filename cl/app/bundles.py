"""Bundle workflows: upload, make, info, cat, download, edit, rm, search,
and resolving specs for the front ends."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Callable, Iterable

from cl.bundles.specs import expand, resolve_bundle, resolve_target, resolve_worksheet
from cl.errors import InputError
from cl.objects.ids import ObjectId
from cl.repo import Repository, frozen_worksheet

if TYPE_CHECKING:
    from cl.app.records import Removal
    from cl.bundles.read import Entry
    from cl.bundles.search import SearchResult

__all__ = ["ObjectId", "expand", "resolve_bundle", "resolve_target", "resolve_worksheet",
           "MetadataEditor", "worksheet_or_none", "upload", "upload_size", "is_url_upload", "make", "info",
           "info_field", "info_fields", "info_needs_verbose", "cat", "open_file", "download", "kind", "metadata", "edit", "plan_removal",
           "remove", "search", "field_rows", "ignore_patterns"]

MetadataEditor = Callable[[str, str, tuple[str, ...]], tuple[str, str, tuple[str, ...]]]


def worksheet_or_none(repo: Repository, spec: str | None) -> str | None:
    """The worksheet `spec` names, or None when no spec is given."""
    return resolve_worksheet(repo, spec) if spec else None


def unfrozen_worksheet(repo: Repository, spec: str | None) -> str | None:
    """worksheet_or_none, refusing a frozen worksheet (the current one when
    no spec is given) before anything is written for a new bundle."""
    wid = worksheet_or_none(repo, spec) or repo.current_worksheet()
    if wid:
        header = repo.worksheet_header(wid)[1]  # not its items: an upload costs the same on any worksheet
        if header.frozen:
            raise frozen_worksheet(header.name)
    return worksheet_or_none(repo, spec)


def upload(repo: Repository, paths: Iterable[str] = (), *, text: str | None = None, name: str | None = None,
           description: str = "", tags: Iterable[str] = (), kind: str = "dataset",
           exclude: Iterable[str] = (), ignore_file: str | None = None, pack: bool = False,
           follow_links: bool = False, git_rev: str | None = None, git: bool = False,
           worksheet: str | None = None,
           args: str = "", license: str | None = None, source_url: str | None = None, link: bool = False,
           link_url: str | None = None, link_format: str | None = None,
           progress: Callable[[int], None] | None = None) -> ObjectId:
    """Upload files, directories, archives, a text, a git revision, a URL
    or (`git`) a git repository's URL as one bundle (put on `worksheet`, a
    spec, or the current worksheet).  `ignore_file` holds more exclude
    patterns, one a line; `license`, `source_url` and `link` (the path is
    the data's source of truth: link_url, link_format) are metadata
    fields, set in a second state; a URL is the source_url unless one is
    given.  `progress` takes byte counts, or for a URL progress Ticks
    (is_url_upload says which)."""
    import os

    from cl.bundles.upload import UploadRequest, upload as upload_bundle
    paths = tuple(paths)
    url = is_url_upload(paths)
    if link and (len(paths) != 1 or text is not None or url):
        raise InputError("--link takes exactly one local path")
    if url and git_rev is not None:
        raise InputError("--git-rev uploads from a local git work tree, not a URL")
    if url and source_url is None:
        source_url = paths[0]
    exclude = tuple(exclude) + (ignore_patterns(ignore_file) if ignore_file else ())
    req = UploadRequest(paths=paths, text=text, name=name, description=description,
                        tags=tuple(tags), kind=kind, exclude=exclude, pack=pack,
                        follow_links=follow_links, git_rev=git_rev, git_clone=git,
                        worksheet=unfrozen_worksheet(repo, worksheet), args=args)
    bid = upload_bundle(repo, req, progress=progress)
    fields = {k: v for k, v in (("license", license), ("source_url", source_url)) if v is not None}
    if link:
        fields.update(link_url=os.path.abspath(paths[0]), link_format="raw")
    fields.update({k: v for k, v in (("link_url", link_url), ("link_format", link_format)) if v is not None})
    if fields:
        from cl.bundles import edit as edit_ops
        edit_ops.edit(repo, bid, fields=fields)
    return bid


def is_url_upload(paths: Iterable[str]) -> bool:
    """Whether these upload sources are a URL (fetched, with a transfer's
    progress) rather than local paths."""
    from cl.bundles.urlsource import is_url
    return any(is_url(p) for p in paths)


def ignore_patterns(path: str) -> tuple[str, ...]:
    """The patterns of an ignore file (`upload -i`): one a line; blank
    lines and `#` comments skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read ignore file '{path}': {exc.strerror}") from None
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def upload_size(paths: Iterable[str]) -> int:
    """How many bytes an upload of `paths` reads (for a progress bar)."""
    from cl.bundles.upload import total_size
    return total_size(list(paths))


def make(repo: Repository, targets: Iterable[str], *, name: str | None = None, description: str = "",
         tags: Iterable[str] = (), worksheet: str | None = None, args: str = "",
         allow_failed_dependencies: bool = False) -> ObjectId:
    """A bundle made of [KEY:]TARGETs without copying any bytes; a failed
    or killed target is refused unless `allow_failed_dependencies`."""
    from cl.bundles.make import make as make_bundle, parse_keyed
    targets = list(targets)
    unfrozen_worksheet(repo, worksheet)
    if not allow_failed_dependencies:
        for target in targets:
            bid = resolve_target(repo, parse_keyed(target)[1]).bundle
            row = repo.index.bundle(bid)
            if row is not None and row.state in ("failed", "killed"):
                raise InputError(f"dependency '{row.name}' (0x{bid[:8]}) is {row.state}",
                                 hint="pass --allow-failed-dependencies to make it anyway")
    return make_bundle(repo, list(targets), name, description, tuple(tags),
                       worksheet_or_none(repo, worksheet), args=args)


def info(repo: Repository, specs: Iterable[str], verbose: bool = False,
         worksheet: str | None = None) -> list[dict[str, Any]]:
    """`cl info` records (docs/api.md, "info"), `REMOTE::spec` included;
    `^N` and names are looked up on `worksheet` (default: the current one)."""
    specs = list(specs)
    if any("::" in spec for spec in specs):  # read from the remote (cl/sync)
        from cl.sync.remote_read import records as remote_records
        return remote_records(repo, specs, verbose)
    from cl.bundles import info as info_ops
    # one per spec given, duplicates included, as CodaLab
    return info_ops.records(repo, specs, verbose, worksheet_or_none(repo, worksheet))


def info_field(rec: dict[str, Any], name: str) -> Any:
    """A field of an info record (`cl info -f`): one of CodaLab's, cl's own,
    or a metadata key; None when the bundle has none."""
    from cl.bundles.info import field
    return field(rec, name)


def info_fields(records: list[dict[str, Any]], names: list[str],
                repo: Repository | None = None) -> list[list[Any]]:
    """`cl info -f` values, a row per record; an InputError names a field
    that is neither CodaLab's nor cl's nor metadata of any of the bundles.
    A field `/PATH[:KEY]` is a file of the bundle (`/` the bundle itself
    when it is one file), read as a worksheet's genpath reads it: its text,
    or KEY's value in a JSON, YAML or TSV file; a directory or a missing
    file gives nothing, as in CodaLab."""
    from cl.bundles.info import field_rows
    rows = field_rows(records, names)
    files = [(i, n) for i, n in enumerate(names) if n.startswith("/")]
    if files and repo is not None:
        from dataclasses import replace

        from cl.bundles.read import through_dependency
        from cl.bundles.specs import Target
        from cl.worksheets.genpaths import Reader
        from cl.worksheets.schemas import parse_genpath
        reader = Reader(repo)
        for rec, row in zip(records, rows):
            for i, name in files:
                genpath = parse_genpath(name)
                if not repo.index.bundle(str(rec["id"])[2:], include_deleted=True):
                    continue  # a remote's bundle (REMOTE::spec): its files are not here
                # a run's RUN/KEY/path is its dependency's path, as for `cl cat`
                where = through_dependency(repo, Target(ObjectId(str(rec["id"])[2:]), genpath.path))
                genpath = replace(genpath, path=where.path)
                ref = reader.file(where.bundle, genpath.path)
                if ref is not None and not (genpath.key is None and ref.is_dir):
                    row[i] = reader.value(where.bundle, genpath)
    return rows


def info_needs_verbose(names: Iterable[str]) -> bool:
    """Whether these `-f` fields need verbose records (children, host_worksheets)."""
    from cl.bundles.info import VERBOSE_FIELDS
    return bool(VERBOSE_FIELDS & set(names))


def field_rows(repo: Repository, ids: Iterable[str], names: Iterable[str]) -> list[list[Any]]:
    """For each bundle id, the values of the info fields `names` (the
    `-f` tables of ls and search)."""
    from cl.bundles import info as info_ops
    names = list(names)
    return [[info_field(info_ops.record(repo, ObjectId(bid), False), n) for n in names] for bid in ids]


def _on_target(repo: Repository, target: str, fn: Callable[[Repository, Any], Any],
               worksheet: str | None = None) -> Any:
    if "::" in target:  # REMOTE::bundle/path: read from the remote (cl/sync)
        from cl.sync.remote_read import remote_target
        with remote_target(repo, target) as (mirror, t):
            return fn(mirror, t)
    return fn(repo, resolve_target(repo, target, worksheet_or_none(repo, worksheet)))


def cat(repo: Repository, target: str, out: IO[bytes], head: int | None = None,
        tail: int | None = None, worksheet: str | None = None) -> list[Entry] | None:
    """Write a file of a bundle to `out` (only its first or last lines
    with head/tail); for a directory write nothing and return its entries."""
    from cl.bundles import read as read_ops

    def go(r: Repository, t: Any) -> list[Entry] | None:
        entries = read_ops.list_dir(r, t)
        if entries is not None:
            return entries
        with read_ops.open_file(r, t) as f:
            read_ops.stream(f, out, head, tail)
        out.flush()
        return None
    result: list[Entry] | None = _on_target(repo, target, go, worksheet)
    return result


def open_file(repo: Repository, bid: str, path: str = "") -> IO[bytes]:
    """A binary file object for the file at `path` in bundle `bid` (the
    bundle itself when it is one file)."""
    from cl.bundles import read as read_ops
    from cl.bundles.specs import Target
    from cl.objects.trees import split_path
    target = Target(ObjectId(bid), "/".join(split_path(path)))
    if read_ops.list_dir(repo, target) is not None:  # open_file would hand out the tree object
        raise InputError(f"'{target.display}' is a directory")
    f: IO[bytes] = read_ops.open_file(repo, target)
    return f


def download(repo: Repository, target: str, dest: str | None = None, force: bool = False,
             worksheet: str | None = None) -> str:
    """Copy a bundle or a file in it to `dest` (default: its name in the
    working directory) as writable files; returns the absolute path."""
    import os

    from cl.bundles import read as read_ops
    t = resolve_target(repo, target, worksheet_or_none(repo, worksheet))
    if dest is None:
        dest = t.path.rsplit("/", 1)[-1] if t.path else repo.index.bundle(t.bundle).name
    read_ops.download(repo, t, dest, force)
    return os.path.abspath(dest)


def kind(repo: Repository, bid: str) -> str | None:
    """A bundle's kind (dataset, program, make, run), or None if it is unknown."""
    row = repo.index.bundle(bid, include_deleted=True)
    return None if row is None else str(row["kind"])


def metadata(repo: Repository, bid: str) -> dict[str, Any]:
    """A bundle's current metadata (name, description, tags, …)."""
    return dict(repo.head_state(bid)[1].metadata)


def edit(repo: Repository, spec: str, *, name: str | None = None, description: str | None = None,
         tags: Iterable[str] | None = None, fields: dict[str, str] | None = None,
         freeze: bool | None = None, worksheet: str | None = None,
         editor: MetadataEditor | None = None) -> ObjectId:
    """Change a bundle's metadata (a new state: the history is kept).
    `editor(name, description, tags)` (an $EDITOR session) may change the
    values first, starting from the bundle's own where none is given.
    `fields` sets any other metadata field; `freeze` True freezes the
    bundle (no later change but an unfreeze), False unfreezes it."""
    from cl.bundles import edit as edit_ops
    bid = resolve_bundle(repo, spec, worksheet_or_none(repo, worksheet))
    fields = dict(fields or {})
    for key in fields:
        if key in ("name", "description", "tags", edit_ops.FROZEN):
            raise InputError(f"-f {key}: use " + ("--freeze/--unfreeze" if key == edit_ops.FROZEN else f"--{key}"))
    tag_list = tuple(tags) if tags is not None else None
    if editor is not None:
        md = metadata(repo, bid)
        name, description, tag_list = editor(
            name or md.get("name", ""), description if description is not None else md.get("description", ""),
            tag_list if tag_list is not None else md.get("tags", []))
    if name is None and description is None and tag_list is None and not fields and freeze is None:
        raise InputError("nothing to change: give -n, -d, --tags, -f, --freeze, --unfreeze or -e")
    edit_ops.edit(repo, bid, name=name, description=description, tags=tag_list, fields=fields, frozen=freeze)
    return bid


def plan_removal(repo: Repository, specs: Iterable[str], *, recursive: bool = False, force: bool = False,
                 data_only: bool = False, worksheet: str | None = None) -> Removal:
    """What removing `specs` takes (with -r their descendants); checks
    that nothing else depends on them unless `force`."""
    from cl.app.records import Removal
    from cl.bundles import remove as remove_ops
    plan = remove_ops.plan(repo, expand(repo, list(specs), worksheet_or_none(repo, worksheet)),
                           recursive=recursive, force=force,
                           data_only=data_only)
    return Removal(tuple(plan.bundles), plan)


def remove(repo: Repository, removal: Removal) -> None:
    """Carry out a removal planned by plan_removal."""
    from cl.bundles import remove as remove_ops
    remove_ops.apply(repo, removal.plan)


def search(repo: Repository, keywords: Iterable[str], append: bool = False,
           worksheet: str | None = None, visible: Callable[[str], bool] | None = None) -> SearchResult:
    """Bundles found with CodaLab's search language; `append` puts them on
    `worksheet` (default: the current one).  `visible(bundle id)`: what
    the asker may see (a server's reader); the rest count for nothing."""
    from cl.bundles.search import search as search_bundles
    result = search_bundles(repo, list(keywords), visible)
    if append and result.rows:
        from cl.objects.types import Item
        from cl.worksheets import ops as ws_ops
        wid = resolve_worksheet(repo, worksheet or ".")
        ws_ops.add_items(repo, wid, [Item("bundle", r.id) for r in result.rows], "add search results")
    return result
