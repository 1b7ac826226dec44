"""ancestors, descendants: nested provenance lists of 1,000 / 10,000 / 100,000-bundle DAGs against cl info

Two DAG shapes, built once directly through the library (one transaction,
no worksheet) and cached under bench/.work/provenance/:

* chain — bundle i depends on bundle i-1: the deepest bundle has every
  other as an ancestor, each one level deeper than the last;
* layered — layers 100 bundles wide, each bundle depending on 3 bundles of
  the layer above: the deepest bundle's ancestors are (nearly) all of them,
  reached by many paths, so the list is mostly `(see above)` repeats.

Timed as a user runs them, from process start to exit, output to
/dev/null: `cl ancestors` of the deepest bundle, `cl descendants` of the
first (top) bundle, and `cl info` of the same bundle as the reference.
Targets: at 10,000 bundles each list prints within 3× `cl info`; at
100,000 within 12× the 10,000 case (linear), and the layered DAG's lists
within 1 s (issue 17).

`--case` picks DAGs by name: `--case layered` (both sizes of that shape),
`--case "of 100,000"` (the big ones), `--case "layered of 100,000"`; the
scaling rows appear only for a shape whose sizes all ran.
"""

import os
import random
import shutil

from harness import Row, Target, row, timed

WIDTH = 100   # bundles per layer of the layered DAG
FAN_IN = 3    # dependencies of each bundle below the first layer
INFO = "cl info"
ANC = "cl ancestors"
DESC = "cl descendants"
BUILD_VERSION = "3"  # bump when the DAGs' shape or repo.db's schema changes, to rebuild the cache


def run(ctx) -> list[Row]:
    sizes = (100, 1_000, 10_000) if ctx.quick else (1_000, 10_000, 100_000)
    mid, big = sizes[1], sizes[2]
    rows: list[Row] = []
    for shape in ("chain", "layered"):
        per_size = {}
        for n in sizes:
            case = f"{shape} of {n:,}"
            if not ctx.wants(case):
                continue
            where, deepest, top = dag(ctx, shape, n)
            ctx.log(case)
            times = {
                INFO: timed(ctx, ["cl", "info", top], where, f"{case}: {INFO}", warm_path=repo_db(where)),
                ANC: timed(ctx, ["cl", "ancestors", deepest], where, f"{case}: {ANC}", warm_path=repo_db(where)),
                DESC: timed(ctx, ["cl", "descendants", top], where, f"{case}: {DESC}", warm_path=repo_db(where)),
            }
            times[INFO + " (deepest)"] = timed(ctx, ["cl", "info", deepest], where,
                                               f"{case}: {INFO} deepest", warm_path=repo_db(where))
            per_size[n] = times
            near = (Target(3, INFO),) if n == mid else ()
            near_deep = (Target(3, INFO + " (deepest)"),) if n == mid else ()
            if n == big and shape == "layered" and not ctx.quick:  # issue 17: within a second
                near = near_deep = (Target(1),)
            rows += [
                row(case, INFO, times[INFO], reference=True, note="of the top bundle"),
                row(case, INFO + " (deepest)", times[INFO + " (deepest)"]),
                row(case, ANC, times[ANC], targets=near_deep, note="of the deepest bundle"),
                row(case, DESC, times[DESC], targets=near, note="of the top bundle"),
            ]
        if len(per_size) < len(sizes):
            continue
        for what in (ANC, DESC):
            case = f"{shape}: {what} scaling"
            for n in sizes:
                rows.append(row(case, f"{n:,} bundles", per_size[n][what], reference=(n == mid),
                                targets=(Target(12, f"{mid:,} bundles"),) if n == big else ()))
    return rows


def repo_db(where: str) -> str:
    """Only repo.db is read ahead: the graph queries read nothing else, and
    reading the objects of 100,000 bundles would swamp the page cache."""
    return os.path.join(where, ".codalab", "repo.db")


# --- building the DAGs ----------------------------------------------------------


def dag(ctx, shape: str, n: int) -> tuple[str, str, str]:
    """(project directory, deepest bundle id, top bundle id), built once."""
    where = os.path.join(ctx.work, "provenance", f"{shape}-{n}")
    marker = os.path.join(where, "done.txt")
    if os.path.exists(marker):
        version, deepest, top = open(marker).read().split()
        if version == BUILD_VERSION:
            return where, deepest, top
    if os.path.exists(where):
        shutil.rmtree(where)
    os.makedirs(where)
    ctx.log(f"building a {shape} DAG of {n:,} bundles under {where} (once)")
    deepest, top = build(where, shape, n)
    with open(marker, "w") as f:
        f.write(f"{BUILD_VERSION} {deepest} {top}\n")
    return where, deepest, top


def parents_of(shape: str, n: int) -> list[list[int]]:
    if shape == "chain":
        return [[]] + [[i - 1] for i in range(1, n)]
    rng = random.Random(n)
    out = []
    for i in range(n):
        layer = i // WIDTH
        if layer == 0:
            out.append([])
        else:
            above = range((layer - 1) * WIDTH, layer * WIDTH)
            out.append(sorted(rng.sample(above, FAN_IN)))
    return out


def build(where: str, shape: str, n: int) -> tuple[str, str]:
    from cl.objects.ingest import ingest_entries, text_contents
    from cl.objects.types import Bundle, Dependency, Result
    from cl.repo import Repository, new_nonce, now_ns

    repo = Repository.init(where, worksheet="bench")
    try:
        user = repo.user()
        data = text_contents(repo.store, "data\n")
        out = ingest_entries(repo.store, {"out": data, "stdout": text_contents(repo.store, "")})
        ids = []
        parents = parents_of(shape, n)
        batch = 2_000
        for start in range(0, n, batch):
            with repo.db.transaction():
                for i in range(start, min(n, start + batch)):
                    md = {"name": f"{shape}{i}", "description": "", "tags": []}
                    if not parents[i]:
                        b = Bundle(kind="dataset", created=now_ns(), creator=user, nonce=new_nonce(),
                                   metadata=md, contents=data)
                        ids.append(repo.add_bundle(b, state="ready", worksheet=""))
                        continue
                    deps = tuple(Dependency(f"in{k}", ids[p]) for k, p in enumerate(parents[i]))
                    b = Bundle(kind="run", created=now_ns(), creator=user, nonce=new_nonce(),
                               metadata=md, command=f"step {i}", dependencies=deps,
                               request={"image": "python:3.11"})
                    bid = repo.write(b)
                    result = repo.write(Result(bundle=bid, contents=out, exit_code=0, started=now_ns(),
                                               finished=now_ns(), image={"name": "python:3.11"},
                                               executor="local"))
                    ids.append(repo.add_bundle(b, state="ready", worksheet="", result=result))
        return ids[-1].display, ids[0].display
    finally:
        repo.close()
