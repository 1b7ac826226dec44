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
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
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


def test_run_wait_shows_the_stage_and_a_failure_shows_stderr(tmp_path, cl, cl_home, project):
    cl(["config", "run.executor", "local"], project)
    go = tmp_path / "go"
    command = (f"echo first >&2; while [ ! -e {go} ]; do sleep 0.05; done; "
               "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo err$i >&2; done; exit 3")
    code, out = run_pty(["run", "-W", command], project, {"HOME": cl_home},
                        until="running 0:", then=go.touch)
    assert code == 1, out
    assert "running 0:" in out
    text = out.replace("\r", "\n")
    assert "last lines of the run's stderr (all of it: cl cat 0x" in text
    assert "err12" in text and "err3" in text and "first" not in text.split("last lines")[1]
    assert "failed: Exit code 3" in text

    done = cl(["run", "-W", "echo only >&2; exit 2"], project, check=False)  # piped
    assert done.returncode == 1
    assert "running" not in done.stderr and "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    hint = [line for line in lines if line.startswith("last lines of the run's stderr")]
    assert hint and "cl cat 0x" in hint[0] and "/stderr" in hint[0]
    assert "  only" in lines and "failed: Exit code 2" in lines[-1]
    short = hint[0].split("cl cat ")[1].split("/")[0]
    assert cl(["cat", f"{short}/stderr"], project).stdout == "only\n"

    done = cl(["wait", short], project, check=False)
    assert done.returncode == 1 and "  only" in done.stderr.splitlines()
