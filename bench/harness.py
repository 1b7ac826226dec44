"""The benchmark harness: rows, targets, timing with cold-start discipline,
datasets, and the peer tools (b3sum, git, DVC in its own venv).

A bench module (`bench/bench_<area>.py`) exposes `run(ctx) -> list[Row]`.
Each row is one contender on one case; the harness computes medians,
ratios to the case's reference peer and checks targets.  A contender that
cannot run gets a row with `unavailable` set to the reason, never a number.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(BENCH_DIR, ".work")


class Unavailable(Exception):
    """A contender cannot be run here; the message says why."""


# --- rows and targets ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """`limit` times the median of contender `peer` in the same case, or
    `limit` of `unit` (seconds unless said) when `peer` is None.  `strict`
    means `<` rather than `≤`."""

    limit: float
    peer: str | None = None
    strict: bool = False
    unit: str = "s"

    def text(self) -> str:
        op = "<" if self.strict else "≤"
        return f"{op} {self.limit:g}× {self.peer}" if self.peer else f"{op} {self.limit:g} {self.unit}"


@dataclass
class Row:
    case: str
    contender: str
    times: list[float] = field(default_factory=list)
    reference: bool = False          # the peer this case's ratios are relative to
    targets: tuple[Target, ...] = ()
    unavailable: str | None = None   # why there is no number
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


@dataclass
class Verdict:
    target: Target
    value: float | None      # the measured ratio (or seconds)
    passed: bool | None      # None: could not be judged

    def short(self) -> str:
        if self.value is None:
            return "n/a"
        unit = "×" if self.target.peer else f" {self.target.unit}"
        return f"{self.value:.2f}{unit} {'PASS' if self.passed else 'FAIL'}"


def row(case, contender, times, **kw) -> Row:
    """A row from what `timed` returned: timings, or why there are none."""
    if isinstance(times, Unavailable):
        return Row(case, contender, unavailable=str(times), **kw)
    return Row(case, contender, times, **kw)


def measured(case: str, contender: str, timer: Callable[[], list[float]], **kw) -> Row:
    """A row from `timer()`, or an unavailable row with the reason."""
    try:
        return Row(case, contender, timer(), **kw)
    except Unavailable as exc:
        return Row(case, contender, unavailable=str(exc), **kw)


def round_robin(ctx, case: str, entries: list[tuple[str, Callable[[], list[float]], dict]]) -> list[Row]:
    """A row per (contender, timer, Row keywords), timed in rounds: each
    round calls every timer once with ctx.repeat set to 1.  This machine
    drifts within a case (its ext4, without a journal, will not reuse an
    inode deleted in the last minute, so creating files slows as deletions
    pile up), and all runs of one contender followed by all of the next
    would charge the drift to the later ones.  The order turns by one each
    round and runs backwards every other round, so no contender keeps one
    place or always follows the same other: what a contender leaves behind
    (git and DVC write a gigabyte each, and the page cache freed after
    them goes back to the host) must not always fall on the same next one.
    A timer that raises Unavailable gives an unavailable row and is not
    called again; one that --skip names is not called at all."""
    times: dict[str, list[float]] = {name: [] for name, _, _ in entries}
    missing: dict[str, str] = {name: "left out by --skip" for name, _, _ in entries if ctx.skips(name)}
    rounds, ctx.repeat = ctx.repeat, 1
    try:
        for i in range(rounds):
            ctx.log(f"  round {i + 1}/{rounds}")
            turn = i % len(entries)
            order = entries[turn:] + entries[:turn]
            for name, timer, _ in order[::-1] if i % 2 else order:
                if name not in missing:
                    try:
                        times[name] += timer()
                    except Unavailable as exc:
                        missing[name] = str(exc)
    finally:
        ctx.repeat = rounds
    return [Row(case, name, unavailable=missing[name], **kw) if name in missing
            else Row(case, name, times[name], **kw) for name, _, kw in entries]


def timed(ctx, cmd, where, label, warm_path=None):
    """Time a `cl` command in the project `where` (its repository and `cl`
    itself read into memory first); an Unavailable is returned, not raised."""
    try:
        return ctx.time_command(cmd, cwd=where, warm_paths=[warm_path or os.path.join(where, ".codalab")],
                                warm_commands=[["cl", "--version"]], label=label)
    except Unavailable as exc:
        return exc


def judge(rows: list[Row]) -> dict[int, list[Verdict]]:
    """Verdicts of every row's targets, keyed by the row's position."""
    out = {}
    for i, row in enumerate(rows):
        verdicts = []
        for t in row.targets:
            mine = row.median
            if t.peer is None:
                value = mine
                ok = None if mine is None else (mine < t.limit if t.strict else mine <= t.limit)
            else:
                peer = next((r for r in rows if r.case == row.case and r.contender == t.peer), None)
                theirs = peer.median if peer else None
                if mine is None or not theirs:
                    value, ok = None, None
                else:
                    value = mine / theirs
                    ok = value < t.limit if t.strict else value <= t.limit
            verdicts.append(Verdict(t, value, ok))
        out[i] = verdicts
    return out


def ratio(rows: list[Row], row: Row) -> float | None:
    ref = next((r for r in rows if r.case == row.case and r.reference), None)
    if ref is None or row.median is None or not ref.median:
        return None
    return row.median / ref.median


# --- the context handed to bench modules ---------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Dataset shapes: L one big file, S many small files, M mid-sized files."""

    L_bytes: int
    S_files: int
    S_dirs: int
    S_bytes: int
    M_files: int
    M_bytes: int
    bundles: int       # bundles in the repository that `cl ls`/`cl info` read


FULL = Sizes(L_bytes=1 << 30, S_files=20_000, S_dirs=100, S_bytes=4096,
             M_files=200, M_bytes=5 << 20, bundles=10_000)
QUICK = Sizes(L_bytes=64 << 20, S_files=1_000, S_dirs=10, S_bytes=4096,
              M_files=10, M_bytes=5 << 20, bundles=500)


class Context:
    def __init__(self, quick: bool, repeat: int, log=None, cases: tuple[str, ...] = (),
                 skip: tuple[str, ...] = ()):
        self.quick = quick
        self.repeat = repeat
        self.cases = cases
        self.skip = skip
        self.sizes = QUICK if quick else FULL
        self.work = WORK
        self.data = os.path.join(WORK, "data", "quick" if quick else "full")
        self.scratch_root = os.path.join(WORK, "scratch")
        self.module = ""
        self.bin = os.path.dirname(sys.executable)   # the venv's bin: cl, its python
        self._log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._can_drop: bool | None = None

    def log(self, msg: str) -> None:
        self._log(msg)

    def wants(self, case: str) -> bool:
        """Whether `--case` selects this case (a module may skip the others)."""
        return not self.cases or any(c.lower() in case.lower() for c in self.cases)

    def skips(self, contender: str) -> bool:
        """Whether `--skip` leaves this contender out (a module may run it anyway)."""
        return any(s.lower() in contender.lower() for s in self.skip)

    # --- places --------------------------------------------------------------

    def enter(self, module: str) -> None:
        """Give `module` its own scratch root, bench/.work/scratch/<module>,
        so modules run at the same time never remove each other's files."""
        self.module = module
        self.scratch_root = os.path.join(WORK, "scratch", module)

    def leave(self) -> None:
        try:
            remove(self.scratch_root)
        except OSError as exc:
            self.log(f"note: could not remove {self.scratch_root}: {exc}")

    def scratch(self, *parts: str, fresh: bool = True) -> str:
        """A directory under the module's scratch root, emptied when `fresh`."""
        path = os.path.join(self.scratch_root, *parts)
        if fresh:
            remove(path)
        os.makedirs(path, exist_ok=True)
        return path

    # --- commands --------------------------------------------------------------

    def tool(self, name: str, hint: str = "") -> str:
        """The path of a program on PATH, or Unavailable."""
        path = shutil.which(name, path=self.bin + os.pathsep + os.environ.get("PATH", ""))
        if path is None:
            raise Unavailable(f"{name} not found" + (f" ({hint})" if hint else ""))
        return path

    def sh(self, cmd, cwd: str | None = None, env: dict | None = None, stdout=subprocess.DEVNULL,
           input: bytes | None = None) -> subprocess.CompletedProcess:
        """Run a command (a list, or a string for `sh -c`); a failure raises
        Unavailable with the tail of its stderr."""
        full_env = dict(os.environ)
        full_env["PATH"] = self.bin + os.pathsep + full_env.get("PATH", "")
        full_env.update(env or {})
        proc = subprocess.run(cmd, shell=isinstance(cmd, str), cwd=cwd, env=full_env,
                              stdout=stdout, stderr=subprocess.PIPE, input=input)
        if proc.returncode != 0:
            shown = cmd if isinstance(cmd, str) else " ".join(cmd)
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise Unavailable(f"`{shown}` exited {proc.returncode}: {' | '.join(tail)}")
        return proc

    # --- cold-start discipline ---------------------------------------------------

    def settle(self) -> None:
        """Flush writes and drop the page cache.  This machine's filesystem
        slows file creation badly right after mass deletion; syncing and
        dropping caches before each timed run gives every contender the
        same start."""
        os.sync()
        if self._can_drop is False:
            return
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            self._can_drop = True
        except OSError as exc:
            self._can_drop = False
            self.log(f"note: cannot drop the page cache ({exc.strerror}); timing with a warm cache")

    def warm(self, paths=(), commands=()) -> None:
        """Re-read `paths` (files or trees) and run `commands` once, so the
        data and the contender's own program are in the page cache."""
        for p in paths:
            read_tree(p)
        for c in commands:
            subprocess.run(c, shell=isinstance(c, str), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL,
                           env={**os.environ, "PATH": self.bin + os.pathsep + os.environ.get("PATH", "")})

    def time_runs(self, action: Callable[[object], None], *, prepare: Callable[[int], object] | None = None,
                  warm_paths=(), warm_commands=(), repeat: int | None = None, settle: bool = True,
                  label: str = "") -> list[float]:
        """Median-ready wall times of `action(state)`, where `state` is
        what `prepare(i)` returned.  Before each run: `prepare` (removes the
        previous output, makes a fresh destination; not timed), then
        `settle`, then `warm` (`warm_paths` may be a function of the state)."""
        times = []
        n = repeat or self.repeat
        for i in range(n):
            state = prepare(i) if prepare else None
            if settle:
                self.settle()
            self.warm(warm_paths(state) if callable(warm_paths) else warm_paths, warm_commands)
            t0 = time.perf_counter()
            action(state)
            times.append(time.perf_counter() - t0)
            if label:
                self.log(f"  {label} [{i + 1}/{n}] {times[-1]:.3f} s")
        return times

    def time_command(self, cmd, *, cwd=None, env=None, prepare=None, warm_paths=(), warm_commands=(),
                     repeat=None, settle=True, label="", stdout=subprocess.DEVNULL) -> list[float]:
        """`time_runs` of a shell command; `cmd` and `cwd` may be functions
        of prepare's state (a fresh repository per run)."""
        def action(state):
            c = cmd(state) if callable(cmd) else cmd
            d = cwd(state) if callable(cwd) else cwd
            self.sh(c, cwd=d, env=env, stdout=stdout)
        return self.time_runs(action, prepare=prepare, warm_paths=warm_paths,
                              warm_commands=warm_commands, repeat=repeat, settle=settle,
                              label=label)

    def time_callable(self, fn: Callable[[], object], **kw) -> list[float]:
        return self.time_runs(lambda _state: fn(), **kw)

    # --- datasets ----------------------------------------------------------------

    def dataset(self, name: str) -> str:
        """The path of dataset L, S or M, generated once and reused."""
        path = os.path.join(self.data, name)
        marker = os.path.join(self.data, f".{name}.done")
        spec = repr(self.sizes)
        if os.path.exists(marker) and open(marker).read() == spec and os.path.exists(path):
            return path
        self.log(f"generating dataset {name} under {self.data} (once)")
        os.makedirs(self.data, exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"   # two bench runs may generate at once
        remove(tmp)
        remove(path)
        s = self.sizes
        if name == "L":
            write_random(tmp, s.L_bytes, 0)
        elif name == "S":
            for i in range(s.S_files):
                d = os.path.join(tmp, f"d{i % s.S_dirs:03d}")
                if i < s.S_dirs:
                    os.makedirs(d)
                write_random(os.path.join(d, f"f{i:05d}.bin"), s.S_bytes, i)
        elif name == "M":
            os.makedirs(tmp)
            for i in range(s.M_files):
                write_random(os.path.join(tmp, f"m{i:03d}.bin"), s.M_bytes, i)
        else:
            raise ValueError(f"unknown dataset {name}")
        try:
            os.rename(tmp, path)
        except OSError:  # another run finished first: keep its copy
            remove(tmp)
        with open(marker, "w") as f:
            f.write(spec)
        return path

    # --- DVC, in its own venv ------------------------------------------------------

    def dvc(self) -> str:
        """The `dvc` program of bench/.work/dvc-venv, installed from PyPI on
        first use; Unavailable with the reason if that fails."""
        venv = os.path.join(self.work, "dvc-venv")
        exe = os.path.join(venv, "bin", "dvc")
        failed = os.path.join(self.work, "dvc-install-failed.txt")
        if os.path.exists(exe):
            return exe
        if os.path.exists(failed):
            raise Unavailable(open(failed).read().strip() + f" (delete {failed} to retry)")
        self.log(f"installing DVC into {venv} (once; a minute or two)")
        try:
            python = shutil.which("python3") or sys.executable
            subprocess.run([python, "-m", "venv", venv], check=True, capture_output=True)
            proc = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "dvc"],
                                  capture_output=True)
            if proc.returncode != 0 or not os.path.exists(exe):
                tail = " | ".join(proc.stderr.decode(errors="replace").strip().splitlines()[-3:])
                raise Unavailable(f"pip install dvc failed: {tail}")
        except (OSError, subprocess.CalledProcessError) as exc:
            reason = f"cannot make the DVC venv: {exc}"
            with open(failed, "w") as f:
                f.write(reason)
            raise Unavailable(reason) from None
        except Unavailable as exc:
            with open(failed, "w") as f:
                f.write(str(exc))
            raise
        return exe


# --- file helpers ---------------------------------------------------------------


def small_files(ctx, n: int, per_dir: int = 1_000) -> str:
    """N distinct files of a few bytes, `per_dir` to a directory, under
    the datasets directory; made once and reused."""
    path = os.path.join(ctx.data, f"files-{n}")
    marker = path + ".done"
    if os.path.exists(marker) and os.path.exists(path):
        return path
    ctx.log(f"writing {n:,} small files under {path} (once)")
    remove(path)
    tmp = f"{path}.tmp{os.getpid()}"
    remove(tmp)
    for i in range(n):
        folder = os.path.join(tmp, f"d{i // per_dir:04d}")
        if i % per_dir == 0:
            os.makedirs(folder)
        fd = os.open(os.path.join(folder, f"f{i:07d}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, f"small file {i}\n".encode())
        finally:
            os.close(fd)
    os.rename(tmp, path)
    with open(marker, "w") as f:
        f.write(str(n))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(where: str, path_dir: str | None = None) -> tuple[subprocess.Popen, str]:
    """A real `cl server` for the repository at `where` on a free loopback
    port, once it listens: (process, URL).  Unavailable if it exits or does
    not listen within 30 s.  `path_dir` goes first on PATH (the venv's bin)."""
    port = free_port()
    env = dict(os.environ)
    if path_dir:
        env["PATH"] = path_dir + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(["cl", "server", "--port", str(port), where], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        if proc.poll() is not None:
            raise Unavailable(f"cl server exited: {proc.stderr.read().decode()[-300:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.terminate()
    proc.wait(timeout=30)
    raise Unavailable("cl server did not start listening")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a server `serve` started (SIGTERM; it stops its workers)."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=60)


def remove(path: str) -> None:
    """Remove a file or tree, including read-only object files."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        def onerror(func, p, exc_info):
            if issubclass(exc_info[0], FileNotFoundError):
                return  # already gone
            os.chmod(os.path.dirname(p), 0o755)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o755)
            func(p)
        # object stores and DVC caches make read-only files and directories
        for root, dirs, _files in os.walk(path):
            for d in dirs:
                p = os.path.join(root, d)
                try:
                    if not os.path.islink(p):
                        os.chmod(p, 0o755)
                except FileNotFoundError:
                    pass
        shutil.rmtree(path, onerror=onerror)


def read_tree(path: str) -> int:
    """Read every byte under `path` (into the page cache); returns bytes read."""
    total = 0
    if os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            for name in files:
                total += read_file(os.path.join(root, name))
    elif os.path.isfile(path):
        total += read_file(path)
    return total


def read_file(path: str) -> int:
    n = 0
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(8 << 20)
        while k := f.readinto(buf):
            n += k
    return n


def write_random(path: str, size: int, seed: int) -> None:
    """`size` random bytes; the per-file header `seed` keeps files distinct
    even in the unlikely case the random source repeats."""
    header = f"cl-bench {seed:012d}\n".encode()
    with open(path, "wb") as f:
        f.write(header[:size])
        left = size - min(size, len(header))
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n


# --- output --------------------------------------------------------------------


def table(title: str, rows: list[Row]) -> str:
    verdicts = judge(rows)
    head = ("case", "contender", "median s", "× ref", "target", "result")
    body = []
    for i, r in enumerate(rows):
        if r.unavailable:
            median, rel = "—", "—"
        else:
            median = f"{r.median:.3f}"
            x = ratio(rows, r)
            rel = "ref" if r.reference else (f"{x:.2f}" if x is not None else "")
        vs = verdicts[i]
        target = "; ".join(v.target.text() for v in vs)
        result = (f"unavailable: {' '.join(r.unavailable.split())}" if r.unavailable
                  else ", ".join(v.short() for v in vs))
        body.append((r.case, r.contender, median, rel, target, result))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    widths[-1] = min(widths[-1], 24)   # the last column is not padded; keep its rule short
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [f"== {title}", line(head), line(["-" * w for w in widths])]
    prev = None
    for cells in body:
        if prev is not None and cells[0] != prev:
            out.append("")
        prev = cells[0]
        out.append(line(cells))
    return "\n".join(out)


def as_json(rows: list[Row]) -> list[dict]:
    verdicts = judge(rows)
    return [{
        "case": r.case, "contender": r.contender, "times": r.times, "median": r.median,
        "reference": r.reference, "ratio": ratio(rows, r), "unavailable": r.unavailable,
        "note": r.note,
        "targets": [{"target": v.target.text(), "value": v.value, "passed": v.passed}
                    for v in verdicts[i]],
    } for i, r in enumerate(rows)]
