"""`cl gc` beside every kind of writer never loses data (docs/design.md,
"Garbage collection and concurrent writers").

The two reported losses are reproduced deterministically: an upload is
stopped (SIGSTOP) while it copies a large file -- after it has written or
deduplicated its other objects, before its refs move -- and gc runs then.
The stress tests run each race many times, bounded in rounds, with `cl fsck`
clean after every round and every upload downloadable."""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import CL, cl_env, tree

BIG = 96 << 20  # copied through tmp/ for long enough to be caught doing it


def popen_cl(args, cwd, home):
    return subprocess.Popen([CL, *map(str, args)], cwd=cwd, env=cl_env({"HOME": home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def big_file(path):
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(BIG >> 20):
            f.write(i.to_bytes(8, "little") + block[8:])
    return path


def stop_while_copying(proc, project) -> None:
    """SIGSTOP `proc` once a large object's tmp file exists: everything the
    upload stores before that file is stored or deduplicated already."""
    tmp = project / ".codalab" / "tmp"
    while proc.poll() is None:
        if any(n.startswith("obj-") for n in os.listdir(tmp)):
            proc.send_signal(signal.SIGSTOP)
            return
    pytest.fail(f"the upload ended before it could be stopped: {proc.communicate()}")


def gc_while_stopped(project, home, stopped, args):
    """Run gc while `stopped` is stopped: until gc either says it waits for
    a writer (it must, after the fix) or ends (what it did before, deleting
    under the stopped upload), then let the writer go on."""
    gc = popen_cl(["gc", *args], project, home)
    first = gc.stderr.readline()  # a line, or "" at the end of a gc that did not wait
    stopped.send_signal(signal.SIGCONT)
    out, err = stopped.communicate(timeout=300)
    gc_out, gc_err = gc.communicate(timeout=300)
    return (stopped.returncode, out, err), (gc.returncode, gc_out, first + gc_err)


def assert_clean(cl, project):
    fsck = cl(["fsck"], project, check=False)
    assert fsck.returncode == 0 and fsck.stdout == "", fsck.stdout + fsck.stderr


def test_gc_prune_now_beside_an_upload(project, cl):
    """Item 1: objects an upload wrote before its ref moved are not deleted."""
    tree(project / "small", {f"f{i}.txt": f"file {i}\n" for i in range(40)})
    big_file(project / "big.bin")
    up = popen_cl(["upload", "small", "big.bin", "-n", "both"], project, cl.home)
    stop_while_copying(up, project)
    (rc, out, err), (gc_rc, _, gc_err) = gc_while_stopped(project, cl.home, up, ["--prune", "now"])
    assert rc == 0, err
    assert gc_rc == 0, gc_err
    assert gc_err == "waiting for commands that are storing objects\n"
    assert_clean(cl, project)
    cl(["download", "both", "-o", "got"], project)
    assert sorted(os.listdir(project / "got" / "small")) == sorted(os.listdir(project / "small"))
    assert (project / "got" / "big.bin").read_bytes() == (project / "big.bin").read_bytes()
    cl(["upload", "-c", "after", "-n", "later"], project)  # the worksheet's head is intact


def test_gc_beside_an_upload_that_dedups_against_aged_garbage(project, cl):
    """Item 2: with the default grace period, an upload that finds old
    unreachable objects present and names them keeps them (here packed:
    20 files are packed, and gc's repack must keep what the upload found)."""
    tree(project / "data", {f"f{i}.txt": f"data {i}\n" for i in range(20)})
    cl(["upload", "data"], project)
    cl(["rm", "data"], project)
    old = time.time() - 3 * 3600
    for fan in (project / ".codalab" / "objects").iterdir():
        for obj in fan.iterdir():
            os.utime(obj, (old, old), follow_symlinks=False)
    big_file(project / "big.bin")
    up = popen_cl(["upload", "data", "big.bin", "-n", "second"], project, cl.home)
    stop_while_copying(up, project)
    (rc, out, err), (gc_rc, _, gc_err) = gc_while_stopped(project, cl.home, up, [])
    assert rc == 0, err
    assert gc_rc == 0, gc_err
    assert gc_err == "waiting for commands that are storing objects\n"
    assert_clean(cl, project)
    cl(["download", "second", "-o", "got"], project)
    assert (project / "got" / "data" / "f7.txt").read_text() == "data 7\n"
    assert list((project / ".codalab" / "objects" / "pack").glob("*.idx"))


@pytest.mark.parametrize("executor", ["local", "docker"])
def test_gc_during_a_run_keeps_its_checkouts(tmp_path, request, executor):
    """Item 3: the checkouts a running run reads stay, and the run ends
    `ready` with what it read."""
    from tests.conftest import run_cl
    from tests.runs.helpers import bid_of, configure, history, repo_of, stop_workers, wait_for
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    engine = None
    if executor == "docker":
        engine = request.getfixturevalue("docker_engine")
        configure(project, executor="docker", image=request.getfixturevalue("busybox_image"),
                  worker_idle="30s")
    else:
        configure(project, executor="local", worker_idle="30s")
    tree(project, {"data": {"x.txt": "x\n", "sub": {"y.txt": "y\n"}}})
    run_cl(["upload", "data"], project)
    try:
        done = run_cl(["run", "in:data", "touch started; while [ ! -e go ]; do sleep 0.02; done; "
                       "cat in/x.txt in/sub/y.txt > out"], project)
        bid = bid_of(done)
        run_dir = project / ".codalab" / "runs" / bid
        wait_for(lambda: (run_dir / "started").exists(), "the run to start")
        assert os.listdir(project / ".codalab" / "checkouts")
        gc = run_cl(["gc", "--prune", "now"], project)
        assert gc.stdout.strip().endswith("0 checkouts"), gc.stdout
        (run_dir / "go").write_text("")
        run_cl(["wait", f"0x{bid}"], project)
        assert run_cl(["cat", f"0x{bid}/out"], project).stdout == "x\ny\n"
        run_cl(["gc"], project)  # ends: the worker, still alive, holds no write span
        repo = repo_of(project)
        try:
            assert history(repo, bid)[-1] == "ready"
        finally:
            repo.close()
    finally:
        stop_workers(project, engine)
    assert_clean(run_cl, project)


# --- stress: each race many times, fsck after every round ---------------------

ROUNDS = 6


def run_all(procs):
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f"{p.args}: {err}"
    return [out for out, _ in outs]


def assert_downloads(cl, project, expected: dict[str, dict]):
    """Every bundle named in `expected` downloads to exactly its files."""
    where = Path(tempfile.mkdtemp(prefix="dl-", dir=project))
    for name, files in expected.items():
        dest = where / name
        cl(["download", name, "-o", dest], project)
        got = {p.name: p.read_text() for p in dest.iterdir()}
        assert got == files, name


def test_stress_uploads_and_dedup_beside_gc_prune_now(project, cl):
    """Uploads (some deduplicating against data just removed, so
    unreachable) race `cl gc --prune now`, round after round."""
    expected = {}
    for r in range(ROUNDS):
        specs = {f"r{r}u{i}": {f"f{j}.txt": f"{(r + i) % 3} {j}\n" for j in range(24)}  # packed
                 | {"own.txt": f"round {r} upload {i}\n"} for i in range(3)}
        for name, files in specs.items():
            tree(project / "src" / name, files)
        if r:
            cl(["rm", *[n for n in expected if n.startswith(f"r{r - 1}u0")]], project)
            expected = {n: f for n, f in expected.items() if not n.startswith(f"r{r - 1}u0")}
        procs = [popen_cl(["upload", project / "src" / name, "-n", name], project, cl.home)
                 for name in specs]
        procs.append(popen_cl(["gc", "--prune", "now"], project, cl.home))
        run_all(procs)
        expected.update(specs)
        assert_clean(cl, project)
        assert_downloads(cl, project, expected)
        cl(["gc", "--prune", "now"], project)  # and nothing live goes with a quiet gc
        assert_clean(cl, project)


def test_stress_edits_and_worksheet_commits_beside_gc_prune_now(project, cl):
    cl(["upload", "-c", "edited\n", "-n", "target"], project)
    for r in range(ROUNDS):
        procs = [popen_cl(["edit", "target", "--tags", f"t{r}"], project, cl.home),
                 popen_cl(["new", f"ws{r}"], project, cl.home),
                 popen_cl(["add", "text", f"note {r}"], project, cl.home),
                 popen_cl(["upload", "-c", f"text {r}\n", "-n", f"c{r}"], project, cl.home),
                 popen_cl(["gc", "--prune", "now"], project, cl.home)]
        run_all(procs)
        assert_clean(cl, project)
        assert_downloads(cl, project, {})
        assert cl(["cat", f"c{r}"], project).stdout == f"text {r}\n"
        assert cl(["cat", "target"], project).stdout == "edited\n"


def test_stress_pushes_and_pulls_beside_gc_prune_now(tmp_path, project, cl):
    """Receives: another repository pushes into this one, and this one
    pulls from it, while gc runs here."""
    other = tmp_path / "other"
    other.mkdir()
    cl(["init", "-w", "theirs"], other)
    cl(["remote", "add", "hub", project], other)
    cl(["remote", "add", "peer", other], project)
    expected = {}
    for r in range(ROUNDS):
        files = {f"g{j}.txt": f"{r % 2} {j}\n" for j in range(24)} | {"own.txt": f"pushed {r}\n"}  # packed
        tree(other / "src" / f"p{r}", files)
        cl(["upload", other / "src" / f"p{r}", "-n", f"p{r}"], other)
        expected[f"p{r}"] = files
        if r % 2:
            procs = [popen_cl(["pull", "peer", "theirs"], project, cl.home)]
        else:
            procs = [popen_cl(["push", "hub"], other, cl.home)]
        procs.append(popen_cl(["gc", "--prune", "now"], project, cl.home))
        run_all(procs)
        assert_clean(cl, project)
        for name, want in expected.items():
            dest = Path(tempfile.mkdtemp(prefix="dl-", dir=project)) / name
            cl(["download", f"theirs//{name}", "-o", dest], project)
            assert {p.name: p.read_text() for p in dest.iterdir()} == want


def test_stress_runs_finishing_beside_gc_prune_now(tmp_path):
    from tests.conftest import run_cl
    from tests.runs.helpers import bid_of, configure, stop_workers
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", worker_idle="30s")
    tree(project, {"data": {f"x{j}.txt": f"x {j}\n" for j in range(5)}})
    run_cl(["upload", "data"], project)
    try:
        for r in range(ROUNDS):
            bids = [bid_of(run_cl(["run", "in:data", f"cat in/x{i}.txt > out; echo {r} >> out"], project))
                    for i in range(2)]
            gcs = [popen_cl(["gc", "--prune", "now"], project, _home()) for _ in range(2)]
            for bid in bids:
                run_cl(["wait", f"0x{bid}"], project)
            run_all(gcs)
            assert_clean(run_cl, project)
            for i, bid in enumerate(bids):
                assert run_cl(["cat", f"0x{bid}/out"], project).stdout == f"x {i}\n{r}\n"
    finally:
        stop_workers(project)


def _home():
    from tests.conftest import _session_home
    return _session_home()
