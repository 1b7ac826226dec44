"""Index tables of the run queue: which worker holds which run (a claim),
the run's live stage and why it waits, and the live workers.

Nothing here is durable history: the durable transitions of a run are its
State objects (created -> running -> ready|failed|killed).  These rows are
what a worker needs to coordinate with other workers and what `cl info`,
`cl workers`, `cl kill` and `cl wait` read while a run is going.

* `run_claims`: one row per run a worker has taken, with the executor's
  `handle` of its process (JSON this module never looks inside).  A run is claimed inside
  one write transaction that checks it is still `created` and unclaimed, so
  two workers never run the same bundle.  The row goes away in the same
  transaction as the run's final state.
* `run_workers`: one row per worker: host, pid (with the process start time,
  so a reused pid is not mistaken for the worker), heartbeat, executor.  A
  worker on this host is alive while its process is; one elsewhere while its
  heartbeat is fresh.  It records its `capacity` (the most one run can get:
  cpus, gpus, memory).
* `run_unmet`: what a worker found of a queued run no live worker can meet
  (`no worker can meet its request: 100 GPUs …`); `cl info` shows the run
  `staged` with that reason while the worker that said so is alive.  A
  claim deletes the run's rows."""

import json
import os
import time

from cl.refs.db import Database

STALE_HEARTBEAT_NS = 60 * 10**9
FINAL = ("ready", "failed", "killed")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS run_claims (
        bundle TEXT PRIMARY KEY, worker TEXT NOT NULL, stage TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '', executor TEXT NOT NULL DEFAULT '',
        process TEXT NOT NULL DEFAULT '', handle TEXT NOT NULL DEFAULT '', claimed INTEGER NOT NULL,
        started INTEGER, updated INTEGER NOT NULL, kill_requested INTEGER NOT NULL DEFAULT 0,
        image TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS run_claims_worker ON run_claims(worker)",
    """CREATE TABLE IF NOT EXISTS run_workers (
        id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_start INTEGER,
        started INTEGER NOT NULL, heartbeat INTEGER NOT NULL, executor TEXT NOT NULL,
        parallel INTEGER NOT NULL, tags TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '', capacity TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS run_unmet (
        bundle TEXT NOT NULL, worker TEXT NOT NULL, reason TEXT NOT NULL,
        PRIMARY KEY (bundle, worker))""",
)

CLAIM_COLUMNS = ("bundle", "worker", "stage", "reason", "executor", "process", "handle",
                 "claimed", "started", "updated", "kill_requested", "image")
# Columns added since the table was first made: (name, definition).
_ADDED_CLAIM_COLUMNS = (("process", "TEXT NOT NULL DEFAULT ''"), ("handle", "TEXT NOT NULL DEFAULT ''"))
_ADDED_WORKER_COLUMNS = (("capacity", "TEXT NOT NULL DEFAULT ''"),)
WORKER_COLUMNS = ("id", "host", "pid", "pid_start", "started", "heartbeat", "executor",
                  "parallel", "tags", "note", "address", "capacity")


def ensure(db: Database) -> Database:
    """Create the tables once per connection (plain statements: unlike
    executescript they do not commit a caller's open transaction)."""
    if not getattr(db, "_cl_runs_schema", False):
        for statement in _SCHEMA:
            db.execute(statement)
        have = {row[1] for row in db.execute("PRAGMA table_info(run_claims)")}
        for name, definition in _ADDED_CLAIM_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE run_claims ADD COLUMN {name} {definition}")
        have = {row[1] for row in db.execute("PRAGMA table_info(run_workers)")}
        for name, definition in _ADDED_WORKER_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE run_workers ADD COLUMN {name} {definition}")
        db._cl_runs_schema = True
    return db


def now_ns() -> int:
    return time.time_ns()


HOST = os.uname().nodename  # what socket.gethostname() returns, without importing socket


# --- processes ---------------------------------------------------------------


def pid_start(pid: int) -> int | None:
    """The start time of a process (clock ticks since boot), or None when
    there is no such process.  With the pid it names one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def process_alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    now = pid_start(pid)
    if now is None:
        return False
    if start is not None and now != start:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def worker_alive(row: dict, now: int | None = None) -> bool:
    if row["host"] == HOST:
        return process_alive(row["pid"], row["pid_start"])
    return (now or now_ns()) - row["heartbeat"] < STALE_HEARTBEAT_NS


# --- workers -----------------------------------------------------------------


def register_worker(db: Database, wid: str, *, pid: int, executor: str, parallel: int,
                    tags=(), note: str = "", address: str = "", capacity: dict | None = None) -> None:
    """Record a worker; `capacity` is the most it can give one run
    (cl.runs.capacity: cpus, gpus, memory), None when its executor decides."""
    ensure(db)
    t = now_ns()
    with db.transaction():
        db.execute("INSERT OR REPLACE INTO run_workers (" + ", ".join(WORKER_COLUMNS) + ")"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (wid, HOST, pid, pid_start(pid), t, t, executor, parallel,
                    json.dumps(list(tags)), note, address,
                    "" if capacity is None else json.dumps(capacity, sort_keys=True)))


def heartbeat(db: Database, wid: str) -> None:
    ensure(db)
    with db.transaction():
        db.execute("UPDATE run_workers SET heartbeat = ? WHERE id = ?", (now_ns(), wid))


def remove_worker(db: Database, wid: str) -> None:
    ensure(db)
    with db.transaction():
        db.execute("DELETE FROM run_workers WHERE id = ?", (wid,))
        db.execute("DELETE FROM run_unmet WHERE worker = ?", (wid,))


def _worker_row(row) -> dict:
    d = dict(zip(WORKER_COLUMNS, row))
    d["tags"] = json.loads(d["tags"])
    d["capacity"] = json.loads(d["capacity"]) if d["capacity"] else None
    return d


def workers(db: Database) -> list[dict]:
    """Every registered worker, each with `alive`."""
    ensure(db)
    t = now_ns()
    rows = [_worker_row(r) for r in db.execute(
        "SELECT " + ", ".join(WORKER_COLUMNS) + " FROM run_workers ORDER BY started")]
    for r in rows:
        r["alive"] = worker_alive(r, t)
    return rows


def live_workers(db: Database) -> list[dict]:
    return [w for w in workers(db) if w["alive"]]


# --- the queue and claims ----------------------------------------------------


def queued_runs(db: Database, limit: int = 500) -> list[str]:
    """Runs in state `created` that no worker holds, oldest first."""
    ensure(db)
    return [r[0] for r in db.execute(
        "SELECT id FROM bundles b WHERE kind = 'run' AND state = 'created' AND deleted = 0"
        " AND NOT EXISTS (SELECT 1 FROM run_claims c WHERE c.bundle = b.id)"
        " ORDER BY seq LIMIT ?", (limit,))]


def dependency_states(db: Database, bid: str) -> list[dict]:
    """Each dependency of a bundle with the parent's name and state
    (`present` False when the parent is not in this repository)."""
    rows = db.execute(
        "SELECT d.key, d.parent, d.path, b.name, b.state, b.deleted, b.id IS NOT NULL"
        " FROM deps d LEFT JOIN bundles b ON b.id = d.parent WHERE d.child = ? ORDER BY d.key",
        (bid,))
    return [dict(zip(("key", "parent", "path", "name", "state", "deleted", "present"), r))
            for r in rows]


def _claim_row(row) -> dict | None:
    return dict(zip(CLAIM_COLUMNS, row)) if row else None


def claim(db: Database, bid: str, worker: str, executor: str, states=("created",)) -> bool:
    """Take a queued run for `worker`; False when it is no longer queued or
    someone else took it first.  The check and the insert happen in one
    write transaction, so of two workers exactly one wins.  (Recovery
    claims a run found `running` in a container nobody holds with
    `states=("created", "running")`.)"""
    ensure(db)
    t = now_ns()
    with db.transaction():
        row = db.execute("SELECT state, deleted, kind FROM bundles WHERE id = ?", (bid,)).fetchone()
        if not row or row[0] not in states or row[1] or row[2] != "run":
            return False
        if db.execute("SELECT 1 FROM run_claims WHERE bundle = ?", (bid,)).fetchone():
            return False
        db.execute("INSERT INTO run_claims (bundle, worker, stage, executor, claimed, updated)"
                   " VALUES (?, ?, 'staged', ?, ?, ?)", (bid, worker, executor, t, t))
        db.execute("DELETE FROM run_unmet WHERE bundle = ?", (bid,))
    return True


# --- requests no worker can meet ---------------------------------------------


def unmet(db: Database, worker: str) -> dict[str, str]:
    """The runs `worker` found no live worker able to run: id -> why."""
    ensure(db)
    return dict(db.execute("SELECT bundle, reason FROM run_unmet WHERE worker = ?", (worker,)))


def set_unmet(db: Database, worker: str, reasons: dict[str, str]) -> None:
    """Replace what `worker` says of queued runs no live worker can meet
    (id -> why, cl.runs.capacity); one write transaction."""
    ensure(db)
    with db.transaction():
        db.execute("DELETE FROM run_unmet WHERE worker = ?", (worker,))
        db.executemany("INSERT INTO run_unmet (bundle, worker, reason) VALUES (?, ?, ?)",
                       [(bid, worker, why) for bid, why in sorted(reasons.items())])


def unmet_reason(db: Database, bid: str) -> str | None:
    """Why no live worker can meet a queued run's request, as a live worker
    found it; None when none says so."""
    ensure(db)
    rows = db.execute("SELECT worker, reason FROM run_unmet WHERE bundle = ? ORDER BY worker", (bid,)).fetchall()
    if not rows:
        return None
    live = {w["id"] for w in live_workers(db)}
    return next((why for worker, why in rows if worker in live), None)


def get_claim(db: Database, bid: str) -> dict | None:
    ensure(db)
    return _claim_row(db.execute("SELECT " + ", ".join(CLAIM_COLUMNS) + " FROM run_claims"
                                 " WHERE bundle = ?", (bid,)).fetchone())


def claims(db: Database, worker: str | None = None) -> list[dict]:
    ensure(db)
    sql = "SELECT " + ", ".join(CLAIM_COLUMNS) + " FROM run_claims"
    params: tuple = ()
    if worker is not None:
        sql += " WHERE worker = ?"
        params = (worker,)
    return [_claim_row(r) for r in db.execute(sql + " ORDER BY claimed", params)]


_UPDATABLE = {"stage", "reason", "executor", "process", "handle", "started", "image"}


def update_claim(db: Database, bid: str, worker: str, **fields) -> bool:
    """Change a claim this worker holds; False when it holds it no more."""
    ensure(db)
    bad = set(fields) - _UPDATABLE
    if bad:
        raise ValueError(f"not claim fields: {sorted(bad)}")
    sets = ", ".join(f"{k} = ?" for k in fields)
    with db.transaction():
        cur = db.execute(f"UPDATE run_claims SET {sets}, updated = ? WHERE bundle = ? AND worker = ?",
                         (*fields.values(), now_ns(), bid, worker))
    return cur.rowcount == 1


def release(db: Database, bid: str, worker: str) -> None:
    """Drop a claim (the caller holds a transaction with the final state,
    or gives a run that never started back to the queue)."""
    ensure(db)
    with db.transaction():
        db.execute("DELETE FROM run_claims WHERE bundle = ? AND worker = ?", (bid, worker))


def drop_claim(db: Database, bid: str) -> None:
    ensure(db)
    with db.transaction():
        db.execute("DELETE FROM run_claims WHERE bundle = ?", (bid,))


def take_over(db: Database, bid: str, old: str, new: str) -> bool:
    """Move a dead worker's claim to `new`; compare-and-swap on the holder."""
    ensure(db)
    with db.transaction():
        cur = db.execute("UPDATE run_claims SET worker = ?, updated = ? WHERE bundle = ? AND worker = ?",
                         (new, now_ns(), bid, old))
    return cur.rowcount == 1


def orphaned_claims(db: Database) -> list[dict]:
    """Claims whose worker is gone (not registered, or not alive)."""
    ensure(db)
    alive = {w["id"] for w in live_workers(db)}
    return [c for c in claims(db) if c["worker"] not in alive]


def request_kill(db: Database, bid: str) -> bool:
    """Flag a claimed run for its worker to kill; False if unclaimed."""
    ensure(db)
    with db.transaction():
        cur = db.execute("UPDATE run_claims SET kill_requested = 1, updated = ? WHERE bundle = ?",
                         (now_ns(), bid))
    return cur.rowcount == 1


def kill_requests(db: Database, worker: str) -> list[str]:
    ensure(db)
    return [r[0] for r in db.execute(
        "SELECT bundle FROM run_claims WHERE worker = ? AND kill_requested = 1", (worker,))]


# --- what `cl info` shows ----------------------------------------------------


def _label(dep: dict) -> str:
    short = "0x" + dep["parent"][:8]
    return f"{dep['name']} ({short})" if dep.get("name") else short


def _dependency_reason(db: Database, bid: str) -> str | None:
    """Why a queued run's dependencies hold it back, if they do."""
    for dep in dependency_states(db, bid):
        if not dep["present"]:
            return f"waiting for dependency {_label(dep)}, which is not in this repository"
        if dep["deleted"]:
            return f"dependency {_label(dep)} was removed"
        if dep["state"] in ("failed", "killed"):
            return f"dependency {_label(dep)} {dep['state']}"
        if dep["state"] not in FINAL:
            return f"waiting for dependency {_label(dep)}"
    return None


def waiting_reason(db: Database, bid: str) -> str:
    """Why a queued run is not running yet."""
    because = _dependency_reason(db, bid)
    if because:
        return because
    live = live_workers(db)
    if not live:
        return "waiting for a worker (none is running: start one with 'cl worker')"
    busy = sum(1 for c in claims(db) if c["worker"] in {w["id"] for w in live})
    capacity = sum(w["parallel"] for w in live)
    if busy >= capacity:
        return f"waiting for a worker ({busy} of {capacity} slots busy)"
    return "waiting for a worker"


def run_status(db: Database, bid: str) -> dict | None:
    """The live status of a run that has not finished: `stage` (created,
    staged, preparing, running, finalizing), `reason` (why it waits, or what
    it is doing), `worker`, `executor`, `process` (what the executor calls
    it: a container, a pid, a batch job), `started` (ns),
    `kill_requested`.  None for other bundles and for finished runs."""
    ensure(db)
    row = db.execute("SELECT kind, state FROM bundles WHERE id = ?", (bid,)).fetchone()
    if not row or row[0] != "run" or row[1] in FINAL:
        return None
    claim_row = get_claim(db, bid)
    if claim_row is None:
        if row[1] == "created":
            # CodaLab's `staged` with its staged_status: the run waits for a
            # worker that can give it what it asks, and no live one can
            unmet_why = None if _dependency_reason(db, bid) else unmet_reason(db, bid)
            return {"stage": "staged" if unmet_why else "created",
                    "reason": unmet_why or waiting_reason(db, bid),
                    "worker": None, "executor": None, "process": None, "started": None,
                    "kill_requested": False}
        return {"stage": row[1], "reason": "no worker of this repository holds it", "worker": None,
                "executor": None, "process": None, "started": None,
                "kill_requested": False}
    status = {k: claim_row[k] for k in ("stage", "reason", "worker", "executor", "process",
                                        "started")}
    status["kill_requested"] = bool(claim_row["kill_requested"])
    holder = db.execute("SELECT " + ", ".join(WORKER_COLUMNS) + " FROM run_workers WHERE id = ?",
                        (claim_row["worker"],)).fetchone()
    if holder is None or not worker_alive(_worker_row(holder)):
        status["reason"] = "its worker died; the next worker to start recovers it"
    return status
