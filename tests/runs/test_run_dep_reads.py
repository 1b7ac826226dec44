"""Reading a run's dependencies through the run, and downloading a run that
is still going (issue 15): `cl cat RUN/KEY/file` reads the dependency
(finished or live), a live `cl cat RUN` lists the dependencies where the
run sees them, and `cl download RUN` of a running run copies what exists
so far (the dependencies' placeholders left out, as from the result),
never following a link the run swaps in under the copy."""

import os
import time

import pytest

from cl.bundles import read as read_ops
from cl.bundles.specs import Target
from cl.errors import CLError
from cl.objects.ids import ObjectId
from tests.conftest import run_cl, tree
from tests.runs.helpers import bid_of, configure, repo_of, stop_workers, wait_for
from tests.runs.test_live_reads import BOUND, SECRET, SECRET_NAME, swapping_run  # noqa: F401 (fixture)


@pytest.fixture
def with_deps(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", worker_idle="30s")
    tree(project, {"data": {"one.txt": "one\n", "sub": {"s.txt": "deep\n"}}, "solo.txt": "solo\n"})
    run_cl(["upload", "data"], project)
    run_cl(["upload", "solo.txt"], project)
    yield project
    stop_workers(project)


def _listing(text: str) -> dict:
    return {line.split()[0]: line.split()[-1] for line in text.splitlines()[1:]}


def test_a_finished_run_reads_its_dependencies_through_their_keys(with_deps):
    project = with_deps
    bid = bid_of(run_cl(["run", "in:data", "nested/f:solo.txt", "cat in/one.txt > copy", "-W"], project))
    assert run_cl(["cat", f"0x{bid}/copy"], project).stdout == "one\n"
    assert run_cl(["cat", f"0x{bid}/in/sub/s.txt"], project).stdout == "deep\n"
    assert run_cl(["cat", f"0x{bid}/nested/f"], project).stdout == "solo\n"
    assert run_cl(["info", "-f", "/copy,/in/one.txt,/nested/f", f"0x{bid}"], project).stdout == "one\tone\tsolo\n"
    assert set(_listing(run_cl(["cat", f"0x{bid}/in"], project).stdout)) == {"one.txt", "sub"}
    # the result itself holds no dependency, as CodaLab's
    assert "in" not in _listing(run_cl(["cat", f"0x{bid}"], project).stdout)
    run_cl(["download", f"0x{bid}/in", "-o", "got"], project)
    assert (project / "got" / "sub" / "s.txt").read_text() == "deep\n"
    done = run_cl(["cat", f"0x{bid}/in/missing"], project, check=False)
    assert done.returncode == 1 and done.stderr.startswith("cl: ") and "Traceback" not in done.stderr
    # key `.`: the dependency's entries at the top of the run directory
    top = bid_of(run_cl(["run", ".:data", "cat one.txt > copy", "-W"], project))
    assert run_cl(["cat", f"0x{top}/sub/s.txt"], project).stdout == "deep\n"
    assert run_cl(["cat", f"0x{top}/copy"], project).stdout == "one\n"
    # a run reading a run's dependency through it
    chained = bid_of(run_cl(["run", f"up:0x{bid}", "true", "-W"], project))
    assert run_cl(["cat", f"0x{chained}/up/in/one.txt"], project).stdout == "one\n"


def test_a_live_run_shows_and_downloads_what_exists_so_far(with_deps):
    project = with_deps
    bid = bid_of(run_cl(["run", "in:data", "f:solo.txt", "echo out > mine; mkdir o; echo x > o/x; "
                         "ln -s mine lk; touch ready; sleep 60"], project))
    live = project / ".codalab" / "runs" / bid
    try:
        wait_for(lambda: (live / "ready").exists(), "the run to start")
        top = _listing(run_cl(["cat", f"0x{bid}"], project).stdout)
        assert top["in"] == "directory" and top["f"] == "file" and top["lk"] == "link"
        sizes = {line.split()[0]: line.split()[1] for line in run_cl(["cat", f"0x{bid}"], project)
                 .stdout.splitlines()[1:]}
        assert sizes["f"] == "5"  # the dependency's size, not the empty placeholder's
        assert run_cl(["cat", f"0x{bid}/in/sub/s.txt"], project).stdout == "deep\n"
        assert run_cl(["cat", f"0x{bid}/f"], project).stdout == "solo\n"
        run_cl(["download", f"0x{bid}", "-o", "sofar"], project)
        got = project / "sofar"
        assert sorted(os.listdir(got)) == ["lk", "mine", "o", "ready", "stderr", "stdout"]
        assert (got / "mine").read_text() == "out\n" and (got / "o" / "x").read_text() == "x\n"
        assert os.readlink(got / "lk") == "mine"
        assert os.stat(got / "mine").st_mode & 0o200  # writable copies
        done = run_cl(["download", f"0x{bid}", "-o", "sofar"], project, check=False)
        assert done.returncode == 1 and "already exists" in done.stderr
        run_cl(["download", f"0x{bid}/in", "-o", "dep"], project)
        assert (project / "dep" / "one.txt").read_text() == "one\n"
        run_cl(["download", f"0x{bid}/o/x", "-o", "one-file"], project)
        assert (project / "one-file").read_text() == "x\n"
    finally:
        run_cl(["kill", f"0x{bid}"], project, check=False)


def _leaks(root) -> list[str]:
    """What of the secret a downloaded tree holds, looked at without
    following any link in it."""
    found = []
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(here, name)
            if name == SECRET_NAME:
                found.append(path)
            if not os.path.islink(path) and os.path.isfile(path) and SECRET.encode() in open(path, "rb").read():
                found.append(path)
    return found


def test_a_live_run_cannot_make_download_follow_a_swapped_link(swapping_run, tmp_path):  # noqa: F811
    project, bid = swapping_run
    repo = repo_of(project)
    leaked, copied = [], 0
    end = time.monotonic() + BOUND
    try:
        for i in range(300):
            if time.monotonic() > end:
                break
            dest = tmp_path / f"copy{i}"
            try:
                read_ops.download(repo, Target(ObjectId(bid), ""), str(dest))
                copied += 1
            except CLError:
                continue
            leaked += _leaks(dest)
            for path in ("f", "d"):  # a download of just the swapping entry
                try:
                    read_ops.download(repo, Target(ObjectId(bid), path), str(tmp_path / f"one{i}{path}"))
                except CLError:
                    continue
                leaked += _leaks(tmp_path / f"one{i}{path}")
    finally:
        repo.close()
    assert copied > 0
    assert not leaked, f"the secret was copied {len(leaked)} times: {leaked[:5]}"
