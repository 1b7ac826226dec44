"""SIGKILL while packs are written (docs/format.md [F24]): during an
upload, during a receive (pull), during gc's repack.  Whatever the moment,
nothing half-written is visible, `cl fsck` is clean, nothing stored before
is lost, and the same command run again completes.

Real `cl` processes and real signals: each command is killed a while
after its pack file has appeared in tmp/ (while objects are appended), or
the moment a new `.pack` appears in objects/pack/ (between the pack's
rename and its index's)."""

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import CL, cl_env, tree

FILES = 4000


def small_files(root, salt: str) -> None:
    tree(root, {f"d{d:02}": {f"f{i:04}": f"{salt} {d} {i}\n" * (1 + i % 40)
                             for i in range(d, FILES, 40)} for d in range(40)})


def start(args, cwd, home):
    return subprocess.Popen([CL, *map(str, args)], cwd=cwd, env=cl_env({"HOME": home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _new_names(path, before: set) -> set:
    try:
        return set(os.listdir(path)) - before
    except FileNotFoundError:
        return set()


def kill_once_packing(proc, repo, moment) -> bool:
    """SIGKILL `proc` at `moment`: a delay in seconds after a file appears
    in the repository's tmp/ (the pack it appends to), or "renaming": the
    moment a new `.pack` appears in objects/pack/ (its index is not there
    yet).  Whether it was still running then."""
    root = repo / ".codalab" if (repo / ".codalab").is_dir() else repo
    if moment == "renaming":
        where = root / "objects" / "pack"
        before = set(os.listdir(where)) if where.is_dir() else set()
        while proc.poll() is None and not any(
                n.endswith(".pack") for n in _new_names(where, before)):
            pass
    else:
        where = root / "tmp"
        before = set(os.listdir(where))
        while proc.poll() is None and not _new_names(where, before):
            time.sleep(0.001)
        time.sleep(moment)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    return killed


def names(cl, repo) -> set:
    return {line.split()[0] for line in cl(["ls"], repo).stdout.splitlines()[1:] if line.strip()}


def assert_clean(cl, repo):
    fsck = cl(["fsck"], repo, check=False)
    assert fsck.returncode == 0 and fsck.stdout == "", fsck.stdout + fsck.stderr


def assert_same(cl, repo, name, src, tmp_path):
    out = tmp_path / f"copy-{name}-{time.monotonic_ns()}"
    cl(["download", name, "-o", out], repo)
    for rel in ("d00/f0000", "d17/f1977", "d39/f3999"):
        assert (out / rel).read_bytes() == (src / rel).read_bytes()


MOMENTS = [0.0, 0.05, 0.2, "renaming"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_upload_killed_while_packing(project, cl, cl_home, tmp_path, moment):
    small_files(project / "before", "kept")
    cl(["upload", "before"], project)
    small_files(project / "data", "new")
    proc = start(["upload", "data"], project, cl_home)
    if not kill_once_packing(proc, project, moment):
        assert moment != 0.0, "the upload ended before it could be killed"
        pytest.skip("the upload ended before the kill")
    assert_clean(cl, project)
    assert "data" not in names(cl, project)  # no bundle until all of it is stored
    assert_same(cl, project, "before", project / "before", tmp_path)
    again = cl(["upload", "data"], project)
    assert "Traceback" not in again.stderr
    assert_clean(cl, project)
    assert_same(cl, project, "data", project / "data", tmp_path)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_pull_killed_while_packing(cl, cl_home, tmp_path, moment):
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init"], origin)
    small_files(origin / "data", "remote")
    cl(["upload", "data"], origin)
    local = tmp_path / "local"
    local.mkdir()
    cl(["init"], local)
    cl(["remote", "add", "origin", origin], local)
    proc = start(["pull", "origin", "data"], local, cl_home)
    if not kill_once_packing(proc, local, moment):
        assert moment != 0.0, "the pull ended before it could be killed"
        pytest.skip("the pull ended before the kill")
    assert_clean(cl, local)
    assert "data" not in names(cl, local)
    again = cl(["pull", "origin", "data"], local)
    assert "Traceback" not in again.stderr
    assert_clean(cl, local)
    assert_same(cl, local, "data", origin / "data", tmp_path)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_gc_killed_while_repacking(project, cl, cl_home, tmp_path, moment):
    small_files(project / "kept", "kept")
    small_files(project / "gone", "gone")
    cl(["upload", "kept"], project)
    cl(["upload", "gone"], project)
    cl(["rm", "gone"], project)
    proc = start(["gc", "--prune", "now"], project, cl_home)
    if not kill_once_packing(proc, project, moment):
        assert moment != 0.0, "gc ended before it could be killed"
        pytest.skip("gc ended before the kill")
    assert_clean(cl, project)
    assert_same(cl, project, "kept", project / "kept", tmp_path)
    again = cl(["gc", "--prune", "now"], project)
    assert "Traceback" not in again.stderr
    assert_clean(cl, project)
    assert_same(cl, project, "kept", project / "kept", tmp_path)
    assert cl(["gc", "--prune", "now"], project).stdout.startswith("deleted 0 objects")
    packs = os.listdir(project / ".codalab" / "objects" / "pack")
    assert len(packs) == 2  # one pack and its index: the rest went
    assert os.listdir(project / ".codalab" / "tmp") == []
