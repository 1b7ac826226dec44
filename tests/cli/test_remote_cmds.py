"""The sharing commands end to end through the real `cl`: remotes and
aliases, per-ref reports and exit 3 on rejection, cp and wadd, a queued
run pushed to a repository whose worker executes it."""

import pytest


@pytest.fixture
def origin(tmp_path, cl):
    path = tmp_path / "origin"
    path.mkdir()
    cl(["init"], path)
    (path / "a.txt").write_text("3\n1\n2\n")
    cl(["upload", "a.txt"], path)
    return path


def test_remote_add_ls_rm_and_alias(project, cl, origin):
    cl(["remote", "add", "up", str(origin)], project)
    cl(["alias", "ex", "http://example.com:2800"], project)
    listing = cl(["remote", "ls"], project).stdout
    assert f"up\t{origin}" in listing and "ex\thttp://example.com:2800" in listing
    assert cl(["alias", "ex"], project).stdout.strip() == "http://example.com:2800"
    cl(["remote", "rm", "ex"], project)
    assert "ex" not in cl(["remote", "ls"], project).stdout
    done = cl(["remote", "rm", "ex"], project, check=False)
    assert done.returncode == 1 and done.stderr.strip() == "cl: no such remote: 'ex'"
    done = cl(["push"], project, check=False)
    assert done.returncode == 1 and "no remote named 'origin'" in done.stderr


def test_rejected_push_exits_3(tmp_path, cl, origin):
    other = tmp_path / "elsewhere" / "origin"  # a different worksheet with the same name
    other.mkdir(parents=True)
    cl(["init"], other)
    cl(["remote", "add", "origin", str(origin)], other)
    done = cl(["push"], other, check=False)
    assert done.returncode == 3
    assert "worksheet origin: rejected: a different worksheet named 'origin' exists here" in done.stdout
    assert "a.txt" in cl(["ls"], origin).stdout  # nothing changed there


def test_cp_and_wadd(tmp_path, cl, origin):
    clone = tmp_path / "clone"
    cl(["clone", origin, clone], tmp_path)
    cl(["new", "scratch"], clone)
    out = cl(["cp", "origin::a.txt", "scratch"], clone).stdout
    assert "added to worksheet scratch" in out
    (clone / "b.txt").write_text("b\n")
    cl(["upload", "b.txt"], clone)
    cl(["cp", "b.txt", "origin::origin"], clone)
    assert "b.txt" in cl(["ls"], origin).stdout
    cl(["new", "copy"], origin)
    out = cl(["wadd", "origin::scratch", "origin::copy"], clone, check=False)
    assert out.returncode != 0 and "no worksheet on remote 'origin' matches" in out.stderr
    cl(["wadd", "origin", "origin::copy"], clone)
    assert cl(["ls", "-w", "copy"], origin).stdout.count("txt") == 2


def test_pushed_run_is_executed_remotely(tmp_path, cl, origin):
    clone = tmp_path / "clone"
    cl(["clone", origin, clone], tmp_path)
    cl(["config", "run.auto_worker", "false"], clone)
    run_id = cl(["run", "-n", "count", ":a.txt", "wc -l < a.txt > count"], clone).stdout.strip()
    assert "created" in cl(["info", "count", "-f", "state"], clone).stdout
    assert "count: ok" in cl(["push"], clone).stdout
    cl(["worker", "--exit-when-idle", "--executor", "local"], origin)
    assert cl(["info", run_id, "-f", "state"], origin).stdout.strip() == "ready"
    assert "count: ok" in cl(["pull"], clone).stdout
    assert cl(["info", "count", "-f", "state"], clone).stdout.strip() == "ready"
    assert cl(["cat", "count/count"], clone).stdout.strip() == "3"


def test_remote_qualified_specs_read_without_copying(tmp_path, cl, origin):
    data = origin / "data"
    data.mkdir()
    (data / "x.txt").write_text("x marks\n")
    cl(["upload", "data"], origin)
    here = tmp_path / "here"
    here.mkdir()
    cl(["init"], here)
    cl(["remote", "add", "up", origin], here)
    assert cl(["info", "up::a.txt", "-f", "name,data_size"], here).stdout == "a.txt\t6\n"
    assert cl(["cat", "up::data/x.txt"], here).stdout == "x marks\n"
    assert cl(["cat", "up::origin//a.txt"], here).stdout == "3\n1\n2\n"
    listing = cl(["ls", "-w", "up::origin"], here).stdout
    assert listing.startswith("worksheet: origin") and "a.txt" in listing and "data" in listing
    printed = cl(["print", "up::origin"], here).stdout
    assert printed.startswith("== origin ==") and "a.txt" in printed and "data" in printed
    assert cl(["print", "-r", "up::origin@2"], here).stdout.startswith("[dataset a.txt]{0x")
    assert cl(["print", "-r", "up::origin@1"], here).stdout == ""  # as `cl init` made it
    assert "a.txt" in cl(["print", "--html", "up::origin"], here).stdout
    versions = cl(["wlog", "up::origin"], here).stdout.splitlines()
    assert [line.split()[0] for line in versions] == ["version", "@3", "@2", "@1"]
    done = cl(["print", "up::nonesuch"], here, check=False)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "nonesuch" in done.stderr
    done = cl(["cat", "up::nothing"], here, check=False)
    assert done.returncode != 0 and "no bundle on remote 'up' matches" in done.stderr
    assert "a.txt" not in cl(["ls"], here).stdout  # nothing was copied here
    objects = [p for p in (here / ".codalab" / "objects").rglob("*") if p.is_file()]
    assert len(objects) <= 2  # only the worksheet `cl init` made: its commit (and nothing pulled)
