"""upload, cat, make, ls, info: cl against cp -r, b3sum, git, DVC, cat and the import floor

Each contender is a real program run as a user would run it, timed from
process start to exit, after the cold-start discipline of harness.time_runs
(previous output removed, sync, page cache dropped, source and program
re-read).  docs/bench.md says how each contender is run.
"""

import os
import shlex

from harness import Row, Target, Unavailable, measured, remove, round_robin

CL = "cl upload"
CP = "cp -r"
B3 = "b3sum"
GIT = "git add+commit"
DVC = "dvc add"
FLOOR = "import floor"

GIT_IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def run(ctx) -> list[Row]:
    rows = []
    for name in ("L", "S", "M"):
        rows += upload(ctx, name)
    fixture = Fixture(ctx)
    rows += cat(ctx, fixture)
    rows += make(ctx, fixture)
    rows += listing(ctx)
    return rows


def describe(ctx, name: str) -> str:
    s = ctx.sizes
    if name == "L":
        return f"upload L: 1 file of {size_text(s.L_bytes)}"
    if name == "S":
        return f"upload S: {s.S_files:,} files of {size_text(s.S_bytes)} in {s.S_dirs} dirs"
    return f"upload M: {s.M_files} files of {size_text(s.M_bytes)}"


def size_text(n: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:g} {unit}"
    return f"{n} B"


# --- upload ------------------------------------------------------------------------


def upload(ctx, name: str) -> list[Row]:
    case = describe(ctx, name)
    if not ctx.wants(case):
        return []
    src = ctx.dataset(name)
    ctx.log(case)
    targets = {
        "L": (Target(1.5, CP),),
        "S": (Target(0.4, CP), Target(0.8, GIT), Target(0.15, DVC)),  # issue 17: packs
        "M": (Target(1.5, CP),),
    }[name]
    rows = round_robin(ctx, case, [
        (CL, lambda: time_cl_upload(ctx, src), {"targets": targets}),
        (CP, lambda: time_cp(ctx, src), {"reference": True}),
        (B3, lambda: time_b3sum(ctx, src), {}),
        (GIT, lambda: time_git(ctx, src), {}),
        (DVC, lambda: time_dvc(ctx, src), {}),
    ])
    for sub in ("upload-cl", "upload-cp", "upload-git", "upload-dvc"):
        remove(os.path.join(ctx.scratch_root, sub))
    return rows


def time_cl_upload(ctx, src: str) -> list[float]:
    cl = ctx.tool("cl", "run through `make bench`")

    def prepare(_i):
        repo = ctx.scratch("upload-cl")
        ctx.sh([cl, "init"], cwd=repo)
        return repo

    # cl's program includes what `cl upload --help` does not load: dulwich,
    # and the git files it reads when the data lies in a work tree (as
    # here), read the way an upload reads them, changing nothing
    describe = f"from cl.bundles.gitsource import describe; describe({src!r})"
    return ctx.time_command([cl, "upload", src], cwd=lambda repo: repo, prepare=prepare, warm_paths=[src],
                            warm_commands=[[cl, "upload", "--help"],
                                           [os.path.join(ctx.bin, "python"), "-c", describe]],
                            label=CL)


def time_cp(ctx, src: str) -> list[float]:
    parent = ctx.scratch("upload-cp")
    dest = os.path.join(parent, "out")
    return ctx.time_command(["cp", "-r", src, dest], prepare=lambda _i: remove(dest),
                            warm_paths=[src], warm_commands=[["cp", "--version"]], label=CP)


def time_b3sum(ctx, src: str) -> list[float]:
    b3 = ctx.tool("b3sum", "apt-get install b3sum")
    if os.path.isfile(src):
        cmd = [b3, src]
    else:
        cmd = f"find {shlex.quote(src)} -type f -print0 | xargs -0 {shlex.quote(b3)} > /dev/null"
    return ctx.time_command(cmd, warm_paths=[src], warm_commands=[[b3, "--version"]], label=B3)


def time_git(ctx, src: str) -> list[float]:
    """git's index and objects in a fresh git dir; the dataset is the work
    tree as it lies (its parent directory, pathspec = the dataset)."""
    git = ctx.tool("git", "apt-get install git")
    work_tree, rel = os.path.split(src)

    def prepare(_i):
        git_dir = os.path.join(ctx.scratch("upload-git"), "repo.git")
        ctx.sh([git, f"--git-dir={git_dir}", "init", "-q"])
        return git_dir

    def cmd(git_dir):
        base = [git, *GIT_IDENTITY, f"--git-dir={git_dir}", f"--work-tree={work_tree}"]
        q = " ".join(map(shlex.quote, base))
        return f"{q} add -A -- {shlex.quote(rel)} && {q} commit -qm x"

    return ctx.time_command(cmd, prepare=prepare, warm_paths=[src],
                            warm_commands=[[git, "--version"]], label=GIT)


DVC_ENV = {"DVC_NO_ANALYTICS": "1"}


def time_dvc(ctx, src: str) -> list[float]:
    """`dvc add` of the dataset inside a fresh git+DVC workspace: the copy
    into the workspace is made before timing (DVC moves what it adds into
    its cache, so it must not touch the shared dataset)."""
    dvc = ctx.dvc()
    git = ctx.tool("git", "apt-get install git")
    name = os.path.basename(src)

    def prepare(_i):
        ws = ctx.scratch("upload-dvc")
        ctx.sh([git, "init", "-q"], cwd=ws)
        ctx.sh([dvc, "init", "-q"], cwd=ws, env=DVC_ENV)
        for key, value in (("core.analytics", "false"), ("core.check_update", "false"),
                           ("core.site_cache_dir", os.path.join(ws, ".dvc", "site"))):
            ctx.sh([dvc, "config", key, value], cwd=ws, env=DVC_ENV)
        ctx.sh(["cp", "-r", src, os.path.join(ws, name)])
        return ws

    return ctx.time_command([dvc, "add", "-q", name], cwd=lambda ws: ws, env=DVC_ENV,
                            prepare=prepare, warm_paths=lambda ws: [os.path.join(ws, name)],
                            warm_commands=[[dvc, "add", "--help"]], label=DVC)


# --- cat and make over a repository holding L and S ---------------------------------


class Fixture:
    """A repository with L and S uploaded (not timed), made once per run."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._ids: dict[str, str] | None = None
        self.error: str | None = None
        self.root = os.path.join(ctx.scratch_root, "fixture")

    def bundle(self, name: str) -> str:
        if self._ids is None:
            self._ids = {}
            try:
                self._build()
            except Unavailable as exc:
                self.error = str(exc)
        if self.error:
            raise Unavailable(f"cannot make the fixture repository: {self.error}")
        return self._ids[name]

    def _build(self) -> None:
        ctx = self.ctx
        cl = ctx.tool("cl", "run through `make bench`")
        ctx.scratch("fixture")
        ctx.log("fixture: a repository with L and S uploaded")
        ctx.sh([cl, "init"], cwd=self.root)
        for name in ("L", "S"):
            out = ctx.sh([cl, "upload", ctx.dataset(name)], cwd=self.root, stdout=-1).stdout
            lines = out.decode().split()
            if not lines:
                raise Unavailable("`cl upload` printed no bundle id")
            self._ids[name] = lines[-1]


def cat(ctx, fixture: Fixture) -> list[Row]:
    case = f"cat L: {size_text(ctx.sizes.L_bytes)} to /dev/null"
    if not ctx.wants(case):
        return []
    src = ctx.dataset("L")
    ctx.log(case)

    def time_cl():
        cl = ctx.tool("cl")
        bid = fixture.bundle("L")
        return ctx.time_command([cl, "cat", bid], cwd=fixture.root,
                                warm_paths=[os.path.join(fixture.root, ".codalab", "objects")],
                                warm_commands=[[cl, "cat", "--help"]], label="cl cat")

    return [
        measured(case, "cl cat", time_cl, targets=(Target(2.0, "cat"),)),
        measured(case, "cat", lambda: ctx.time_command(["cat", src], warm_paths=[src], label="cat"),
                 reference=True),
    ]


def time_floor(ctx) -> list[float]:
    cmd = [os.path.join(ctx.bin, "python"), "-c", "import click, msgpack, blake3"]
    return ctx.time_command(cmd, warm_commands=[cmd], label=FLOOR)


def import_floor(ctx) -> Row:
    """The floor's row, measured once per bench run and shared by the cases
    that show it beside an absolute target."""
    if not hasattr(ctx, "_import_floor"):
        ctx._import_floor = measured("", FLOOR, lambda: time_floor(ctx))
    return ctx._import_floor


def floor_row(ctx, case: str) -> Row:
    floor = import_floor(ctx)
    return Row(case, FLOOR, floor.times, reference=True, unavailable=floor.unavailable)


def make(ctx, fixture: Fixture) -> list[Row]:
    rows = []
    for name in ("L", "S"):
        case = f"make {name}: a make bundle of the {name} bundle"
        if not ctx.wants(case):
            continue
        ctx.log(case)

        def time_make(name=name):
            cl = ctx.tool("cl")
            bid = fixture.bundle(name)
            return ctx.time_command([cl, "make", bid], cwd=fixture.root,
                                    warm_paths=[os.path.join(fixture.root, ".codalab", "repo.db")],
                                    warm_commands=[[cl, "make", "--help"]], label="cl make")

        rows.append(measured(case, "cl make", time_make, targets=(Target(0.2, strict=True),)))
        rows.append(floor_row(ctx, case))
    return rows


# --- ls and info over a repository of many bundles ---------------------------------


def listing(ctx) -> list[Row]:
    """`cl ls` (its text cached by an earlier `cl ls`, as when a user lists
    again), `cl ls` right after a change (`cl edit` of one bundle before
    each run empties the cache: reported, no target) and `cl info` of a
    name and of `^`, the worksheet's last bundle.  Each case times the
    floor in rounds with cl: the floor is the target's reference, and this
    machine's speed drifts by more than the margins between the two."""
    n = ctx.sizes.bundles
    cases = [(case, args, change, target) for case, args, change, target in (
        (f"ls: {n:,} bundles on the worksheet", ["ls"], False, True),
        (f"ls: {n:,} bundles, first after a change", ["ls"], True, False),
        (f"info NAME among {n:,} bundles", ["info", f"b{n // 2:05d}"], False, True),
        (f"info ^ (the last of {n:,} bundles)", ["info", "^"], False, True)) if ctx.wants(case)]
    if not cases:
        return []
    try:
        repo = bundle_repo(ctx, n)
    except Unavailable as exc:
        repo, why = None, str(exc)
    rows = []
    for case, args, change, target in cases:
        ctx.log(case)

        def time_cl(args=args, change=change):
            if repo is None:
                raise Unavailable(why)
            cl = ctx.tool("cl")

            def edit(i):
                ctx.sh([cl, "edit", "b00000", "-d", f"changed {i}"], cwd=repo)

            return ctx.time_command([cl, *args], cwd=repo, prepare=edit if change else None,
                                    warm_paths=[os.path.join(repo, ".codalab", "repo.db")],
                                    warm_commands=[[cl, args[0], "--help"] if change else [cl, *args]],
                                    label=f"cl {args[0]}")

        rows += round_robin(ctx, case, [
            (f"cl {args[0]}", time_cl, {"targets": (Target(1.5, FLOOR),) if target else ()}),
            (FLOOR, lambda: time_floor(ctx), {"reference": True})])
    return rows


def bundle_repo(ctx, n: int) -> str:
    """A repository of `n` small dataset bundles, all on the current
    worksheet, built through the library once and cached; rebuilt when the
    object format or index code changes."""
    try:
        from cl.objects.ingest import text_contents
        from cl.objects.types import Bundle, Item
        from cl.objects.value import replace
        from cl.repo import Repository, new_nonce, now_ns
    except ImportError as exc:
        raise Unavailable(f"cannot import cl ({exc}); run through `make bench`") from None
    import hashlib

    import cl
    pkg = os.path.dirname(cl.__file__)
    stamp = hashlib.sha256(str(n).encode())
    for rel in ("objects/types.py", "objects/encoding.py", "index/index.py", "refs/db.py",
                "refs/store.py", "repo.py"):
        with open(os.path.join(pkg, rel), "rb") as f:
            stamp.update(f.read())
    path = os.path.join(ctx.work, f"bundles-{n}")
    marker = os.path.join(ctx.work, f"bundles-{n}.done")
    if os.path.exists(marker) and open(marker).read() == stamp.hexdigest():
        return path
    ctx.log(f"building a repository of {n:,} bundles in {path} (once)")
    remove(marker)
    remove(path)
    os.makedirs(path)
    repo = Repository.init(path, worksheet="bench")
    try:
        ids = []
        with repo.db.transaction():
            for i in range(n):
                contents = text_contents(repo.store, f"bundle {i}\n")
                bundle = Bundle(kind="dataset", created=now_ns(), creator="bench", nonce=new_nonce(),
                                metadata={"name": f"b{i:05d}", "description": f"bench bundle {i}",
                                          "tags": []},
                                contents=contents, args=f"cl upload b{i:05d}")
                ids.append(repo.add_bundle(bundle, worksheet=""))
            wid = repo.current_worksheet()
            repo.commit_worksheet(
                wid, lambda ws: replace(ws, items=ws.items + tuple(Item("bundle", b) for b in ids)),
                f"add {n} bundles")
    finally:
        repo.close()
    with open(marker, "w") as f:
        f.write(stamp.hexdigest())
    return path
