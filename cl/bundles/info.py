"""`cl info`: one record per bundle, from its objects and the index, as
plain data that the CLI formats (or prints as JSON).

The object modules are imported by the functions that read objects: the
CLI imports this module for `fmt_time` in commands that read none (`cl ls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cl.bundles.specs import Target
from cl.index.index import local_time
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.objects.types import Bundle

fmt_time = local_time  # every command shows times the way `cl ls` does


def _live_status(repo: Repository, bid: str) -> dict | None:
    try:
        from cl.index.runs import run_status
    except ImportError:
        return None
    return run_status(repo.db, bid)


def record(repo: Repository, bid: str, verbose: bool = False) -> dict:
    from cl.objects.types import FINAL_STATES, Result
    bundle: Bundle = repo.bundle(bid)
    head, state = repo.head_state(bid)
    row = repo.index.bundle(bid, include_deleted=True)
    md = state.metadata
    rec = {
        "id": bid.display, "name": md.get("name", ""), "kind": bundle.kind, "state": state.state,
        "description": md.get("description", ""), "tags": md.get("tags", []),
        "created": fmt_time(bundle.created), "creator": bundle.creator,
        "command": bundle.command,
        "dependencies": [
            {"key": d.key, "bundle": d.bundle.display, "path": d.path,
             "name": (repo.index.bundle(d.bundle, include_deleted=True) or {}).get("name", "")}
            for d in bundle.dependencies],
        "data_size": row.data_size if row else None,
        "request": bundle.request, "options": bundle.options, "source": bundle.source,
        "args": bundle.args, "metadata": md, "head": head.display,
        "updated": fmt_time(state.time), "deleted": state.deleted, "data_deleted": state.data_deleted,
    }
    contents = bundle.contents
    if state.result is not None:
        result: Result = repo.read(state.result, Result)
        contents = result.contents
        rec["result"] = {
            "exit_code": result.exit_code, "started": fmt_time(result.started),
            "finished": fmt_time(result.finished),
            "time": round((result.finished - result.started) / 1e9, 3) if result.finished else None,
            "cpu_user": round(result.cpu_user / 1e9, 3), "cpu_system": round(result.cpu_system / 1e9, 3),
            "peak_memory": result.peak_memory, "image": result.image, "executor": result.executor,
            "host": result.host, "failure": result.failure,
        }
    rec["contents"] = contents.id.display if contents else None
    # Only an unfinished run has a live status (run_status says None to the
    # rest); asking only then keeps the run queue's module out of `cl info`.
    live = _live_status(repo, bid) if row and row.kind == "run" and row.state not in FINAL_STATES else None
    if live:
        rec["live"] = live
    if verbose:
        rec["listing"] = listing(repo, contents) if contents and not state.data_deleted else None
        rec["dependents"] = [
            {"bundle": "0x" + child, "key": key, "name": repo.index.bundle(child).name}
            for child, key in repo.index.dependents(bid)]
        rec["host_worksheets"] = [
            {"worksheet": "0x" + wid, "name": repo.index.worksheet(wid)["name"]}
            for wid in repo.index.host_worksheets(bid)]
    return rec


def listing(repo: Repository, contents) -> list[dict] | None:
    from cl.objects.trees import read_tree
    from cl.objects.types import MODE_DIR
    if contents.mode != MODE_DIR:
        return None
    return [{"name": e.name, "size": e.size, "type": _type(e.mode)}
            for e in read_tree(repo.store, contents.id).entries]


def _type(mode: int) -> str:
    return {0o040000: "directory", 0o120000: "link", 0o100755: "executable"}.get(mode, "file")


def field(rec: dict, name: str):
    """A field of a record for `-f`, looking into metadata and result too."""
    for where in (rec, rec.get("metadata", {}), rec.get("result") or {}):
        if name in where:
            return where[name]
    return None


def target_record(repo: Repository, target: Target) -> dict:
    return record(repo, target.bundle)
