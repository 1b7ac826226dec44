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
import time

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
    """Run gc while `stopped` is stopped: give it a while to finish (gc that
    waits for the stopped writer does not), then let the writer go on."""
    gc = popen_cl(["gc", *args], project, home)
    try:
        gc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass  # waiting for the stopped upload, as it should
    stopped.send_signal(signal.SIGCONT)
    out, err = stopped.communicate(timeout=300)
    gc_out, gc_err = gc.communicate(timeout=300)
    return (stopped.returncode, out, err), (gc.returncode, gc_out, gc_err)


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
    assert_clean(cl, project)
    cl(["download", "both", "-o", "got"], project)
    assert sorted(os.listdir(project / "got" / "small")) == sorted(os.listdir(project / "small"))
    assert (project / "got" / "big.bin").read_bytes() == (project / "big.bin").read_bytes()
    cl(["upload", "-c", "after", "-n", "later"], project)  # the worksheet's head is intact


def test_gc_beside_an_upload_that_dedups_against_aged_garbage(project, cl):
    """Item 2: with the default grace period, an upload that finds old
    unreachable objects present and names them keeps them."""
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
    assert_clean(cl, project)
    cl(["download", "second", "-o", "got"], project)
    assert (project / "got" / "data" / "f7.txt").read_text() == "data 7\n"


def test_gc_during_a_run_keeps_its_checkouts(tmp_path):
    """Item 3: the checkouts a running run reads stay, and the run ends
    `ready` with what it read (local executor)."""
    from tests.conftest import run_cl
    from tests.runs.helpers import bid_of, configure, history, repo_of, stop_workers, wait_for
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
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
        repo = repo_of(project)
        try:
            assert history(repo, bid)[-1] == "ready"
        finally:
            repo.close()
    finally:
        stop_workers(project)
    assert_clean(run_cl, project)
