"""Worksheets that grow cheaply: appending 10,000 notes one at a time.

Two projects under bench/.work/appends/ (rebuilt each run, they grow as they
are timed): `first`, a fresh worksheet, and `full`, a worksheet that already
holds 9,999 notes appended one commit at a time through the library
(cl.worksheets.ops.add_items, then Repository.maintain, as `cl add -m`
does).  Building `full` is itself the size case: the repository's growth
over those 9,999 appends, in MB (shown in the seconds column, with the
target in MB).

Timed as a user runs it, process start to exit: `cl add -m TEXT` on the
fresh worksheet (the 1st append, the reference) and on the full one (the
10,000th).  Targets: the 10,000th append within 1.2× the 1st; and the
9,999 appends grow the repository by at most 10 MB.
"""

import os
import shutil

from harness import Row, Target, row, timed

N = 10_000
FIRST = "1st append"


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def run(ctx) -> list[Row]:
    n = 500 if getattr(ctx, "quick", False) else N
    where = os.path.join(ctx.work, "appends")
    if os.path.exists(where):
        shutil.rmtree(where)
    first, full = os.path.join(where, "first"), os.path.join(where, "full")
    os.makedirs(first)
    os.makedirs(full)
    from cl.objects.types import Item
    from cl.repo import Repository
    from cl.worksheets import ops

    Repository.init(first, worksheet="notes").close()
    repo = Repository.init(full, worksheet="notes")
    try:
        wid = repo.current_worksheet()
        before = _size(os.path.join(full, ".codalab"))
        ctx.log(f"appending {n - 1:,} notes one at a time under {full}")
        for i in range(n - 1):
            ops.add_items(repo, wid, [Item("markup", f"note {i}: loss went down again")], "add")
            if (warning := repo.maintain()):  # as `cl add -m` does at its end (gc.auto)
                raise RuntimeError(warning)
    finally:
        repo.close()
    grown_mb = (_size(os.path.join(full, ".codalab")) - before) / 1e6
    case = f"append to a worksheet of {n - 1:,} notes"
    cmd = ["cl", "add", "-m", "one more note: loss went down again"]
    last = f"{n:,}th append"
    return [
        row(case, FIRST, timed(ctx, cmd, first, f"{case}: {FIRST}"), reference=True,
            note="cl add -m on a fresh worksheet"),
        row(case, last, timed(ctx, cmd, full, f"{case}: {last}"), targets=(Target(1.2, FIRST),),
            note=f"cl add -m on the worksheet of {n - 1:,} notes"),
        Row(f"repository growth over {n - 1:,} appends", "MB (not s)", [grown_mb],
            targets=(Target(10, unit="MB"),), note="bytes under .codalab/ after minus before, in MB"),
    ]
