"""What a local run cannot reach (issue 13 item 6): the repository
(repo.db, config.toml with its tokens, the object store, other bundles'
checkouts), the project's files (neither read nor written), and, when the
worker is root, the host's root-owned files; and nothing it starts
outlives it, `setsid` children included.  Also: config.toml holding a
token is readable by its owner only."""

import os
import stat
import subprocess
import uuid

import pytest

from cl.runs.local_executor import hidden_dirs
from tests.conftest import CL, cl_env, run_cl, tree
from tests.runs.helpers import bid_of, configure, local_python, stop_workers, wait_for

SECRET = "secret-7d2a91"
GONE_DEADLINE = 60.0  # only keeps a broken run from hanging the suite


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("local-confined") / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", worker_idle="30s")
    tree(project, {"data": {"x.txt": "declared\n"}, "private": {"s.txt": SECRET + "-bundle\n"},
                   "notes.txt": SECRET + "-project\n"})
    run_cl(["upload", "data"], project)
    run_cl(["upload", "private"], project)
    run_cl(["config", "remote.origin.url", "http://127.0.0.1:9/"], project)
    run_cl(["config", "remote.origin.token", SECRET + "-token"], project)
    # a run that uses `private` leaves its checkout in .codalab/checkouts
    run_cl(["run", "p:private", "cat p/s.txt > /dev/null", "-W"], project)
    yield project
    stop_workers(project)


def read_attempts(project) -> str:
    codalab = project / ".codalab"
    targets = [codalab / "repo.db", codalab / "config.toml", project / "notes.txt"]
    targets += sorted((codalab / "checkouts").glob("*"))
    targets += sorted((codalab / "objects").glob("??/*"))[:50]
    return " ".join(f"cat '{t}' '{t}'/* 2>/dev/null | grep -a -o '{SECRET}[a-z-]*';" for t in targets)


def test_a_local_run_reads_only_its_dependencies(project):
    command = f"cat d/x.txt; {read_attempts(project)} ls -la '{project}' '{project}/.codalab' 2>&1; true"
    bid = bid_of(run_cl(["run", "d:data", command, "-W"], project))
    out = run_cl(["cat", f"0x{bid}/stdout"], project).stdout
    assert out.startswith("declared\n")
    assert SECRET not in out
    assert "repo.db" not in out and "notes.txt" not in out


def test_a_local_run_cannot_write_into_the_project(project):
    before = (project / "notes.txt").read_text()
    command = (f"echo evil > '{project}/planted'; echo evil > '{project}/notes.txt';"
               f" mkdir '{project}/dir'; echo evil > '{project}/.codalab/planted'; true")
    run_cl(["run", command, "-W"], project)
    assert not (project / "planted").exists() and not (project / "dir").exists()
    assert not (project / ".codalab" / "planted").exists()
    assert (project / "notes.txt").read_text() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="about a worker running as root")
def test_a_local_run_of_a_root_worker_is_not_root_on_the_host(project):
    planted = f"/usr/local/cl-planted-{uuid.uuid4().hex}"
    bid = bid_of(run_cl(["run", f"id -u > uid; touch {planted}; cat /etc/shadow > shadow; true", "-W"],
                        project))
    try:
        assert not os.path.exists(planted)
    finally:
        if os.path.exists(planted):
            os.unlink(planted)
    assert run_cl(["cat", f"0x{bid}/uid"], project).stdout.strip() != "0"
    assert run_cl(["cat", f"0x{bid}/shadow"], project).stdout == ""


def processes_with(token: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


def orphan(token: str) -> str:
    """Shell text that starts a `setsid` child meant to outlive the run and
    waits until it has started.  Only the child's command line holds the
    whole token (the shell's holds `$((40000 + 2))`, not its value)."""
    prefix, rest = token.split("40002")
    return (f"setsid {local_python()} -c 'import time; open(\"orphan-up\", \"w\").close(); time.sleep(600)'"
            f" {prefix}$((40000 + 2)){rest} </dev/null >/dev/null 2>&1 &"
            " while [ ! -e orphan-up ]; do sleep 0.05; done;")


def test_a_setsid_child_ends_with_its_run(project):
    token = f"cl-orphan-40002-{uuid.uuid4().hex}"
    bid = bid_of(run_cl(["run", f"{orphan(token)} echo started", "-W"], project))
    assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "started\n"
    wait_for(lambda: not processes_with(token), "the run's setsid child to be gone", GONE_DEADLINE)


def test_a_setsid_child_ends_when_its_run_is_killed(project):
    token = f"cl-orphan-40002-{uuid.uuid4().hex}"
    bid = bid_of(run_cl(["run", f"{orphan(token)} echo started; sleep 600"], project))
    wait_for(lambda: processes_with(token), "the setsid child to start")
    run_cl(["kill", f"0x{bid}"], project)
    run_cl(["wait", f"0x{bid}"], project, check=False)
    wait_for(lambda: not processes_with(token), "the killed run's setsid child to be gone", GONE_DEADLINE)


def test_config_with_a_token_is_readable_by_its_owner_only(project):
    mode = stat.S_IMODE((project / ".codalab" / "config.toml").stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)
    run_cl(["config", "run.parallel", "2"], project)  # rewritten: still private
    mode = stat.S_IMODE((project / ".codalab" / "config.toml").stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_without_namespaces_local_runs_are_refused_unless_unsafe(tmp_path):
    """No `unshare` on the worker's PATH: the local executor will not run
    anything unconfined unless it was chosen as local-unsafe."""
    project = tmp_path / "p"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", auto_worker=False)
    bare_path = {"PATH": str(tmp_path / "no-tools")}
    try:
        bid = bid_of(run_cl(["run", "echo hi"], project))
        done = subprocess.run([CL, "worker", "--exit-when-idle"], cwd=project, env=cl_env(bare_path),
                              capture_output=True, text=True, timeout=120)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert lines[0].startswith("cl: local runs cannot be confined here (unshare is not installed")
        assert "local-unsafe" in lines[0]
        done = subprocess.run([CL, "worker", "--exit-when-idle", "--executor", "local-unsafe"],
                              cwd=project, env=cl_env(bare_path), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert "NOT confined" in done.stderr + done.stdout
        assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "hi\n"
    finally:
        stop_workers(project)


def test_what_is_hidden_from_a_local_run(tmp_path):
    project = tmp_path / "top" / "project"
    (project / ".codalab").mkdir(parents=True)
    os.chmod(tmp_path / "top", 0o755)
    assert hidden_dirs(str(project / ".codalab")) == [str(project)]
    bare = tmp_path / "top" / "bare-repo"
    bare.mkdir()
    assert hidden_dirs(str(bare)) == [str(bare)]
    assert hidden_dirs("/.codalab") == ["/.codalab"]  # never `/` itself
    # a run as nobody: the topmost ancestor nobody cannot pass is hidden instead
    os.chmod(tmp_path / "top", 0o700)
    try:
        closed = [str(p) for p in [tmp_path / "top", *(tmp_path / "top").parents]
                  if p != p.parent and not p.stat().st_mode & 0o001]
        assert hidden_dirs(str(project / ".codalab"), other_user=True) == [closed[-1]]
    finally:
        os.chmod(tmp_path / "top", 0o755)
