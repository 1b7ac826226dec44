"""A notebook's session with the Python API, against a real repository and
a real Docker run: upload, run, wait, read a typed results table, and the
HTML a notebook shows.  Also what the API shares with the command line."""

from __future__ import annotations

import datetime
import json
import subprocess

import pytest

import cl
from tests.conftest import cl_env, tree
from tests.runs.helpers import stop_workers

TRAIN = (
    "printf 'epoch\\tloss\\n1\\t0.9\\n2\\t0.4\\n' > log.tsv && "
    "printf '{\"accuracy\": 0.875, \"epochs\": 2, \"tag\": \"small\"}' > stats.json && "
    "wc -l < params > nparams"
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    yield tmp_path
    stop_workers(tmp_path / "nb")


def test_a_notebook_session(workdir, docker_engine, busybox_image):
    tree(workdir, {"params.txt": "lr=0.1\nbatch=32\n"})
    repo = cl.init("nb")
    params = repo.upload("params.txt", name="params", tags=["config"])
    assert isinstance(params, cl.Bundle) and not isinstance(params, cl.Run)
    assert params.kind == "dataset" and params.state == "ready" and params.metadata["tags"] == ["config"]

    run = repo.run(TRAIN, deps={"params": params}, image=busybox_image, name="train")
    assert isinstance(run, cl.Run) and not run.reused
    assert run.wait(timeout=300) is run
    assert run.state == "ready" and run.failure is None
    assert run.read_text("nparams").strip() == "2"

    ws = repo.worksheet()
    ws.add(text="## Results\n% schema results\n% add name\n% add accuracy /stats.json:accuracy\n"
                "% add epochs /stats.json:epochs\n% add tag /stats.json:tag\n% add lines /nparams\n"
                "% add created\n% add state\n% display table results")
    ws.add(run)
    table = ws.table("results")
    assert table.headers == ("name", "accuracy", "epochs", "tag", "lines", "created", "state")
    assert list(table.bundles) == [params.id, run.id]
    row = table.records()[1]
    assert row["accuracy"] == 0.875 and isinstance(row["accuracy"], float)
    assert row["epochs"] == 2 and isinstance(row["epochs"], int)
    assert row["lines"] == 2 and isinstance(row["lines"], int)  # a number read from a file
    assert row["tag"] == "small" and row["state"] == "ready"
    assert isinstance(row["created"], datetime.datetime) and row["created"].tzinfo is not None
    assert table.records()[0]["accuracy"] is None  # the dataset has no stats.json
    assert table.column("name") == ["params", "train"]

    # what a notebook shows
    page = ws._repr_html_()
    assert "<h2>Results</h2>" in page and "0.875" in page and "<!DOCTYPE" not in page
    assert '<td class="num">0.875</td>' in table._repr_html_()
    assert "<th>state</th><td>ready</td>" in run._repr_html_()

    # the same repository through the command line
    listed = subprocess.run(["cl", "ls", "--json"], cwd=workdir / "nb", env=cl_env({"HOME": workdir}),
                            capture_output=True, text=True, check=True)
    # the run is on the worksheet twice (where it was made, and added under the table): listed twice, as CodaLab does
    assert [r["name"] for r in json.loads(listed.stdout)] == ["params", "train", "train"]

    # memoized: the identical finished run comes back
    again = repo.run(TRAIN, deps={"params": params}, image=busybox_image, name="train", memoize=True)
    assert again == run and again.reused
    rerun = repo.rerun(run, name="train-again").wait(timeout=300)
    assert rerun != run and rerun.state == "ready" and rerun.read_text("nparams").strip() == "2"
    repo.close()


def test_to_pandas(workdir, docker_engine, busybox_image):
    pandas = pytest.importorskip("pandas")
    repo = cl.init("nb")
    run = repo.run("echo 3 > n", image=busybox_image, name="three").wait(timeout=300)
    ws = repo.worksheet()
    ws.add(text="% schema s\n% add name\n% add n /n\n% display table s")
    ws.add(run)
    frame = ws.table("s").to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert frame.loc[run.id, "n"] == 3 and list(frame.columns) == ["name", "n"]


def test_waiting_has_a_deadline_and_runs_can_be_killed(workdir, docker_engine, busybox_image):
    repo = cl.init("nb")
    run = repo.run("sleep 600", image=busybox_image, name="slow")
    with pytest.raises(cl.WaitTimeout):
        run.wait(timeout=1)
    run.kill()
    run.wait(timeout=300)
    assert run.state == "killed" and "killed" in (run.failure or "")


def test_open_walks_up_and_errors_are_clerrors(workdir):
    repo = cl.init("nb")
    tree(workdir / "nb", {"sub": {"deeper": {}}})
    with cl.open(workdir / "nb" / "sub" / "deeper") as found:
        assert found.root == repo.root
    with pytest.raises(cl.NotARepository):
        cl.open(workdir)
    with pytest.raises(cl.SpecError):
        repo.bundle("nothing-here")
    with pytest.raises(cl.CLError, match="already a cl repository"):
        cl.init("nb")
    with pytest.raises(cl.UsageError):
        repo.run("true", request={"colour": "blue"})
    repo.close()


def test_graphs(workdir):
    tree(workdir, {"a.txt": "a\n"})
    repo = cl.init("nb")
    a = repo.upload("a.txt")
    made = repo.make(deps={"x": a, "y": a}, name="both")
    up = repo.ancestors(made)
    assert {n["name"] for n in up.nodes} == {"a.txt", "both"}
    assert sorted(e["key"] for e in up.edges) == ["x", "y"]
    assert up.to_json()["direction"] == "ancestors" and "digraph" in up.to_dot()
    assert "both" in str(repo.descendants(a)) and "flowchart" in up.to_mermaid()
    assert repo.info(made)["kind"] == "make" and made.read_text("x") == "a\n"
    repo.close()


def test_mimic_macro_and_edit_without_runs(workdir):
    tree(workdir, {"a.txt": "a\n", "b.txt": "b\n"})
    repo = cl.init("nb")
    a, b = repo.upload("a.txt"), repo.upload("b.txt")
    made = repo.make(deps={"x": a}, name="made")
    [again] = repo.mimic(a, b, name="made-b")
    assert again.name == "made-b-made" and again.read_text("x") == "b\n" and again.kind == "make"
    repo.edit(a, name="sort-in1")
    repo.edit(made, name="sort-out", tags=["macro"])
    assert made.name == "sort-out" and made.metadata["tags"] == ["macro"]
    [out] = repo.macro("sort", b, name="sorted-b")
    assert out.name == "sorted-b" and out.read_text("x") == "b\n"
    with pytest.raises(cl.UsageError, match="not a run"):
        repo.rerun(made)
    repo.close()


def test_reading_files(workdir):
    tree(workdir, {"d": {"sub": {"f.txt": "f\n"}, "b.bin": b"\x00\xff"}})
    repo = cl.init("nb")
    d = repo.upload("d")
    assert d.read_text("sub/f.txt") == "f\n" and d.read_bytes("b.bin") == b"\x00\xff"
    with pytest.raises(cl.InputError, match="is a directory"):
        d.open("sub")
    with pytest.raises(cl.CLError, match="no such file"):
        d.open("nope")
    with pytest.raises(cl.CLError, match="escapes"):
        d.open("../x")
    assert d.download(workdir / "copy") == str(workdir / "copy")
    assert (workdir / "copy" / "sub" / "f.txt").read_text() == "f\n"
    with pytest.raises(cl.InputError, match="already exists"):
        d.download(workdir / "copy")
    repo.close()


def test_the_api_returns_what_json_prints(workdir):
    """--json and the API give the same values (docs/api.md, JSON shapes)."""
    tree(workdir, {"a.txt": "a\n"})
    repo = cl.init("nb")
    a = repo.upload("a.txt")
    made = repo.make(deps={"x": a}, name="made")

    def cl_json(*args: str):
        done = subprocess.run(["cl", *args, "--json"], cwd=workdir / "nb", env=cl_env({"HOME": workdir}),
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    assert cl_json("ls") == repo.ls()
    assert cl_json("info", "made") == json.loads(json.dumps(repo.info(made)))
    assert cl_json("info", "-v", "made") == json.loads(json.dumps(repo.info(made, verbose=True)))
    assert cl_json("ancestors", "made") == repo.ancestors(made).to_json()
    assert cl_json("descendants", "a.txt") == repo.descendants(a).to_json()
    copy = cl.clone(workdir / "nb", workdir / "copy")
    copy.worksheet().add(text="hello")
    assert copy.push().to_json()["rejected"] is False
    copy.close()
    repo.close()
