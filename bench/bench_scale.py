"""fsck and gc as the store grows: 100,000 against 1,000,000 objects

A repository holding one uploaded directory of N small distinct files
(N blobs and N/1,000 directory trees) is made once with `cl upload` and
cached under bench/.work/scale-N/; it is made again when the store's code
changes.  Timed as a user runs them, from process start to exit: `cl fsck`
(re-hashes every object and checks that everything named is there) and
`cl gc --prune now` (marks from every ref and sweeps; here nothing is
unreachable, so every run does the same work).  Target: ten times the
objects costs at most twelve times the time.
"""

import hashlib
import os

from harness import Row, Target, Unavailable, remove, row, small_files

BUILD_VERSION = "1"   # bump when the dataset's shape changes


def run(ctx) -> list[Row]:
    small, big = (2_000, 20_000) if ctx.quick else (100_000, 1_000_000)
    rows: list[Row] = []
    for name, command in (("fsck", ["cl", "fsck"]), ("gc", ["cl", "gc", "--prune", "now"])):
        case = f"cl {name}: {small:,} and {big:,} files"
        if not ctx.wants(case):
            continue
        times = {}
        for n in (small, big):
            where = repository(ctx, n)
            times[n] = ctx.time_command(command, cwd=where, label=f"{case}: {n:,}",
                                        warm_commands=[["cl", "--version"]])
        rows += [row(case, f"{small:,} files", times[small], reference=True),
                 row(case, f"{big:,} files", times[big], targets=(Target(12, f"{small:,} files"),))]
    return rows


def _stamp(n: int) -> str:
    """What the cached repository depends on: its size, this module's
    shape version and the store's code."""
    import cl
    pkg = os.path.dirname(cl.__file__)
    stamp = hashlib.sha256(f"{n} {BUILD_VERSION}".encode())
    for folder in ("objects", "bundles"):
        for name in sorted(os.listdir(os.path.join(pkg, folder))):
            if name.endswith(".py"):
                with open(os.path.join(pkg, folder, name), "rb") as f:
                    stamp.update(f.read())
    return stamp.hexdigest()


def repository(ctx, n: int) -> str:
    try:
        stamp = _stamp(n)
    except ImportError as exc:
        raise Unavailable(f"cannot import cl ({exc}); run through `make bench`") from None
    where = os.path.join(ctx.work, f"scale-{n}")
    marker = where + ".done"
    if os.path.exists(marker) and open(marker).read() == stamp and os.path.isdir(where):
        return where
    files = small_files(ctx, n)
    ctx.log(f"uploading {n:,} files into {where} (once)")
    remove(marker)
    remove(where)
    os.makedirs(where)
    ctx.sh(["cl", "init"], cwd=where)
    ctx.sh(["cl", "upload", files, "-n", "files"], cwd=where)
    with open(marker, "w") as f:
        f.write(stamp)
    return where
