"""Errors that say what to do, through the real `cl`: did-you-mean for
commands, options, bundle names, worksheets and remotes; the missing path
of `cl cat`; a run that another repository holds.  (The missing-vs-wrong
token is tests/server/test_server.py::test_wrong_token_refused.)"""

import pytest

from tests.cli.test_errors import one_line_error
from tests.runs.helpers import bid_of, configure, repo_of, start_worker, stop_workers, wait_for


@pytest.fixture
def uploaded(project, cl):
    (project / "a.txt").write_text("alpha\n")
    (project / "d").mkdir()
    (project / "d" / "f.txt").write_text("f\n")
    cl(["upload", "a.txt"], project)
    cl(["upload", "d"], project)
    cl(["new", "experiments"], project)
    return project


def test_a_mistyped_command_gets_the_closest(project, cl):
    done = cl(["uplaod", "a.txt"], project, check=False)
    assert one_line_error(done) == "cl: no such command 'uplaod'; did you mean 'upload' or 'uadd'?"  # closest first
    assert done.returncode == 2
    assert one_line_error(cl(["zzqx"], project, check=False)) == \
        "cl: no such command 'zzqx'; see 'cl --help'"


def test_a_mistyped_option_gets_the_closest(project, cl):
    line = one_line_error(cl(["upload", "--nme", "x", "a.txt"], project, check=False))
    assert line.startswith("cl upload: No such option '--nme'.") and "'--name'" in line, line


def test_a_mistyped_bundle_or_worksheet_gets_the_closest(uploaded, cl):
    assert one_line_error(cl(["info", "a.tx"], uploaded, check=False)) == \
        "cl: no bundle matches: 'a.tx'; did you mean 'a.txt'?"
    assert one_line_error(cl(["work", "experimnets"], uploaded, check=False)) == \
        "cl: no worksheet matches: 'experimnets'; did you mean 'experiments'?"
    # nothing close: no suggestion, the message as before
    assert one_line_error(cl(["info", "zzzzzz"], uploaded, check=False)) == \
        "cl: no bundle matches: 'zzzzzz'"


def test_cat_names_the_missing_path(uploaded, cl):
    assert one_line_error(cl(["cat", "a.txt/nope"], uploaded, check=False)) == \
        "cl: no 'nope' in the bundle: it is one file, not a directory"
    assert one_line_error(cl(["cat", "d/f.txt/x/y"], uploaded, check=False)) == \
        "cl: no 'f.txt/x/y' in the bundle: 'f.txt' is not a directory"
    assert one_line_error(cl(["cat", "d/nope"], uploaded, check=False)) == \
        "cl: no such file or directory in the bundle: 'nope'"


def test_push_to_a_missing_remote_says_so(uploaded, cl, tmp_path):
    done = cl(["push", "nosuchremote"], uploaded, check=False)
    assert one_line_error(done) == ("cl: no such remote: 'nosuchremote', and no worksheet or "
                                    "bundle has that name; add one with 'cl remote add NAME URL'")
    # a bundle name mistyped where a spec was meant gets the bundle
    assert one_line_error(cl(["push", "a.tx"], uploaded, check=False)).endswith(
        "did you mean 'a.txt'?")
    far = tmp_path / "far"
    far.mkdir()
    cl(["init"], far)
    cl(["remote", "add", "origin", str(far)], uploaded)
    for verb in ("push", "pull"):
        line = one_line_error(cl([verb, "orign"], uploaded, check=False))
        assert line.startswith("cl: no such remote: 'orign'") and line.endswith(
            "did you mean 'origin'?"), line
    line = one_line_error(cl(["push", "nosuchremote"], uploaded, check=False))
    assert line.endswith("see 'cl remote ls'"), line
    assert "bundle matches" not in line
    # nothing was sent
    assert "a.txt" not in cl(["ls"], far).stdout


def test_wait_on_a_run_held_by_another_repository(tmp_path, cl):
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init"], origin)
    configure(origin, auto_worker=False, executor="local")
    bid = None
    try:
        start_worker(origin, "--executor", "local")
        bid = bid_of(cl(["run", "-n", "slow", "sleep 600"], origin))
        repo = repo_of(origin)
        try:
            wait_for(lambda: repo.index.bundle(bid).state == "running", "the run to start")
        finally:
            repo.close()
        cl(["clone", origin, tmp_path / "clone"], tmp_path)
        done = cl(["wait", "slow"], tmp_path / "clone", check=False)
        assert one_line_error(done) == (
            f"cl: run slow (0x{bid[:8]}) is running in another repository: no worker of this one "
            "holds it; once it has ended there, 'cl pull origin slow' brings its result here")
        assert done.returncode == 1
    finally:
        if bid is not None:
            cl(["kill", "slow"], origin)  # the worker ends the run's process
            repo = repo_of(origin)
            try:
                wait_for(lambda: repo.index.bundle(bid).state == "killed", "the run to be killed")
            finally:
                repo.close()
        stop_workers(origin)
