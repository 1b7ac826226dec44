"""A pull killed with SIGKILL part way leaves a repository that `cl fsck`
accepts, and the same pull then completes, fetching only what is missing
(README, "Reliability": a command killed at any point loses nothing)."""

import os
import signal
import subprocess
import time

from tests.conftest import CL, cl_env


def objects(project):
    root = project / ".codalab" / "objects"
    return {f"{d}{f}" for d in os.listdir(root) for f in os.listdir(root / d)}


def test_a_killed_pull_resumes(cl, cl_home, tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init"], origin)
    data = origin / "data"
    data.mkdir()
    for i in range(600):
        (data / f"f{i:03}").write_bytes(os.urandom(64 << 10))
    cl(["upload", "data"], origin)
    local = tmp_path / "local"
    local.mkdir()
    cl(["init"], local)
    cl(["remote", "add", "origin", origin], local)
    before = objects(local)
    proc = subprocess.Popen([CL, "pull", "origin", "data"], cwd=local, env=cl_env({"HOME": cl_home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    # kill it once some, but not all, of the 600 blobs have arrived
    for _ in range(20000):
        if len(objects(local) - before) >= 30 or proc.poll() is not None:
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    arrived = len(objects(local) - before)
    assert 30 <= arrived < 600, "the pull finished before it could be interrupted"
    assert cl(["fsck"], local).stdout == ""  # nothing half-written is named
    assert "data" not in cl(["ls"], local).stdout  # the bundle is not there until all of it is
    again = cl(["pull", "origin", "data"], local)
    assert "Traceback" not in again.stderr
    assert cl(["fsck"], local).stdout == ""
    cl(["download", "data", "-o", tmp_path / "copy"], local)
    for i in (0, 299, 599):
        name = f"f{i:03}"
        assert (tmp_path / "copy" / name).read_bytes() == (data / name).read_bytes()
