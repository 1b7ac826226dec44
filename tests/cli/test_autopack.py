"""Automatic packing (git's `gc --auto`): a command that wrote packs the
small loose objects once about `gc.auto` have gathered, and merges the
packs once there are `gc.auto_pack_limit`; a command that only read, or a
gc lock someone holds, leaves everything as it is."""

import os
import subprocess
import sys

from cl.repo import Repository

from ..conftest import stored_ids


def _loose(repo_dir) -> list[str]:
    objects = os.path.join(repo_dir, ".codalab", "objects")
    return [d + f for d in os.listdir(objects) if len(d) == 2
            for f in os.listdir(os.path.join(objects, d))]


def _packs(objects) -> int:
    where = os.path.join(objects, "pack")
    return len([n for n in os.listdir(where) if n.endswith(".idx")]) if os.path.isdir(where) else 0


def _twenty_files(where, what: str):
    """A directory of 20 small files: one upload of it is one pack."""
    where.mkdir()
    for j in range(20):
        (where / f"f{j}.txt").write_text(f"{what} file {j}\n")
    return where


def _scatter(project, n: int, salt: str = "") -> dict[str, bytes]:
    """`n` small loose objects, written as a run's outputs would be."""
    repo = Repository(os.path.join(project, ".codalab"))
    try:
        written = {}
        with repo.store.writing():
            for i in range(n):
                data = f"{salt}an output of run {i}\n".encode() * (i % 7 + 1)
                written[repo.store.write_bytes(data)] = data
        return written
    finally:
        repo.close()


def _readable(project, written: dict[str, bytes]) -> None:
    repo = Repository(os.path.join(project, ".codalab"))
    try:
        for oid, data in written.items():
            assert repo.store.read_bytes(oid) == data
    finally:
        repo.close()


def test_a_command_that_wrote_packs_what_gathered(cl, project):
    cl(["config", "gc.auto", "64"], project)
    written = _scatter(project, 300)
    before = stored_ids(project)
    cl(["ls"], project)  # only reads: no look at the store, nothing moves
    cl(["info", "^"], project, check=False)
    assert len(_loose(project)) >= 300
    cl(["add", "text", "a note that writes a commit"], project)
    assert _loose(project) == []
    assert before <= stored_ids(project)
    _readable(project, written)
    assert cl(["fsck"], project).stderr.rstrip().endswith(": ok")


def test_below_the_limit_or_with_gc_auto_0_nothing_moves(cl, project):
    _scatter(project, 200)  # about 200, under the default 1,000
    cl(["add", "text", "one"], project)
    assert len(_loose(project)) >= 200
    cl(["config", "gc.auto", "0"], project)
    _scatter(project, 1200, salt="more ")
    cl(["add", "text", "two"], project)
    assert len(_loose(project)) >= 1400


def test_a_held_gc_lock_means_another_time(cl, project):
    """A writer in another process holds its span: the command ends as
    usual, packs nothing, waits for nothing; the next one packs."""
    cl(["config", "gc.auto", "64"], project)
    written = _scatter(project, 300)
    lock = os.path.join(project, ".codalab", "gc.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
         " fcntl.flock(fd, fcntl.LOCK_SH); print('held', flush=True); sys.stdin.read()", lock],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cl(["add", "text", "while a writer works"], project)
        assert len(_loose(project)) >= 300
    finally:
        holder.stdin.close()
        holder.wait()
    cl(["add", "text", "after it"], project)
    assert _loose(project) == []
    _readable(project, written)


def test_many_packs_are_merged(cl, project, tmp_path):
    """Each upload of 20 small files is one pack; at the limit they merge."""
    cl(["config", "gc.auto_pack_limit", "3"], project)
    counts = []
    for i in range(5):
        cl(["upload", _twenty_files(tmp_path / f"data{i}", f"upload {i}")], project)
        counts.append(_packs(project / ".codalab" / "objects"))
    assert max(counts) < 3, counts
    assert counts[:2] == [1, 2]  # not merged below the limit
    assert cl(["fsck"], project).stderr.rstrip().endswith(": ok")


def _hub_and_alice(cl, tmp_path, pack_limit: int):
    """A bare hub with `gc.auto_pack_limit` set, and alice's project
    (worksheet `notes`) with the hub as `origin`."""
    hub = tmp_path / "hub"
    cl(["init", "--bare", hub], tmp_path)
    bare = Repository(str(hub))
    bare.config.set("gc", "auto_pack_limit", pack_limit)
    bare.config.save()
    bare.close()
    alice = tmp_path / "alice"
    alice.mkdir()
    cl(["init", "-w", "notes"], alice)
    cl(["remote", "add", "origin", hub], alice)
    return hub, alice


def test_a_push_to_a_hub_merges_its_packs(cl, tmp_path):
    """The hub's side of a push (the protocol server) keeps up too."""
    hub, alice = _hub_and_alice(cl, tmp_path, pack_limit=3)
    counts = []
    for i in range(4):
        cl(["upload", _twenty_files(tmp_path / f"data{i}", f"push {i}")], alice)
        cl(["push", "notes"], alice)
        counts.append(_packs(hub / "objects"))
    assert max(counts) < 3, counts
    assert stored_ids(alice) <= stored_ids(hub)
    assert cl(["fsck"], hub, env={"CODALAB_DIR": str(hub)}).stderr.rstrip().endswith(": ok")


def test_a_worker_packs_between_runs(cl, project):
    """A worker is long-lived: it looks after each run it finishes, not
    only when it exits (it is still running when the objects are packed)."""
    from cl.index import runs as rindex
    from tests.runs.helpers import bid_of, configure, repo_of, start_worker, stop_workers, wait_for
    cl(["config", "gc.auto", "64"], project)
    configure(project, auto_worker=False, executor="local")
    worker = start_worker(project)
    try:
        bid = bid_of(cl(["run", "sleep 2; echo done"], project))
        repo = repo_of(project)
        try:
            wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running",
                     "the run to start")
            written = _scatter(project, 300)  # while it runs: `cl run` has ended already
            wait_for(lambda: rindex.run_status(repo.db, bid) is None, "the run to end")
        finally:
            repo.close()
        assert cl(["cat", f"0x{bid}/stdout"], project).stdout == "done\n"
        assert worker.poll() is None
        wait_for(lambda: _loose(project) == [], "the worker to pack")
        _readable(project, written)
    finally:
        stop_workers(project)


def test_a_hub_whose_upkeep_fails_warns_the_pusher_and_the_push_stands(cl, tmp_path):
    hub, alice = _hub_and_alice(cl, tmp_path, pack_limit=1)  # one pack is enough to pack again
    cl(["upload", _twenty_files(tmp_path / "data", "first")], alice)
    cl(["push", "notes"], alice)
    os.rename(hub / "tmp", hub / "tmp-aside")  # where a new pack is written: now a file
    (hub / "tmp").write_text("not a directory")
    cl(["add", "text", "a note pushed while the hub cannot pack"], alice)
    done = cl(["push", "notes"], alice)
    assert "worksheet notes: ok" in done.stdout
    assert "warning: automatic packing stopped" in done.stderr
    (hub / "tmp").unlink()
    os.rename(hub / "tmp-aside", hub / "tmp")
    assert stored_ids(alice) <= stored_ids(hub)
    assert cl(["fsck"], hub, env={"CODALAB_DIR": str(hub)}).stderr.rstrip().endswith(": ok")
