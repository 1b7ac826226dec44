"""Run the benchmarks: `python bench/run.py [--only NAME...] [--case TEXT...] [--quick] [--repeat N]`.

Discovers `bench/bench_*.py`; each exposes `run(ctx) -> list[Row]` (see
harness.py).  Prints one table per module and writes
`bench/.work/results.json`.  `make bench` runs this with the venv's bin on
PATH, so `cl` is the working tree's.
"""

import argparse
import glob
import importlib.util
import json
import os
import platform
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import WORK, Context, Row, as_json, table  # noqa: E402


def discover() -> dict[str, str]:
    here = os.path.dirname(os.path.abspath(__file__))
    found = {}
    for path in sorted(glob.glob(os.path.join(here, "bench_*.py"))):
        found[os.path.basename(path)[len("bench_"):-len(".py")]] = path
    return found


def load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    modules = discover()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(modules),
                    help=f"run only these modules (of: {', '.join(sorted(modules))})")
    ap.add_argument("--quick", action="store_true",
                    help="small datasets: checks the bench code itself, the figures mean little")
    ap.add_argument("--repeat", type=int, metavar="N",
                    help="timed runs per contender (median reported; default 3, 1 with --quick)")
    ap.add_argument("--case", nargs="+", metavar="TEXT", default=(),
                    help="only the cases whose name contains one of these (modules that support it)")
    ap.add_argument("--skip", nargs="+", metavar="TEXT", default=(),
                    help="leave out the contenders whose name contains one of these (modules that support it)")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    if repeat < 1:
        ap.error("--repeat must be at least 1")
    ctx = Context(quick=args.quick, repeat=repeat, cases=tuple(args.case), skip=tuple(args.skip))
    names = args.only or sorted(modules)
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick, "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "modules": {},
    }
    failures = 0
    for name in names:
        ctx.log(f"-- bench {name}")
        t0 = time.perf_counter()
        ctx.enter(name)
        try:
            module = load(name, modules[name])
            rows: list[Row] = module.run(ctx)
        except Exception:
            traceback.print_exc()
            print(f"== {name}: the bench module failed (traceback above)\n", flush=True)
            failures += 1
            continue
        finally:
            ctx.leave()
        doc = (module.__doc__ or name).strip().splitlines()[0]
        print(table(f"{name}: {doc}", rows), flush=True)
        print(f"({time.perf_counter() - t0:.0f} s, median of {repeat})\n", flush=True)
        results["modules"][name] = as_json(rows)
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"results written to {os.path.relpath(out)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
