"""Sharing workflows: remotes, clone, push, pull, cp, wadd, and serving a
repository to a remote peer (what `cl serve-stdio` and the HTTP server
answer with)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from cl.errors import CLError, UsageError
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Cloned, SyncReport, WorksheetSearch
    from cl.objects.progress import Tick

# a callback that hears how a transfer goes: phase, objects and bytes done and expected
Progress = Callable[["Tick"], None]


def remotes(repo: Repository) -> dict[str, str]:
    """The configured remotes: name -> URL."""
    from cl.sync.remotes import remotes as configured
    return {name: entry.get("url", "") for name, entry in configured(repo).items()}


def remote_url(repo: Repository, name: str) -> str:
    """The URL of remote `name`."""
    known = remotes(repo)
    if name not in known:
        raise CLError(f"no such remote: '{name}'")
    return known[name]


def add_remote(repo: Repository, name: str, url: str) -> None:
    """Name a remote (ssh://host/path, user@host:path, http://host:port, a directory)."""
    from cl.sync.remotes import add_remote as add
    add(repo, name, url)


def remove_remote(repo: Repository, name: str) -> None:
    """Forget remote `name`."""
    from cl.sync.remotes import remove_remote as remove
    remove(repo, name)


def _report(report: Any) -> SyncReport:
    from cl.app.records import RefLine, SyncReport
    return SyncReport(report.remote, tuple(RefLine(line.kind, line.label, line.status, line.rejected)
                                           for line in report.lines),
                      sent=report.sent, received=report.received, warnings=tuple(report.warnings))


def parse_settings(settings: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` texts (clone's -c) as a map."""
    pairs = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            raise UsageError(f"-c takes KEY=VALUE: '{setting}'")
        pairs[key] = value
    return pairs


def clone(url: str, directory: str | None = None, settings: dict[str, str] | None = None,
          progress: Progress | None = None) -> tuple[Repository, Cloned]:
    """Copy the repository at `url` into `directory` (default: named after
    the URL), with `origin` set to it; the open clone and a summary.
    `progress` hears how the transfer goes (a Tick at most 10 times a second)."""
    from cl.app.records import Cloned
    from cl.sync.ops import clone as do_clone
    repo, report = do_clone(url, directory, settings or {}, progress=progress)
    return repo, Cloned(url, directory or repo.project_dir or repo.root,
                        len([line for line in report.lines if line.kind == "worksheet"]),
                        len([line for line in report.lines if line.kind == "bundle"]))


def push(repo: Repository, args: Iterable[str] = (), everything: bool = False,
         force: bool = False, progress: Progress | None = None) -> SyncReport:
    """Send worksheets or bundles (`[REMOTE] [WS|SPEC]…`, default: the
    current worksheet to origin) with their whole closure.  `progress`
    hears how the transfer goes (a Tick at most 10 times a second)."""
    from cl.sync.ops import push as do_push, split_remote_arg
    name, what = split_remote_arg(repo, tuple(args))
    return _report(do_push(repo, name, what, everything, force, progress=progress,
                           while_waiting=_load_for_report))


def pull(repo: Repository, args: Iterable[str] = (), everything: bool = False,
         progress: Progress | None = None) -> SyncReport:
    """Fetch worksheets or bundles with their closure and bring the local
    refs up to date, merging diverged ones.  `progress`: as for push."""
    from cl.sync.ops import pull as do_pull, split_remote_arg
    name, what = split_remote_arg(repo, tuple(args))
    return _report(do_pull(repo, name, what, everything, progress=progress,
                           while_waiting=_load_for_report))


def _load_for_report() -> None:
    """What a push or pull needs only once the work is done, imported while
    the remote's far side starts (a few tenths of a second over ssh)
    instead of after: the report's records (their dataclasses are
    generated at import) and json (the index records what arrived with it)."""
    import json  # noqa: F401
    import cl.app.records  # noqa: F401


def cp(repo: Repository, spec: str, worksheet: str) -> str:
    """Add a bundle to a worksheet, either side maybe `REMOTE::`; the line
    that says what was done."""
    from cl.sync.copy import copy_bundle
    return copy_bundle(repo, spec, worksheet)


def wadd(repo: Repository, source: str, dest: str, replace_items: bool = False) -> str:
    """Append the items of one worksheet to another, either maybe `REMOTE::`;
    with `replace_items` they replace the destination's items."""
    from cl.sync.copy import copy_items
    return copy_items(repo, source, dest, replace_items)


def serve_stdio(path: str) -> None:
    """One protocol session for the repository at `path` over standard
    input and output (the far side of an SSH remote)."""
    from cl.sync.serve import serve_stdio as serve
    serve(path)


def repository_at(path: str) -> Repository:
    """The repository at `path` (a project or a bare repository), for serving."""
    from cl.sync.remotes import repository_at as at
    return at(path)


def local_server(repo: Repository) -> Any:
    """The protocol server that answers a peer for `repo`."""
    from cl.sync.remotes import local_server as server
    return server(repo)


def server_limits(repo: Repository) -> tuple[float, int]:
    """`cl server`'s (server.timeout in seconds, server.per_token) for `repo`."""
    from cl.sync.remotes import server_limits as limits
    return limits(repo.config)


def server_settings(repo: Repository) -> dict[str, Any]:
    """How `cl server` meets the network (docs/server.md): behind_proxy
    (trust X-Forwarded-* from proxy_ips; cookies Secure), proxy_ips, and
    public_url (the address people use, '' when unset)."""
    config = repo.config
    public_url = str(config.get("server", "public_url", "") or "")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise CLError(f"server.public_url must start with http:// or https://, not '{public_url}'")
    return {"behind_proxy": bool(config.get("server", "behind_proxy", False)),
            "proxy_ips": str(config.get("server", "proxy_ips", "127.0.0.1") or "127.0.0.1"),
            "public_url": public_url.rstrip("/")}


# --- remote-tracking refs ------------------------------------------------------


def fetch(repo: Repository, remote: str | None = None) -> Any:
    """Bring a remote's worksheets and bundles (with their closures) into
    the store and record them as `remotes/NAME/…` refs; no local worksheet
    or bundle moves.  A `Fetched` summary."""
    from cl.sync import tracking
    return tracking.fetch(repo, remote)


def status(repo: Repository, remote: str | None = None) -> tuple[str, list]:
    """(remote, [WorksheetStatus]): each local worksheet against the
    remote's worksheet as last fetched, pushed or pulled — up to date,
    ahead, behind, diverged, or not on the remote."""
    from cl.sync import tracking
    return tracking.status(repo, remote)


def tracking_status(repo: Repository) -> list[tuple[str, list]]:
    """`status` for every configured remote this repository has tracking
    refs of (no connection is made)."""
    from cl.sync import tracking
    from cl.sync.remotes import remotes as configured
    return [tracking.status(repo, name) for name in configured(repo) if tracking.tracked(repo, name)]


def remote_worksheets(repo: Repository, remote: str, refresh: bool = False) -> WorksheetSearch:
    """`cl wls REMOTE::`: the remote's worksheets as of the last fetch (push,
    pull or clone); `refresh` fetches first."""
    from cl.app.records import WorksheetRow, WorksheetSearch
    from cl.objects.itemlists import items_of
    from cl.sync import tracking
    from cl.sync.remotes import remotes as configured
    if remote not in configured(repo):
        raise CLError(f"no such remote: '{remote}'")
    if refresh:
        tracking.fetch(repo, remote)
    there = tracking.tracked(repo, remote)
    if not any(name.startswith("worksheets/") for name in there):
        raise CLError(f"nothing known of remote '{remote}' yet", hint=f"cl fetch {remote}")
    head = there.get("HEAD")
    rows = []
    for wid, _, commit in tracking.worksheets(repo, remote):
        items = items_of(commit, repo.read)
        rows.append(WorksheetRow(wid, commit.name, commit.title, list(commit.tags),
                                 sum(i.kind == "bundle" for i in items), len(items), commit.time,
                                 commit.author, wid == head))
    rows.sort(key=lambda r: (r.time or 0, r.id))
    if refresh:  # connected anyway: show who may see each, as CodaLab's wls does
        shown = worksheet_permissions(repo, remote, [r.id for r in rows])
        if shown is not None:
            import dataclasses
            rows = [dataclasses.replace(r, permissions=shown.get(r.id, {})) for r in rows]
    return WorksheetSearch(tuple(rows))


def worksheet_permissions(repo: Repository, remote: str, wids: list[str]) -> dict[str, dict] | None:
    """wid -> owner, group permissions and the asker's level, from a remote
    `cl server` (None from a remote that keeps no permissions: a directory
    or an SSH remote, where whoever reaches the files has everything)."""
    from cl.sync.remotes import open_remote
    with open_remote(repo, remote) as client:
        if not client.hello().get("permissions"):
            return None
        if not wids:
            return {}
        shown = client.access("show", {"refs": [f"worksheets/{w}" for w in wids]})["permissions"]
    return {name.partition("/")[2]: value for name, value in shown.items()}


def permission_text(permissions: dict[str, Any] | None) -> str:
    """Permissions as `cl info` and `cl wls` show them: `public(read) lab(all)`."""
    if not permissions:
        return "-"
    return " ".join(f"{g}({level})" for g, level in permissions.get("perms", {}).items()) or "-"
