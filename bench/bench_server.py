"""cl server under load: 50 concurrent readers for 20 s of bundle info, worksheet pages and listings over loopback

A bare repository is served by a real `cl server` on 127.0.0.1 (a user
`reader` with a token; worksheet `lab` of 40 uploaded bundles, readable by
`reader` through a group).  50 readers (asyncio tasks over httpx, each its
own keep-alive connection) loop for 20 s, each taking the next of

    GET /rest/bundles/{id}           (a bundle's info and permissions)
    GET /rest/worksheets/lab/page    (the interpreted page: 40 table rows)
    GET /rest/worksheets/lab         (head, items, permissions)
    GET /rest/worksheets             (the readable worksheets)

Every answer must be 200 with JSON: anything else, or a connection error,
counts as an error, and errors must be 0.  Each row's "median s" is the
median latency of its kind; the note gives p90/p99, requests per second
and errors.  The client shares the machine's cores with the server, so
the figures are a floor of what the server does alone.
"""

import asyncio
import json
import os
import statistics
import subprocess
import time

from harness import Row, Unavailable, serve, stop

READERS, SECONDS, BUNDLES = 50, 20.0, 40
KINDS = ("bundle info", "worksheet page", "worksheet", "worksheet list")


def _hub(ctx, where: str, bundles: int) -> tuple[str, list[str]]:
    """A served repository with worksheet `lab`; the reader's token and bundle ids."""
    server = os.path.join(where, "server")
    owner = os.path.join(where, "owner")
    ctx.sh(["cl", "init", "--bare", server])
    for user in ("owner", "reader"):
        ctx.sh(["cl", "server", "user", "add", user, server], input=f"{user}-password\n".encode())
    tokens = {u: ctx.sh(["cl", "server", "token", "add", u, server], stdout=subprocess.PIPE).stdout.decode().strip()
              for u in ("owner", "reader")}
    ctx.sh(["cl", "init", owner, "-w", "lab"])
    ids = []
    for i in range(bundles):
        path = os.path.join(owner, f"data{i}.txt")
        with open(path, "w") as f:
            f.write(f"{i}\n" * 100)
        ids.append(ctx.sh(["cl", "upload", path], cwd=owner, stdout=subprocess.PIPE).stdout.decode().strip())
    return server, owner, tokens, ids


async def _load(url: str, token: str, ids: list[str], readers: int, seconds: float):
    import httpx
    paths = {"bundle info": [f"/rest/bundles/{b}" for b in ids], "worksheet page": ["/rest/worksheets/lab/page"],
             "worksheet": ["/rest/worksheets/lab"], "worksheet list": ["/rest/worksheets"]}
    latencies = {k: [] for k in KINDS}
    errors = {k: 0 for k in KINDS}
    samples: list[str] = []
    end = time.monotonic() + seconds

    async def reader(n: int):
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=60) as client:
            i = n
            while time.monotonic() < end:
                kind = KINDS[i % len(KINDS)]
                path = paths[kind][i % len(paths[kind])]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                    json.loads(r.content)
                    ok = r.status_code == 200
                    if not ok and len(samples) < 5:
                        samples.append(f"{r.status_code} {path}: {r.text[:120]}")
                except Exception as exc:  # counted and shown: the bench's verdict is the count
                    ok = False
                    if len(samples) < 5:
                        samples.append(f"{type(exc).__name__} {path}: {exc}")
                latencies[kind].append(time.perf_counter() - t0)
                if not ok:
                    errors[kind] += 1
    await asyncio.gather(*(reader(n) for n in range(readers)))
    return latencies, errors, samples


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(ctx) -> list[Row]:
    readers, seconds, bundles = (10, 5.0, 10) if ctx.quick else (READERS, SECONDS, BUNDLES)
    case = f"{readers} readers, {seconds:g} s"
    try:
        where = ctx.scratch("hub")
        server, owner, tokens, ids = _hub(ctx, where, bundles)
        proc, url = serve(server, ctx.bin)
    except Unavailable as exc:
        return [Row(case, kind, unavailable=str(exc)) for kind in KINDS]
    try:
        env = {"CL_TOKEN": tokens["owner"]}
        ctx.sh(["cl", "remote", "add", "origin", url], cwd=owner)
        ctx.sh(["cl", "push", "origin", "--all"], cwd=owner, env=env)
        for args in (["gnew", "readers"], ["uadd", "reader", "readers"], ["wperm", "lab", "readers", "read"],
                     ["perm", *ids, "readers", "read"]):
            ctx.sh(["cl", *args], cwd=owner, env=env)
        ctx.log(f"server: {readers} readers for {seconds:g} s on {url}")
        latencies, errors, samples = asyncio.run(_load(url, tokens["reader"], ids, readers, seconds))
    finally:
        stop(proc)
    for line in samples:
        ctx.log(f"server: error: {line}")
    rows = []
    total = sum(len(v) for v in latencies.values())
    for kind in KINDS:
        got = latencies[kind]
        if not got:
            rows.append(Row(case, kind, unavailable="no request finished"))
            continue
        note = (f"{len(got)} requests, p90 {_pct(got, 0.9) * 1000:.0f} ms, p99 {_pct(got, 0.99) * 1000:.0f} ms, "
                f"errors {errors[kind]}")
        rows.append(Row(case, kind, [statistics.median(got)], note=note))
        ctx.log(f"server: {kind}: {note}")
    all_errors = sum(errors.values())
    ctx.log(f"server: {total} requests in {seconds:g} s ({total / seconds:.0f}/s), errors {all_errors}")
    if all_errors:
        rows.append(Row(case, "errors", unavailable=f"{all_errors} of {total} requests failed (must be 0)"))
    return rows
