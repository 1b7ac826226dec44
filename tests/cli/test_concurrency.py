"""Several `cl` processes on one repository: eight uploads at once all
succeed and none is lost from the worksheet (compare-and-swap), and an
upload killed with SIGKILL at any point leaves a repository that `cl fsck`
accepts and that the same upload simply completes."""

import json
import os
import signal
import subprocess
import time

from cl.repo import Repository
from tests.conftest import CL, cl_env, tree


def popen_cl(args, cwd, home):
    return subprocess.Popen([CL, *map(str, args)], cwd=cwd, env=cl_env({"HOME": home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def object_count(project):
    return sum(len(os.listdir(d)) for d in (project / ".codalab" / "objects").iterdir())


def test_eight_uploads_at_once(project, cl):
    shared = "the same in every upload\n" * 50
    for i in range(8):
        tree(project / f"d{i}", {"shared.txt": shared, f"own{i}.txt": f"only in {i}\n",
                                 "sub": {f"f{j}": f"{i}.{j}\n" for j in range(20)}})
    procs = [popen_cl(["upload", f"d{i}", "-n", f"up{i}"], project, cl.home) for i in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs]
    assert [err for _, err in outs] == [""] * 8
    ids = {out.strip() for out, _ in outs}
    assert len(ids) == 8
    listed = json.loads(cl(["ls", "--json"], project).stdout)
    assert {r["id"] for r in listed} == ids
    assert sorted(r["name"] for r in listed) == [f"up{i}" for i in range(8)]
    fsck = cl(["fsck"], project)
    assert fsck.stdout == "" and fsck.stderr.strip().endswith(": ok")
    blobs = [p for p in (project / ".codalab" / "objects").glob("??/*") if p.read_bytes() == shared.encode()]
    assert len(blobs) == 1
    # every upload committed its own worksheet version on top of the last
    repo = Repository.find(str(project))
    try:
        head, ws = repo.worksheet_head(repo.current_worksheet())
        versions = 1
        while ws.parents:
            head, ws = ws.parents[0], repo.read(ws.parents[0])
            versions += 1
    finally:
        repo.close()
    assert versions == 1 + 8


def test_upload_killed_at_any_point(project, cl):
    tree(project / "big", {f"dir{d}": {f"file{f}": os.urandom(256) for f in range(100)} for d in range(10)})
    base = object_count(project)
    landed = []

    def kill_when(ready):
        proc = popen_cl(["upload", "big", "-n", "big"], project, cl.home)
        while proc.poll() is None and not ready():
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(proc.returncode == -signal.SIGKILL)
        fsck = cl(["fsck"], project, check=False)
        assert fsck.returncode == 0 and fsck.stdout == "", fsck.stdout + fsck.stderr

    def after(seconds):
        start = time.monotonic()
        return lambda: time.monotonic() - start >= seconds

    kill_when(after(0.05))
    kill_when(after(0.3))
    # mid-ingest: once some objects of this upload are on disk
    kill_when(lambda: object_count(project) >= base + 100)
    kill_when(lambda: object_count(project) >= base + 700)
    assert landed[0] and landed[2], landed
    # the upload simply runs again, reusing what the killed runs wrote
    bid = cl(["upload", "big", "-n", "big"], project).stdout.strip()
    assert json.loads(cl(["ls", "--json"], project).stdout)[-1]["id"] == bid
    fsck = cl(["fsck"], project)
    assert fsck.stdout == ""
    cl(["download", "big", "-o", project / "back"], project)
    for d in range(10):
        for f in range(100):
            rel = f"dir{d}/file{f}"
            assert (project / "back" / rel).read_bytes() == (project / "big" / rel).read_bytes()
