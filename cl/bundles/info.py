"""`cl info`: one record per bundle, from its objects and the index, as
plain data that the CLI formats (or prints as JSON); and the fields of
`cl info -f`, CodaLab's among them (CODALAB_FIELDS).

The object modules are imported by the functions that read objects: the
CLI imports this module for `fmt_time` in commands that read none (`cl ls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cl.bundles.specs import Target
from cl.errors import InputError
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
    if contents is not None:
        from cl.objects.types import MODE_DIR
        rec["is_dir"] = contents.mode == MODE_DIR
    # Only an unfinished run has a live status (run_status says None to the
    # rest); asking only then keeps the run queue's module out of `cl info`.
    live = _live_status(repo, bid) if row and row.kind == "run" and row.state not in FINAL_STATES else None
    if live:
        rec["live"] = live
    if verbose:
        rec["listing"] = listing(repo, contents) if contents and not state.data_deleted else None
        rec["previews"] = previews(repo, contents) if contents and not state.data_deleted else []
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


PREVIEW_LINES = 10        # CodaLab's `cl info -v` shows the head of a file, of stdout and stderr
PREVIEW_BYTES = 64 << 10  # and never more than this of it


def previews(repo: Repository, contents) -> list[dict]:
    """What `cl info -v` shows of the data, as CodaLab's: a one-file
    bundle's first lines (a link: ` -> TARGET`), or a directory's
    `stdout` and `stderr` first lines; [{"path", "text"}]."""
    from cl.objects.trees import read_tree
    from cl.objects.types import MODE_DIR, Contents
    if contents.mode != MODE_DIR:
        return [{"path": "", "text": _head(repo, contents)}]
    tree = read_tree(repo.store, contents.id)
    out = []
    for name in ("stdout", "stderr"):
        entry = tree.get(name)
        if entry is not None and entry.mode != MODE_DIR:
            out.append({"path": name, "text": _head(repo, Contents(entry.mode, entry.size, entry.id))})
    return out


def _head(repo: Repository, contents) -> str:
    from cl.objects.types import MODE_LINK
    if contents.mode == MODE_LINK:
        return " -> " + repo.store.read_bytes(contents.id).decode("utf-8", "replace") + "\n"
    lines = []
    with repo.store.open(contents.id) as f:
        data = f.read(PREVIEW_BYTES)
    for line in data.splitlines(keepends=True)[:PREVIEW_LINES]:
        lines.append(line.decode("utf-8", "replace"))
    return "".join(lines)


def _type(mode: int) -> str:
    return {0o040000: "directory", 0o120000: "link", 0o100755: "executable"}.get(mode, "file")


def records(repo: Repository, specs, verbose: bool = False, worksheet: str | None = None) -> list[dict]:
    """`cl info`: one record per bundle each spec names (`^N` and names
    looked up on `worksheet`, default the current one), in the order
    given, a bundle named twice shown twice (as CodaLab shows it)."""
    from cl.bundles.specs import resolve_bundles
    return [record(repo, bid, verbose) for spec in specs for bid in resolve_bundles(repo, spec, worksheet)]


# --- `cl info -f FIELD`: CodaLab's fields ------------------------------------------
#
# Every field CodaLab's `cl info -f` knows — its bundle attributes (REST API
# reference, "bundles") and the metadata of its bundle types (named,
# uploaded, derived, run) — and how each is read from an info record.  A
# field cl keeps no data for (permissions, freezing, CodaLab's internal
# job fields) reads None, printed empty, as CodaLab prints metadata a
# bundle lacks.  Run resources are shown in the units `cl run` takes.

KILLED_BY_REQUEST = "Kill requested"  # the failure cl.runs.queue records for `cl kill`


def _result(rec: dict, key: str):
    return (rec.get("result") or {}).get(key)


def _request(key: str, show=None):
    def read(rec):
        value = (rec.get("request") or {}).get(key)
        return show(value) if show is not None and value is not None else value
    return read


def _size(n):
    from cl.bundles.units import format_size
    return format_size(n)


def _duration(seconds):
    from cl.bundles.runspec import format_duration
    return format_duration(seconds)


def _actions(rec: dict) -> list[str]:
    live = rec.get("live") or {}
    killed = _result(rec, "failure") == KILLED_BY_REQUEST or live.get("kill_requested")
    return ["kill"] if killed else []


def _docker_image(rec: dict):
    image = _result(rec, "image") or {}
    return image.get("digest") or image.get("id") or image.get("name") or None


def _none(rec: dict):
    return None


CODALAB_FIELDS = {
    # bundle attributes
    "id": lambda r: r["id"], "uuid": lambda r: r["id"], "bundle_type": lambda r: r["kind"],
    "command": lambda r: r["command"], "state": lambda r: r["state"],
    "state_details": lambda r: (r.get("live") or {}).get("reason") or None,
    "owner": lambda r: r["creator"], "frozen": lambda r: r["metadata"].get("frozen") or None, "is_anonymous": lambda r: False,
    "storage_type": _none, "is_dir": lambda r: r.get("is_dir"), "metadata": lambda r: r["metadata"],
    "dependencies": lambda r: r["dependencies"], "children": lambda r: r.get("dependents"),
    "host_worksheets": lambda r: r.get("host_worksheets"), "args": lambda r: r["args"],
    "permission": _none, "permission_spec": _none, "group_permissions": _none,
    "data_hash": lambda r: r.get("contents"),
    # every bundle's metadata
    "name": lambda r: r["name"], "description": lambda r: r["description"], "tags": lambda r: r["tags"],
    "created": lambda r: r["created"], "data_size": lambda r: r["data_size"],
    "failure_message": lambda r: _result(r, "failure"), "error_traceback": _none,
    # uploaded bundles
    "license": lambda r: r["metadata"].get("license"), "source_url": lambda r: r["metadata"].get("source_url"),
    "link_url": lambda r: r["metadata"].get("link_url"), "link_format": lambda r: r["metadata"].get("link_format"),
    "store": _none,
    # makes and runs
    "allow_failed_dependencies": lambda r: bool((r.get("options") or {}).get("allow_failed_dependencies")),
    # runs
    "request_docker_image": _request("image"), "request_time": _request("time", _duration),
    "request_memory": _request("memory", _size), "request_disk": _request("disk", _size),
    "request_cpus": _request("cpus"), "request_gpus": _request("gpus"), "request_queue": _request("queue"),
    "request_priority": _request("priority"), "request_network": _request("network"),
    "exclude_patterns": lambda r: (r.get("options") or {}).get("exclude_patterns", []),
    "actions": _actions, "time": lambda r: _result(r, "time"), "time_user": lambda r: _result(r, "cpu_user"),
    "time_system": lambda r: _result(r, "cpu_system"), "memory": lambda r: _result(r, "peak_memory"),
    "memory_max": lambda r: _result(r, "peak_memory"), "started": lambda r: _result(r, "started"),
    "last_updated": lambda r: r["updated"],
    "run_status": lambda r: (r.get("live") or {}).get("stage") or (r["state"] if r["kind"] == "run" else None),
    "staged_status": lambda r: (r.get("live") or {}).get("reason") or None,
    "docker_image": _docker_image, "exitcode": lambda r: _result(r, "exit_code"), "job_handle": _none,
    "remote": lambda r: _result(r, "host") or None, "remote_history": _none,
    "time_preparing": _none, "time_running": _none, "time_cleaning_up": _none,
    "time_uploading_results": _none, "on_preemptible_worker": _none, "cpu_usage": _none,
    "memory_usage": _none,
}

# fields only a verbose record holds
VERBOSE_FIELDS = {"children", "host_worksheets"}


def field(rec: dict, name: str):
    """A field of a record for `-f`: a CodaLab field, else cl's own (the
    record's, its result's) or a metadata key; None if the bundle has none."""
    if name in CODALAB_FIELDS:
        return CODALAB_FIELDS[name](rec)
    if name.startswith("/"):
        return None
    for where in (rec, rec.get("metadata", {}), rec.get("result") or {}):
        if name in where:
            return where[name]
    return None


def field_rows(recs: list[dict], names: list[str]) -> list[list]:
    """The `-f` values of each record; InputError naming a field that is
    neither CodaLab's nor cl's nor metadata of any of the bundles."""
    known = set(CODALAB_FIELDS) | {"result"}
    for rec in recs:
        known |= set(rec) | set(rec.get("metadata") or {}) | set(rec.get("result") or {})
    for name in names:
        if name not in known and not name.startswith("/"):  # `/PATH`: a file (cl/app/bundles.py reads it)
            from cl.bundles.spec_grammar import shown
            raise InputError(f"unknown field: '{shown(name)}' (a CodaLab field such as uuid, bundle_type, "
                             "state, request_memory, or a metadata key)")
    return [[field(rec, name) for name in names] for rec in recs]


def target_record(repo: Repository, target: Target) -> dict:
    return record(repo, target.bundle)
