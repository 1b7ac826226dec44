"""Reaching into a run while it goes: `cl write` puts a small file into
its working directory, `cl netcat` talks to a port it listens on (CodaLab's
commands of the same names)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

from cl.errors import CLError, InputError, UsageError
from cl.objects.ids import ObjectId
from cl.repo import Repository


@dataclass(frozen=True)
class Written:
    """What `cl write` wrote: the run and the path in it."""
    id: ObjectId
    path: str


def _running(repo: Repository, spec: str, worksheet: str | None) -> tuple[str, str, dict]:
    """(bundle id, path in it, live status) of a run that is running now."""
    from cl.bundles.specs import resolve_target, resolve_worksheet
    from cl.index.runs import run_status
    target = resolve_target(repo, spec, resolve_worksheet(repo, worksheet) if worksheet else None)
    bid = str(target.bundle)
    row = repo.index.bundle(bid)
    if row is None or row.kind != "run":
        raise UsageError(f"'{spec}' is not a run")
    status = run_status(repo.db, bid)
    if status is None or status["stage"] != "running":
        stage = status["stage"] if status else row.state
        raise CLError(f"run '{row.name}' (0x{bid[:8]}) is not running (it is {stage})")
    return bid, target.path, status


def write(repo: Repository, target: str, text: str, worksheet: str | None = None) -> Written:
    """Write `text` to the file `target` (RUN/PATH) names in a running
    run's working directory; returns the run and the path written.  Nothing the run
    made is followed: a symbolic link on the way is refused, as is a
    dependency's (read-only) directory."""
    from cl.runs.paths import run_dir
    bid, path, _ = _running(repo, target, worksheet)
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise UsageError("cl write needs a file in the run: RUN/PATH")
    deps = {d.key for d in repo.bundle(bid).dependencies}
    if parts[0] in deps or (len(parts) == 1 and "" in deps):
        raise InputError(f"'{parts[0]}' is a dependency of the run (read-only)")
    root = os.open(run_dir(repo, bid), os.O_RDONLY | os.O_DIRECTORY)
    fd = root
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                raise InputError(f"no directory '{part}' in the run") from None
            except (NotADirectoryError, OSError) as exc:
                raise InputError(f"'{part}' in the run is not a directory one can write into "
                                 f"({exc.strerror})") from None
            if fd != root:
                os.close(fd)
            fd = nxt
        try:
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=fd)
        except OSError as exc:
            raise InputError(f"cannot write '{path}' in the run: {exc.strerror}") from None
        with os.fdopen(out, "w", encoding="utf-8") as f:
            f.write(text)
    finally:
        if fd != root:
            os.close(fd)
        os.close(root)
    return Written(ObjectId(bid), "/".join(parts))


def netcat(repo: Repository, spec: str, port: int, message: bytes, out: IO[bytes],
           worksheet: str | None = None, timeout: float = 60.0) -> None:
    """Send `message` to `port` of a running run and copy what it answers
    to `out` until it closes the connection.  A Docker run is reached at
    its container's address (it needs --request-network); a local run on
    the loopback interface."""
    import socket
    if not 0 < port < 65536:
        raise UsageError(f"not a port: {port}")
    bid, _, status = _running(repo, spec, worksheet)
    host = _address(repo, status, bid)
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise CLError(f"cannot connect to port {port} of run 0x{bid[:8]} ({host}): "
                      f"{exc.strerror or exc}") from None
    with conn:
        try:
            conn.sendall(message)
            conn.shutdown(socket.SHUT_WR)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                out.write(data)
        except OSError as exc:
            raise CLError(f"port {port} of run 0x{bid[:8]}: {exc.strerror or exc}") from None
    out.flush()


def _address(repo: Repository, status: dict, bid: str) -> str:
    """Where a running run's ports are: the loopback for a local run, its
    container's address for a Docker run (from the handle its worker
    recorded in the claim)."""
    import json

    from cl.index.runs import get_claim
    executor = status.get("executor") or ""
    if executor.startswith("local"):
        return "127.0.0.1"
    claim = get_claim(repo.db, bid)
    handle = json.loads(claim["handle"] or "{}") if claim else {}
    if executor != "docker" or not handle.get("container"):
        raise CLError(f"cannot reach run 0x{bid[:8]}: its executor ({executor or 'unknown'}) has no network "
                      f"address cl can connect to")
    from cl.runs.docker_executor import container_addresses
    from cl.runs.layout import RunError
    try:
        addresses = container_addresses(handle["container"])
    except RunError as exc:
        raise CLError(f"run 0x{bid[:8]}: {exc}") from None
    if not addresses:
        raise CLError(f"run 0x{bid[:8]} has no network to connect to",
                      hint="start it with --request-network to reach its ports")
    return addresses[0]
