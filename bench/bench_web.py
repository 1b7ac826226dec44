"""web worksheets: the page of a worksheet of 1,000 runs from `cl server`, against `cl print --html`

The repository is bench_worksheets.py's (built once under
bench/.work/worksheets/): worksheet `ws1000` shows a table of 1,000 runs,
each row reading the run's stats.json.  Contenders:

* `cl print --html ws1000` -- the reference, from process start to exit,
  output to /dev/null (as bench_worksheets times it);
* the web page: `GET /worksheets/ws1000` of a `cl server` already running
  on loopback (started once, one request first so its modules are loaded,
  as a serving server has them), signed in, from sending the request to
  the last byte of the complete HTML;
* the page's poll: `GET /worksheets/ws1000/states`, what an open page asks
  every 1.5 s while runs go (no target; for the record).

Target: the web page within 1.5x `cl print --html`.  The signed-in user
is a root user of the served repository (made once: `cl server user add
--root`), so the per-bundle permission lookups a non-root reader costs are
not in this figure.
"""

import os
import subprocess
import sys
import time

from harness import Row, Target, row, serve, stop, timed

import bench_worksheets

CASE = "1,000 runs"
HTML = "cl print --html"
PAGE = "web page"
POLL = "web page poll"
USER, PASSWORD = "benchroot", "bench-password"


def _server(where: str):
    subprocess.run(["cl", "server", "user", "add", USER, "--root", where], input=PASSWORD + "\n", text=True,
                   capture_output=True)  # already there after the first bench run: that is fine
    return serve(where)


def _client(url: str):
    import re

    import httpx
    client = httpx.Client(base_url=url, timeout=600, follow_redirects=False)
    form = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]*)"', form).group(1)
    r = client.post("/signin", data={"csrf": token, "user": USER, "password": PASSWORD})
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed: {r.status_code}")
    return client


def _time_get(client, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(path)
        body = r.content
        times.append(time.perf_counter() - start)
        if r.status_code != 200 or not body.rstrip().endswith(b"</html>" if "states" not in path else b"}"):
            raise RuntimeError(f"GET {path}: {r.status_code}")
    return times


def run(ctx) -> list[Row]:
    where = bench_worksheets.project(ctx)
    html = timed(ctx, ["cl", "print", "--html", "ws1000"], where, f"{CASE}: {HTML}")
    proc, url = _server(where)
    try:
        client = _client(url)
        client.get("/worksheets/ws1000")  # the server loads its modules once
        ctx.log(f"{CASE}: {PAGE}")
        page = _time_get(client, "/worksheets/ws1000", ctx.repeat)
        poll = _time_get(client, "/worksheets/ws1000/states", ctx.repeat)
    finally:
        stop(proc)
    return [
        row(CASE, HTML, html, reference=True, note="process start to exit"),
        Row(CASE, PAGE, page, targets=(Target(1.5, HTML),),
            note="GET /worksheets/ws1000 of a running cl server, signed in (root)"),
        Row(CASE, POLL, poll, note="GET …/states: what the open page polls"),
    ]


if __name__ == "__main__":
    sys.exit("run it with: python bench/run.py --only web")
