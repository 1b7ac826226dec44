"""cl print: a worksheet table of 250 / 500 / 1,000 runs reading a JSON field from each run's files, against cl ls

One repository, built once directly through the library and cached under
bench/.work/worksheets/ (packing as it goes, as a worker does after each
run: `gc.auto`, docs/design.md): 1,000 run bundles, each with a result holding
`stats.json` ({"train": {"errorRate": …}}) and `stdout`.  Worksheets
`ws250`, `ws500` and `ws1000` hold the first 250, 500 and 1,000 runs under

    % schema results
    % addschema run
    % add error /stats.json:train/errorRate %.3f
    % display table results

so every row reads the run's result, its tree and its stats.json.

Timed as a user runs them, from process start to exit, output to
/dev/null: `cl ls -w WS` (the reference), `cl print WS`, and
`cl print --html WS`.  Targets: at 1,000 rows `cl print` within 5×
`cl ls`; and linear: `cl print` of 1,000 rows within 4× that of 250 rows
(a fixed start-up cost makes a linear command come in under 4×).
"""

import os
import shutil

from harness import Row, Target, row, timed

SIZES = (250, 500, 1_000)
LS, PRINT, HTML = "cl ls", "cl print", "cl print --html"
BUILD_VERSION = "2"  # 2: packed as runs go, as `gc.auto` does
HEADER = ("% schema results\n% addschema run\n% add error /stats.json:train/errorRate %.3f\n"
          "% display table results\n")


def run(ctx) -> list[Row]:
    where = project(ctx)
    rows: list[Row] = []
    printed = {}
    for n in SIZES:
        ws = f"ws{n}"
        case = f"{n:,} rows"
        times = {
            LS: timed(ctx, ["cl", "ls", "-w", ws], where, f"{case}: {LS}"),
            PRINT: timed(ctx, ["cl", "print", ws], where, f"{case}: {PRINT}"),
            HTML: timed(ctx, ["cl", "print", "--html", ws], where, f"{case}: {HTML}"),
        }
        printed[n] = times[PRINT]
        big = n == SIZES[-1]
        rows += [
            row(case, LS, times[LS], reference=True),
            row(case, PRINT, times[PRINT], targets=(Target(5, LS),) if big else (),
                note="table reads /stats.json:train/errorRate of every run"),
            row(case, HTML, times[HTML], note="the same page as self-contained HTML"),
        ]
    case = f"{PRINT} scaling"
    for n in SIZES:
        rows.append(row(case, f"{n:,} rows", printed[n], reference=(n == SIZES[0]),
                        targets=(Target(4, f"{SIZES[0]:,} rows"),) if n == SIZES[-1] else ()))
    return rows


# --- building the repository ----------------------------------------------------------


def project(ctx) -> str:
    where = os.path.join(ctx.work, "worksheets")
    marker = os.path.join(where, "done.txt")
    if os.path.exists(marker) and open(marker).read().strip() == BUILD_VERSION:
        return where
    if os.path.exists(where):
        shutil.rmtree(where)
    os.makedirs(where)
    ctx.log(f"building {SIZES[-1]:,} runs and their worksheets under {where} (once)")
    build(where, SIZES[-1])
    with open(marker, "w") as f:
        f.write(BUILD_VERSION + "\n")
    return where


def build(where: str, n: int) -> None:
    import json

    from cl.objects.ingest import ingest_entries, text_contents
    from cl.objects.types import Bundle, Result
    from cl.repo import Repository, new_nonce, now_ns
    from cl.worksheets import edit

    repo = Repository.init(where, worksheet="bench")
    try:
        user = repo.user()
        ids = []
        with repo.db.transaction():
            for i in range(n):
                with repo.store.writing():
                    stats = json.dumps({"train": {"errorRate": round(0.5 / (i + 1), 6)}, "epochs": 10})
                    out = ingest_entries(repo.store, {"stats.json": text_contents(repo.store, stats),
                                                      "stdout": text_contents(repo.store, f"run {i} done\n")})
                    b = Bundle(kind="run", created=now_ns(), creator=user, nonce=new_nonce(),
                               metadata={"name": f"exp{i}", "description": "", "tags": []},
                               command=f"python train.py --seed {i}", request={"image": "python:3.11"})
                    bid = repo.write(b)
                    started = now_ns()
                    result = repo.write(Result(bundle=bid, contents=out, exit_code=0, started=started,
                                               finished=started + (i % 600 + 1) * 10**9, executor="local"))
                    ids.append(repo.add_bundle(b, state="ready", worksheet="", result=result))
                # as a worker does after each run: what stays loose is what a real repository holds
                if (warning := repo.maintain()):
                    raise RuntimeError(warning)
        for size in SIZES:
            wid = repo.new_worksheet(f"ws{size}")
            text = HEADER + "".join(f"{{0x{bid}}}\n" for bid in ids[:size])
            edit.save_text(repo, wid, text, None)
    finally:
        repo.close()
