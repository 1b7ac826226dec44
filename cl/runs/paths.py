"""Where a run lives while it is going: `.codalab/runs/<bundle id>/`, with
its `stdout` and `stderr` files directly inside (see cl/runs/layout.py)."""

import os

STREAMS = ("stdout", "stderr")


def run_dir(repo, bid: str) -> str:
    return os.path.join(repo.root, "runs", bid)
