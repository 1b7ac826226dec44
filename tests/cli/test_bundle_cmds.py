"""The everyday commands as a user types them: init (walking up, --bare,
CODALAB_DIR), status, ls, info (-v, -r, -f args and re-running it, --json),
cat (--head, --tail, directory listings), download (-o, -f, writable
copies) and search."""

import json
import os
import stat
import subprocess

import pytest

from cl.bundles.upload import UploadRequest, upload

from tests.cli.test_errors import add, add_make, one_line_error, opened, snapshot
from tests.conftest import Exec, Link, cl_env, tree


def test_init_dir_bare_and_walking_up(tmp_path, cl):
    done = cl(["init", "proj", "-w", "first"], tmp_path)
    assert done.stdout.splitlines() == [f"Initialized empty cl repository in {tmp_path / 'proj' / '.codalab'}",
                                        "Current worksheet: first"]
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("from deep down\n")
    cl(["upload", "x.txt"], deep)
    assert cl(["cat", "x.txt"], tmp_path / "proj").stdout == "from deep down\n"
    st = json.loads(cl(["status", "--json"], deep).stdout)
    assert (st["repository"], st["worksheet"]) == (str(tmp_path / "proj" / ".codalab"), "first")
    # a bare repository is the directory itself; CODALAB_DIR points at it from anywhere
    cl(["init", "--bare", "store"], tmp_path)
    # no gc.lock yet: a bare store has no worksheet, so nothing was written
    assert sorted(os.listdir(tmp_path / "store")) == ["checkouts", "config.toml", "objects", "repo.db", "runs", "tmp"]
    env = {"CODALAB_DIR": tmp_path / "store"}
    cl(["upload", "-c", "in the bare store", "-n", "bare"], deep, env=env)
    assert cl(["cat", "bare"], tmp_path, env=env).stdout == "in the bare store"
    assert cl(["ls", "-u"], deep).stdout.count("\n") == 1  # the project did not get it
    # a bare repository has no worksheet of its own (its HEAD follows pushes)
    assert json.loads(cl(["status", "--json"], tmp_path, env=env).stdout)["worksheet"] is None


def test_init_names_the_default_worksheet_after_the_directory(tmp_path, cl):
    cl(["init", "my project!"], tmp_path)
    assert json.loads(cl(["status", "--json"], tmp_path / "my project!").stdout)["worksheet"] == "my-project"


@pytest.fixture
def three(project):
    tree(project, {"a.txt": "1\n2\n3\n4\n5\n", "d": {"run.sh": Exec("#!/bin/sh\necho hi\n"),
                                                    "sub": {"deep.txt": "deep\n"}, "ln": Link("run.sh")}})
    ids = [add(project, "a.txt", description="lines", tags=("t1",)), add(project, "d", kind="program"),
           add_make(project, "src:d/sub", "txt:a.txt", name="bundle-of-both")]
    return project, ids


def test_ls_newest_last(three, cl):
    project, ids = three
    text = cl(["ls"], project).stdout.splitlines()
    assert text[0] == f"worksheet: {project.name}"
    assert text[1].split() == ["id", "name", "kind", "state", "size", "created", "command"]
    assert [line.split()[:4] for line in text[2:]] == [
        [ids[0][:10], "a.txt", "dataset", "ready"], [ids[1][:10], "d", "program", "ready"],
        [ids[2][:10], "bundle-of-both", "make", "ready"]]
    assert cl(["ls", "-u"], project).stdout.split() == ids
    recs = json.loads(cl(["ls", "--json"], project).stdout)
    assert [(r["id"], r["name"], r["data_size"]) for r in recs] == [
        (ids[0], "a.txt", 10), (ids[1], "d", 29), (ids[2], "bundle-of-both", 15)]
    assert cl(["ls", "-w", project.name, "-u"], project).stdout.split() == ids


def test_info_views(three, cl):
    project, ids = three
    text = cl(["info", "a.txt"], project).stdout
    for line in (f"id: {ids[0]}", "name: a.txt", "kind: dataset", "state: ready", "description: lines",
                 "tags: t1", "data_size: 10"):
        assert line in text.splitlines(), line
    verbose = cl(["info", "-v", "d"], project).stdout
    assert "contents:" in verbose and "dependents:" in verbose
    assert f"bundle-of-both({ids[2][:10]}) as src" in verbose
    assert f"worksheets: {project.name}" in verbose
    made = cl(["info", "bundle-of-both"], project).stdout
    assert f"  src: d({ids[1][:10]})/sub" in made and f"  txt: a.txt({ids[0][:10]})" in made
    raw = json.loads(cl(["info", "-r", "d"], project).stdout)
    assert {e["name"]: e["type"] for e in raw["listing"]} == {"ln": "link", "run.sh": "executable", "sub": "directory"}
    assert raw["dependents"] == [{"bundle": ids[2], "key": "src", "name": "bundle-of-both"}]
    recs = json.loads(cl(["info", "--json", "^1-3"], project).stdout)
    assert [r["id"] for r in recs] == list(reversed(ids))
    assert cl(["info", "-f", "name,kind,tags,data_size", "^3", "^2"], project).stdout.splitlines() == [
        "a.txt\tdataset\tt1\t10", "d\tprogram\t\t29"]


def test_info_args_reruns_the_command(project, cl):
    cl(["upload", "-c", "text with 'quotes' and spaces", "-n", "quoted", "--tags", "x y"], project)
    args = cl(["info", "-f", "args", "^"], project).stdout.strip()
    assert args == "upload -c 'text with '\"'\"'quotes'\"'\"' and spaces' -n quoted --tags 'x y'"
    subprocess.run("cl info -f args ^ | xargs cl", shell=True, cwd=project, env=cl_env({"HOME": cl.home}),
                   check=True, capture_output=True)
    first, second = json.loads(cl(["info", "--json", "^2", "^"], project).stdout)
    assert first["id"] != second["id"]
    for key in ("name", "tags", "contents", "args"):
        assert first[key] == second[key]


def test_cat(three, cl):
    project, ids = three
    assert cl(["cat", "a.txt"], project).stdout == "1\n2\n3\n4\n5\n"
    assert cl(["cat", "a.txt", "--head", "2"], project).stdout == "1\n2\n"
    assert cl(["cat", "a.txt", "--tail", "2"], project).stdout == "4\n5\n"
    assert cl(["cat", "a.txt", "--head", "0"], project).stdout == ""
    assert cl(["cat", "d"], project).stdout.splitlines() == [
        "name    size  type", "ln      6     link", "run.sh  18    executable", "sub     5     directory"]
    assert cl(["cat", "bundle-of-both/src"], project).stdout.splitlines()[1].split() == ["deep.txt", "5", "file"]
    assert cl(["cat", "bundle-of-both/txt", "--tail", "1"], project).stdout == "5\n"


def test_download(three, cl):
    project, ids = three
    where = project / "downloads"
    where.mkdir()
    assert cl(["download", "d"], where).stdout.strip() == str(where / "d")
    got = where / "d"
    assert (got / "sub" / "deep.txt").read_text() == "deep\n"
    assert os.readlink(got / "ln") == "run.sh"
    assert stat.S_IMODE(os.stat(got / "run.sh").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(got / "sub" / "deep.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(got / "sub").st_mode) & 0o200  # writable copies
    (got / "sub" / "deep.txt").write_text("changed by the user\n")
    before = snapshot(project)
    line = one_line_error(cl(["download", "d"], where, check=False))
    assert line == "cl: 'd' already exists (use -f to overwrite)"
    assert snapshot(project) == before
    cl(["download", "d", "-f"], where)
    assert (got / "sub" / "deep.txt").read_text() == "deep\n"
    cl(["download", "d/sub/deep.txt"], where)
    assert (where / "deep.txt").read_text() == "deep\n"
    cl(["download", "a.txt", "-o", where / "copy.txt"], project)
    assert (where / "copy.txt").read_text() == "1\n2\n3\n4\n5\n"
    assert stat.S_IMODE(os.stat(where / "copy.txt").st_mode) == 0o644
    assert sorted(os.listdir(where)) == ["copy.txt", "d", "deep.txt"]


def test_search(three, cl):
    project, ids = three
    with opened(project) as repo:
        extra = [upload(repo, UploadRequest(text=f"n{i}", name=f"num-{i}")).display for i in range(12)]
        floater = upload(repo, UploadRequest(text="on no worksheet", name="floater", worksheet=""))

    def ids_of(*keywords):
        return cl(["search", *keywords, "-u"], project).stdout.split()

    assert ids_of("num-1") == [extra[1], extra[10], extra[11]]
    assert ids_of("name=num-1") == [extra[1]]
    assert ids_of("name=num-1%") == [extra[1], extra[10], extra[11]]
    assert ids_of("kind=program") == [ids[1]]
    assert ids_of("kind=make", "state=ready") == [ids[2]]
    assert ids_of("state=failed") == []
    assert ids_of(ids[1][:8]) == [ids[1]]
    assert ids_of(f"id={ids[1]}") == [ids[1]]
    # the newest ten by default, newest last; .limit changes that
    assert ids_of() == extra[3:] + [floater.display]
    assert ids_of(".limit=3") == extra[-2:] + [floater.display]
    assert ids_of(".limit=100") == ids + extra + [floater.display]
    assert cl(["search", ".count"], project).stdout.strip() == "16"
    assert cl(["search", "name=num%", ".count"], project).stdout.strip() == "12"
    assert ids_of(".floating") == ids_of(".orphan") == [floater.display]
    assert ids_of(".floating", "kind=make") == []
    recs = json.loads(cl(["search", "name=num-3", "--json"], project).stdout)
    assert [(r["id"], r["name"], r["kind"], r["state"]) for r in recs] == [(extra[3], "num-3", "dataset", "ready")]
    table = cl(["search", "kind=program"], project).stdout.splitlines()
    assert table[1].split()[:3] == [ids[1][:10], "d", "program"]
