"""A Docker run on a worker that is root cannot hand root to other local
users (issue 13 item 4): it gets no new privileges and no capabilities, so
it cannot make device nodes; a setuid file it leaves in its run directory
cannot be reached by any other uid while the run lives; and nothing it
leaves is stored with setuid/setgid bits or as a device."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cl.objects.trees import walk
from cl.objects.types import MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK
from tests.conftest import run_cl
from tests.runs.helpers import bid_of, configure, repo_of, start_worker, stop_workers, wait_for

NOBODY = 65534

ATTACK = ("cp /bin/busybox suid && chmod u+s,g+s suid; ls -ln suid > suid.ls;"
          " mknod cdev c 1 3; echo $? > mknod.rc; mknod bdev b 7 0;"
          " grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb):' /proc/self/status > status;"
          " touch ready; while [ ! -e stop ]; do sleep 0.1; done")


@pytest.fixture
def open_project(docker_engine, busybox_image):
    """A project in a directory every user can traverse (pytest's own
    temporary directories are 0700, which would hide the attack)."""
    if os.geteuid() != 0:
        pytest.skip("the attack needs a worker running as root")
    top = Path(tempfile.mkdtemp(prefix="cl-open-"))
    os.chmod(top, 0o755)
    project = top / "project"
    project.mkdir()
    os.chmod(project, 0o755)
    run_cl(["init"], project)
    configure(project, auto_worker=False, image=busybox_image)
    start_worker(project)
    try:
        yield project
    finally:
        stop_workers(project, docker_engine)
        shutil.rmtree(top, ignore_errors=True)


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess:
    """Python `code` run as the user nobody (no groups)."""
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    return subprocess.run([python, "-c", code, *args], user=NOBODY, group=NOBODY, extra_groups=[],
                          capture_output=True, text=True, cwd="/")


PROBE = """
import os, sys
for path in sys.argv[1:]:
    try:
        os.stat(path)
        print("reachable", path)
    except PermissionError:
        print("refused", path)
    except FileNotFoundError:
        print("absent", path)
"""


def test_a_root_run_leaves_nothing_another_user_can_use(open_project):
    project = open_project
    bid = bid_of(run_cl(["run", ATTACK], project))
    live = project / ".codalab" / "runs" / bid
    try:
        wait_for(lambda: (live / "ready").exists(), "the run to try its attack")
        assert (live / "suid").stat().st_mode & stat.S_ISUID  # it did make one (it owns the file)
        status = dict(line.split(":\t") for line in (live / "status").read_text().splitlines())
        assert status["NoNewPrivs"].strip() == "1"
        for caps in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
            assert int(status[caps], 16) == 0, (caps, status)
        assert (live / "mknod.rc").read_text().strip() != "0"
        assert not os.path.lexists(live / "cdev") and not os.path.lexists(live / "bdev")
        probe = as_nobody(PROBE, str(live / "suid"), str(live), str(live / "stdout"))
        assert probe.returncode == 0, probe.stderr
        assert all(line.startswith("refused ") for line in probe.stdout.splitlines()), probe.stdout
        mode = (project / ".codalab" / "runs").stat()
        assert stat.S_IMODE(mode.st_mode) & 0o077 == 0 and mode.st_uid == os.geteuid()
    finally:
        (live / "stop").touch()
    done = run_cl(["wait", f"0x{bid}"], project)
    assert done.returncode == 0
    repo = repo_of(project)
    contents = repo.contents(bid)
    modes = {path: c.mode for path, c in walk(repo.store, contents)}
    repo.close()
    assert "suid" in modes and modes["suid"] == MODE_EXEC
    assert set(modes.values()) <= {MODE_DIR, MODE_FILE, MODE_EXEC, MODE_LINK}
    out = project / "out"
    run_cl(["download", f"0x{bid}", "-o", out], project)
    for root, dirs, files in os.walk(out):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID), name
            assert stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
