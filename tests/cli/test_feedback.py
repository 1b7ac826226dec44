"""Feedback on long work, driven through the real `cl`: under a
pseudo-terminal push, pull, clone and upload draw a progress line with
bytes and a rate, and run -W keeps a status line; through a pipe none of
that appears.  A failed run's last stderr lines and the command for the
rest reach stderr either way."""

import os
import pty
import select
import subprocess

import pytest

from tests.conftest import CL, cl_env

RATE = ("MB/s", "kB/s", "GB/s", "?")  # rich shows '?' until it has two samples


def run_pty(args, cwd, env=None, until=None, then=None, timeout=120):
    """Run `cl ARGS` with a pseudo-terminal as stdin, stdout and stderr;
    (exit code, everything it wrote).  When the output first contains
    `until`, `then()` is called (to let a waiting run go on)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([CL, *map(str, args)], cwd=cwd, env=cl_env(env), stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    quiet = 0.0
    try:
        while True:
            # a worker that `cl run` started keeps the terminal open: stop
            # once `cl` has exited and nothing more is waiting to be read
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready and proc.poll() is not None:
                break
            quiet = 0.0 if ready else quiet + 0.2
            if not ready and quiet < timeout:
                continue
            if not ready:
                raise AssertionError(f"`cl {' '.join(map(str, args))}` wrote nothing for {timeout}s:\n"
                                     f"{out.decode(errors='replace')}")
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the far side closed
                break
            if not data:
                break
            out += data
            if until is not None and until.encode() in out:
                then()
                until = None
    finally:
        os.close(master)
        code = proc.wait(timeout=timeout)
    return code, out.decode("utf-8", "replace")


@pytest.fixture
def filled(tmp_path, cl):
    """A project with a 3 MB file and a few small ones, and an empty `dst`
    as its origin."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    for d in (src, dst):
        d.mkdir()
        cl(["init"], d)
    (src / "big.bin").write_bytes(os.urandom(3 << 20))
    for i in range(5):
        (src / f"f{i}.txt").write_text(f"{i}\n")
    cl(["upload", "big.bin", "f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt"], src)
    cl(["remote", "add", "origin", dst], src)
    return src, dst


def progress_line(out: str, phase: str) -> bool:
    """A line of the bar for `phase` showing objects, bytes of the 3 MB
    and a rate column."""
    lines = [line for line in out.replace("\r", "\n").splitlines() if phase in line]
    return any("objects" in line and "MB" in line and any(r in line for r in RATE) for line in lines)


def test_push_pull_and_clone_show_progress_on_a_terminal(tmp_path, cl, cl_home, filled):
    src, dst = filled
    env = {"HOME": cl_home}
    code, out = run_pty(["push"], src, env)
    assert code == 0, out
    assert progress_line(out, "sending"), out
    assert "3.1/3.1 MB" in out and "push origin:" in out

    code, out = run_pty(["clone", src, tmp_path / "copy"], tmp_path, env)
    assert code == 0, out
    assert progress_line(out, "receiving"), out

    third = tmp_path / "third"
    third.mkdir()
    cl(["init"], third)
    cl(["remote", "add", "origin", src], third)
    code, out = run_pty(["pull", "origin", "src"], third, env)
    assert code == 0, out
    assert progress_line(out, "receiving"), out


def test_nothing_of_it_through_a_pipe(tmp_path, cl, filled):
    src, _ = filled
    done = cl(["push"], src)
    assert "sending" not in done.stderr and "objects sent" in done.stderr
    assert "\x1b" not in done.stderr + done.stdout
    done = cl(["clone", src, tmp_path / "copy"], tmp_path)
    assert "receiving" not in done.stderr and "\x1b" not in done.stderr + done.stdout


def test_upload_of_a_large_file_shows_bytes_on_a_terminal(tmp_path, cl, cl_home, project):
    (project / "large.bin").write_bytes(os.urandom(70 << 20))  # bars start at 64 MiB
    code, out = run_pty(["upload", "large.bin"], project, {"HOME": cl_home})
    assert code == 0, out
    assert any("uploading" in line and "MB" in line for line in out.replace("\r", "\n").splitlines()), out
    done = cl(["upload", "large.bin"], project)
    assert "uploading" not in done.stderr and "\x1b" not in done.stderr


def test_waiting_shows_the_run_state_and_a_failure_its_stderr(project, cl, cl_home):
    """`cl run -W` on a terminal keeps a status line while the run goes; a
    failed run's last stderr lines and the command for the rest reach
    stderr, on a terminal and through a pipe alike (`cl wait`).  The worker
    is started on its own: one that `cl run` starts would hold the
    terminal open."""
    from tests.runs.helpers import configure, start_worker, stop_workers
    configure(project, executor="local", auto_worker=False)
    start_worker(project, "--executor", "local")
    try:
        code, out = run_pty(["run", "echo oops >&2; sleep 2; exit 3", "-W"], project,
                            env={"HOME": cl_home})
        assert code != 0
        assert "running 0:0" in out
        assert "last lines of the run's stderr" in out and "oops" in out and "/stderr" in out
        done = cl(["wait", "^"], project, check=False)
        assert done.returncode != 0 and "running 0:" not in done.stderr
        assert "oops" in done.stderr and "/stderr" in done.stderr
    finally:
        stop_workers(project)
