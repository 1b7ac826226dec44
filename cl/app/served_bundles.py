"""What a served repository gives one principal: bundles (search, info,
provenance, contents, files, upload, runs, kill, edit, remove).  The
rules are cl/app/served.py's: check the policy first, answer an unreadable
bundle as a missing one, make what a user creates theirs."""

from __future__ import annotations

import re
from typing import IO, Any, Iterable

from cl.app.served import bare_id, permissions_of, signed_in, bundle_id, worksheet_id
from cl.errors import Conflict, UsageError
from cl.repo import Repository


def search(repo: Repository, policy: Any, keywords: Iterable[str]) -> list[dict[str, Any]]:
    """The bundles CodaLab's search language finds that the principal may read."""
    from cl.app.bundles import search as search_bundles
    from cl.app.listing import bundle_json
    keywords = [k for k in keywords if k]
    if any(k.startswith((".count", ".sum", ".format")) or re.match(r"\w+=\.sum\Z", k) for k in keywords):
        raise UsageError("the REST API lists bundles: leave out .count, .sum and .format")
    return bundle_json(search_bundles(repo, keywords, visible=policy.sees("bundles/")).rows)


def info(repo: Repository, policy: Any, spec: str, verbose: bool = False) -> dict[str, Any]:
    """`cl info` of one bundle, with its permissions."""
    from cl.bundles.info import record
    from cl.objects.ids import ObjectId
    bid = bundle_id(repo, policy, spec)
    rec = record(repo, ObjectId(bid), verbose)
    return {**rec, "permissions": permissions_of(policy, f"bundles/{bid}")}


def edit(repo: Repository, policy: Any, spec: str, *, name: str | None = None,
         description: str | None = None, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """Change a bundle's name, description or tags (a new state), as `cl edit`."""
    from cl.app.bundles import edit as edit_bundle
    bid = bundle_id(repo, policy, spec, level=2)
    signed_in(policy, repo)
    edit_bundle(repo, "0x" + bid, name=name, description=description,
                tags=None if tags is None else tuple(tags))
    return info(repo, policy, "0x" + bid)


def remove(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """Remove a bundle nothing else depends on, as `cl rm`."""
    from cl.app.bundles import plan_removal, remove as remove_bundles
    bid = bundle_id(repo, policy, spec, level=2)
    signed_in(policy, repo)
    dependents = repo.index.dependents(bid)
    if dependents:  # counted, not named: the principal may not read them
        raise Conflict(f"0x{bid[:8]} has {len(dependents)} dependent bundle(s): remove them first")
    remove_bundles(repo, plan_removal(repo, ["0x" + bid]))
    return {"id": "0x" + bid, "deleted": True}


def provenance(repo: Repository, policy: Any, spec: str, direction: str,
               depth: int | None = None) -> dict[str, Any]:
    """A bundle's ancestors or descendants, without bundles the principal
    may not read (nor the edges to them)."""
    from cl.app.provenance import graph, graph_json
    if direction not in ("ancestors", "descendants"):
        raise UsageError(f"direction is ancestors or descendants, not '{direction}'")
    bid = bundle_id(repo, policy, spec)
    g = graph_json(graph(repo, "0x" + bid, direction, depth))
    hidden = {n["id"] for n in g.get("nodes", []) if not policy.can_read_ref(f"bundles/{bare_id(n['id'])}")}
    if hidden:
        g["nodes"] = [n for n in g["nodes"] if n["id"] not in hidden]
        g["edges"] = [e for e in g.get("edges", [])
                      if e.get("parent") not in hidden and e.get("child") not in hidden]
        g["private"] = len(hidden)
    return g


def contents(repo: Repository, policy: Any, spec: str, path: str = "") -> dict[str, Any]:
    """What is at `path` in a bundle: a directory's entries, or a file's size."""
    from cl.bundles import read
    from cl.bundles.specs import Target
    from cl.objects.ids import ObjectId
    from cl.objects.trees import split_path
    bid = bundle_id(repo, policy, spec)
    target = Target(ObjectId(bid), "/".join(split_path(path or "")))
    entries = read.list_dir(repo, target)
    if entries is not None:
        return {"bundle": "0x" + bid, "path": target.path, "type": "directory",
                "entries": [{"name": e.name, "type": e.type, "size": e.size} for e in entries]}
    f, size = open_file(repo, policy, "0x" + bid, target.path)
    f.close()
    return {"bundle": "0x" + bid, "path": target.path, "type": "file", "size": size}


def open_file(repo: Repository, policy: Any, spec: str, path: str = "") -> tuple[IO[bytes], int | None]:
    """A file of a bundle, opened, and its size when it can be known
    without reading it (None for a file still being written by a run)."""
    from cl.app.bundles import open_file as open_bundle_file
    bid = bundle_id(repo, policy, spec)
    f = open_bundle_file(repo, bid, path or "")
    size = None
    try:
        if f.seekable():
            size = f.seek(0, 2)
            f.seek(0)
    except OSError:
        size = None
    return f, size


def check_upload(repo: Repository, policy: Any, worksheet: str) -> None:
    """Refuse an upload before its body is read: the principal must be
    signed in and may change `worksheet`."""
    signed_in(policy)
    worksheet_id(repo, policy, worksheet, level=2)


def upload(repo: Repository, policy: Any, path: str, worksheet: str, *, name: str | None = None,
           description: str = "", tags: Iterable[str] = ()) -> str:
    """Upload a file (an archive is unpacked, as `cl upload` does) as a
    bundle on a worksheet the principal may change; the bundle is theirs."""
    from cl.app.bundles import upload as upload_bundle
    signed_in(policy, repo)
    wid = worksheet_id(repo, policy, worksheet, level=2)
    bid = str(upload_bundle(repo, [path], name=name or None, description=description, tags=tuple(tags),
                            worksheet="0x" + wid))
    policy.updated(f"bundles/{bid}")
    return bid


def run(repo: Repository, policy: Any, dependencies: Iterable[str], command: str, worksheet: str, *,
        name: str | None = None, description: str = "", tags: Iterable[str] = (),
        request: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a run of `command` over `KEY:0xID[/path]` dependencies the
    principal may read, on a worksheet they may change; it is theirs and
    queued for the server's workers."""
    from cl.app.runs import run as create_run
    from cl.bundles.make import parse_keyed
    signed_in(policy, repo)
    if not isinstance(command, str) or not command.strip():
        raise UsageError("'command' must be a non-empty string")
    wid = worksheet_id(repo, policy, worksheet, level=2)
    targets = []
    for dep in dependencies:
        if not isinstance(dep, str):
            raise UsageError("each dependency is a string KEY:0xID[/PATH]")
        key, target = parse_keyed(dep)
        if not key:
            raise UsageError(f"a dependency needs a key: KEY:0xID[/PATH], not '{dep}'")
        spec, _, sub = target.partition("/")
        bid = bundle_id(repo, policy, spec)
        targets.append(f"{key}:0x{bid}" + (f"/{sub}" if sub else ""))
    launched = create_run(repo, targets, command, name=name or None, description=description,
                          tags=tuple(tags), request=request or None, worksheet="0x" + wid)
    bid = str(launched.id)
    policy.updated(f"bundles/{bid}")
    return {"id": "0x" + bid, "reused": launched.reused}


def kill(repo: Repository, policy: Any, spec: str) -> dict[str, Any]:
    """Kill a run the principal may change."""
    from cl.app.runs import kill as kill_runs
    bid = bundle_id(repo, policy, spec, level=2)
    signed_in(policy, repo)
    for _ in kill_runs(repo, ["0x" + bid]):
        pass
    return {"id": "0x" + bid, "state": repo.index.bundle(bid).state}
