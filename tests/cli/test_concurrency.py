"""Several `cl` processes on one repository: eight uploads at once all
succeed and none is lost from the worksheet (compare-and-swap), and an
upload killed with SIGKILL at any point leaves a repository that `cl fsck`
accepts and that the same upload simply completes."""

import json
import os
import signal
import subprocess
import time

from cl.bundles.edit import history
from cl.repo import Repository
from tests.conftest import CL, cl_env, stored_ids, tree


def popen_cl(args, cwd, home):
    return subprocess.Popen([CL, *map(str, args)], cwd=cwd, env=cl_env({"HOME": home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pack_started(project, before: set) -> bool:
    """Whether an upload has begun a pack (its file in tmp/)."""
    return bool(set(os.listdir(project / ".codalab" / "tmp")) - before)


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
    # stored once: uploads running at once may each pack a copy (none sees
    # the others' packs before they are published); the store lists it
    # once, and gc's repack keeps one (an index names each packed object)
    from cl.objects.ids import hash_bytes
    shared_id = hash_bytes(shared.encode())
    assert shared_id in stored_ids(project)
    cl(["gc"], project)
    pack_dir = project / ".codalab" / "objects" / "pack"
    copies = sum(p.read_bytes().count(bytes.fromhex(shared_id)) for p in pack_dir.glob("*.idx"))
    loose = (project / ".codalab" / "objects" / shared_id[:2] / shared_id[2:]).exists()
    assert copies + loose == 1
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


def test_eight_edits_of_one_bundle_at_once(project, cl):
    """Each edit appends a state on top of the head it found: none is lost."""
    cl(["upload", "-c", "x", "-n", "target"], project)
    procs = [popen_cl(["edit", "target", "--tags", f"t{i}"], project, cl.home) for i in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs]
    with_repo = Repository.find(str(project))
    try:
        bid = with_repo.index.by_name("target")[0].id
        states = history(with_repo, bid)
    finally:
        with_repo.close()
    assert len(states) == 1 + 8
    assert sorted(s.metadata["tags"][0] for _, s in states[:-1]) == [f"t{i}" for i in range(8)]
    assert cl(["fsck"], project).stdout == ""


def test_upload_killed_at_any_point(project, cl):
    """Kill points: during start-up, as the first objects land, half way
    through the blobs, and near the end (trees, bundle, worksheet).  Each
    kill uploads a directory of its own, so every kill meets new objects."""
    files = 600
    # objects land in a pack, visible all at once at the end: the kill
    # points are times and the moment the pack begins in tmp/
    points = [("time", 0.05), ("pack", 0), ("time", 0.1), ("time", 0.6)]
    for k in range(len(points)):
        tree(project / f"big{k}", {f"dir{d}": {f"file{f}": os.urandom(200) for f in range(files // 6)}
                                   for d in range(6)})
    landed = []
    for k, (how, amount) in enumerate(points):
        tmp_before, start_time = set(os.listdir(project / ".codalab" / "tmp")), time.monotonic()
        proc = popen_cl(["upload", f"big{k}"], project, cl.home)
        while proc.poll() is None:
            if how == "time" and time.monotonic() - start_time >= amount:
                break
            if how == "pack" and pack_started(project, tmp_before):
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(proc.returncode == -signal.SIGKILL)
        fsck = cl(["fsck"], project, check=False)
        assert fsck.returncode == 0 and fsck.stdout == "", fsck.stdout + fsck.stderr
    # the kills happened while the uploads were running, not after
    assert landed[:2] == [True, True], landed  # the later ones may find a small upload done
    # each upload simply runs again, reusing what its killed run wrote
    ids = [cl(["upload", f"big{k}"], project).stdout.strip() for k in range(len(points))]
    listed = [r["id"] for r in json.loads(cl(["ls", "--json"], project).stdout)]
    assert listed[-len(ids):] == ids
    assert cl(["fsck"], project).stdout == ""
    last = len(points) - 1
    cl(["download", f"big{last}", "-o", project / "back"], project)
    for d in range(6):
        for f in range(files // 6):
            rel = f"dir{d}/file{f}"
            assert (project / "back" / rel).read_bytes() == (project / f"big{last}" / rel).read_bytes()
