"""`cl ancestors`, `cl descendants`, `cl mimic`, `cl macro`, `cl rerun` and
`cl run -m`, driven through the real console script with real runs (a
local-executor worker of the project's own; one test with Docker)."""

import json

import pytest

from tests.conftest import run_cl, tree
from tests.runs.helpers import bid_of, configure, repo_of, start_worker, stop_workers


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("provenance") / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, auto_worker=False, executor="local")
    tree(project, {"cnn.py": "print('F1 score: 0.89231')\n", "mnist": {"train.dat": "1\n", "test.dat": "2\n"},
                   "a.txt": "5\n2\n9\n", "b.txt": "6\n3\n8\n", "c.txt": "4\n1\n"})
    start_worker(project, "--executor", "local")
    yield project
    stop_workers(project)


def cl(project, *args, check=True, input=None):
    return run_cl(list(args), project, check=check, input=input)


def short(full: str) -> str:
    return full.strip()[:8]


def upload(project, path, *more):
    return cl(project, "upload", path, *more).stdout.strip()


def state_of(project) -> tuple:
    """What a refused command must leave alone: every bundle head and
    worksheet head."""
    repo = repo_of(project)
    try:
        return (repo.db.execute("SELECT id, head FROM bundles ORDER BY id").fetchall(),
                repo.db.execute("SELECT wid, head FROM worksheets ORDER BY wid").fetchall())
    finally:
        repo.close()


@pytest.fixture(scope="module")
def exp2(project):
    cnn = upload(project, "cnn.py")
    mnist = upload(project, "mnist")
    run = cl(project, "run", "cnn.py:" + cnn[:8], "data:" + mnist[:8], "--name", "exp2",
             "python3 cnn.py data/train.dat data/test.dat", "-W")
    return dict(cnn=cnn, mnist=mnist, exp2="0x" + bid_of(run))


def test_ancestors_prints_the_tasks_nested_list(project, exp2):
    out = cl(project, "ancestors", short(exp2["exp2"])).stdout
    assert out == (f"- exp2({exp2['exp2'][:8]})\n"
                   f"  - cnn.py: cnn.py({exp2['cnn'][:8]})\n"
                   f"  - data: mnist({exp2['mnist'][:8]})\n")
    assert cl(project, "cat", "exp2/stdout").stdout == "F1 score: 0.89231\n"


def test_descendants_depth_and_see_above(project, exp2):
    both = cl(project, "run", "m:exp2", "d:mnist", "--name", "report", "cat m/stdout > r; ls d > l", "-W")
    report = "0x" + bid_of(both)
    out = cl(project, "descendants", "mnist").stdout.splitlines()
    assert out == [f"- mnist({exp2['mnist'][:8]})",
                   f"  - data: exp2({exp2['exp2'][:8]})",
                   f"    - m: report({report[:8]})",
                   f"  - d: report({report[:8]}) (see above)"]
    shallow = cl(project, "descendants", "mnist", "--depth", "1").stdout.splitlines()
    assert shallow == [f"- mnist({exp2['mnist'][:8]})",
                       f"  - data: exp2({exp2['exp2'][:8]}) ...",
                       f"  - d: report({report[:8]})"]
    up = cl(project, "ancestors", "report").stdout.splitlines()
    assert up == [f"- report({report[:8]})",
                  f"  - d: mnist({exp2['mnist'][:8]})",
                  f"  - m: exp2({exp2['exp2'][:8]})",
                  f"    - cnn.py: cnn.py({exp2['cnn'][:8]})",
                  f"    - data: mnist({exp2['mnist'][:8]}) (see above)"]


def test_graph_forms_for_scripts_and_drawing(project, exp2):
    doc = json.loads(cl(project, "ancestors", "exp2", "--json").stdout)
    assert doc["root"] == exp2["exp2"] and doc["direction"] == "ancestors"
    assert {(e["parent"], e["key"]) for e in doc["edges"]} == {(exp2["cnn"], "cnn.py"), (exp2["mnist"], "data")}
    assert {n["name"] for n in doc["nodes"]} == {"exp2", "cnn.py", "mnist"}
    dot = cl(project, "ancestors", "exp2", "--dot").stdout
    assert dot.startswith("digraph ancestors {") and f'"{exp2["cnn"]}" -> "{exp2["exp2"]}" [label="cnn.py"];' in dot
    mer = cl(project, "descendants", "cnn.py", "--mermaid").stdout
    assert mer.startswith("flowchart LR\n") and 'n0 -->|"cnn.py"| n1' in mer
    bad = cl(project, "ancestors", "exp2", "--json", "--dot", check=False)
    assert bad.returncode != 0 and bad.stderr == "cl: choose one of --json, --dot, --mermaid\n"


def test_same_answers_after_reindex(project, exp2):
    queries = [("ancestors", "exp2"), ("descendants", "mnist"), ("ancestors", "exp2", "--json"),
               ("descendants", "cnn.py", "--dot")]
    before = [cl(project, *q).stdout for q in queries]
    cl(project, "reindex")
    assert [cl(project, *q).stdout for q in queries] == before


def test_the_readmes_mimic_and_macro(project):
    upload(project, "a.txt")
    upload(project, "b.txt")
    upload(project, "c.txt")
    cl(project, "run", "input:a.txt", "--name", "sort-run", "sort -n input > output", "-W")
    cl(project, "make", "sort-run/output", "--name", "a-sorted.txt")
    dry = cl(project, "mimic", "a.txt", "a-sorted.txt", "b.txt", "--name", "b-sorted.txt", "-i")
    run_id = cl(project, "info", "-f", "id", "sort-run").stdout.strip()
    made_id = cl(project, "info", "-f", "id", "a-sorted.txt").stdout.strip()
    # the plan goes to stderr (as CodaLab's); a dry run creates nothing, so prints no id
    assert dry.stdout == ""
    assert dry.stderr == (f"sort-run({run_id[:8]}) => b-sorted.txt-sort-run\n"
                          f"a-sorted.txt({made_id[:8]}) => b-sorted.txt\n")
    assert "b-sorted.txt" not in cl(project, "ls").stdout
    done = cl(project, "mimic", "a.txt", "a-sorted.txt", "b.txt", "--name", "b-sorted.txt")
    lines = done.stderr.splitlines()
    assert [line.split(" => ")[1].split("(")[0] for line in lines] == ["b-sorted.txt-sort-run", "b-sorted.txt"]
    # stdout holds only the new ids, the output last: `$(cl mimic …)` works in a script
    new_ids = done.stdout.split()
    assert new_ids == [cl(project, "info", "-f", "id", n).stdout.strip()
                       for n in ("b-sorted.txt-sort-run", "b-sorted.txt")]
    assert [f"(0x{i[2:8]})" in line for i, line in zip(new_ids, lines)] == [True, True]
    assert cl(project, "cat", "b-sorted.txt").stdout == "3\n6\n8\n"
    up = cl(project, "ancestors", "b-sorted.txt").stdout.splitlines()
    assert up[1].startswith("  - b-sorted.txt-sort-run(") and up[1].endswith(")/output")
    assert up[2].startswith("    - input: b.txt(")
    # the same thing as a macro
    cl(project, "edit", "a.txt", "--name", "sort-in1")
    cl(project, "edit", "a-sorted.txt", "--name", "sort-out")
    applied = cl(project, "macro", "sort", "c.txt", "--name", "c-sorted.txt")
    assert cl(project, "cat", "c-sorted.txt").stdout == "1\n4\n"
    assert applied.stdout.split()[-1] == cl(project, "info", "-f", "id", "c-sorted.txt").stdout.strip()
    assert " => c-sorted.txt(" in applied.stderr and "=>" not in applied.stdout
    assert "sort-run" in cl(project, "info", "-f", "name", "c-sorted.txt-sort-run").stdout


def test_rerun_and_memoized_runs(project, exp2):
    again = cl(project, "rerun", "exp2", "--request-memory", "1g", "-n", "exp2-again", "-W")
    new = again.stdout.strip()
    assert new.startswith("0x") and len(new) == 66 and new != exp2["exp2"]
    request = json.loads(cl(project, "info", "-f", "request", new[:10]).stdout)
    assert request["memory"] == 1 << 30
    assert cl(project, "cat", "exp2-again/stdout").stdout == "F1 score: 0.89231\n"
    # the local executor records no image: an identical local run is reused
    reused = cl(project, "rerun", "-m", "exp2")
    assert reused.stdout.strip() == exp2["exp2"]
    assert reused.stderr == f"cl: reused {exp2['exp2']}\n"
    ran = cl(project, "run", "-m", "cnn.py:cnn.py", "data:mnist", "--name", "exp3",
             "python3 cnn.py data/train.dat data/test.dat")
    assert ran.stdout.strip() == exp2["exp2"] and "reused" in ran.stderr
    fresh = cl(project, "run", "-m", "cnn.py:cnn.py", "data:mnist", "python3 cnn.py data/test.dat")
    assert fresh.stdout.strip() != exp2["exp2"] and "reused" not in fresh.stderr


@pytest.mark.parametrize("args, message", [
    (["ancestors", "nosuch"], "cl: no bundle matches: 'nosuch'\n"),
    (["mimic", "nosuch", "exp2", "b.txt"], "cl: no bundle matches: 'nosuch'\n"),
    (["mimic", "b.txt", "exp2", "c.txt"], "cl: 'b.txt' is not an ancestor of 'exp2' within depth 10\n"),
    (["mimic", "mnist", "mnist", "exp2", "b.txt", "c.txt"], "cl: an old input is given twice: 'mnist'\n"),
    (["macro", "nomacro", "b.txt"], "cl: macro 'nomacro' has no output bundle: 'nomacro-out'\n"),
    (["rerun", "b.txt"], "cl: not a run: 'b.txt' is a dataset bundle (cl mimic re-creates makes)\n"),
    (["mimic", "b.txt"], None),
    (["mimic", "exp2", "-n", "bad name"], None),
])
def test_bad_input_is_one_line_and_changes_nothing(project, exp2, args, message):
    upload(project, "b.txt") if not cl(project, "ls").stdout.count(" b.txt ") else None
    upload(project, "c.txt") if not cl(project, "ls").stdout.count(" c.txt ") else None
    before = state_of(project)
    done = cl(project, *args, check=False)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("cl: ") and "Traceback" not in done.stderr
    if message:
        assert done.stderr == message
    assert state_of(project) == before


def test_mimic_pins_the_image_digest_the_old_run_ran_in(tmp_path, docker_engine, busybox_image):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, auto_worker=False, executor="docker", image=busybox_image)
    tree(project, {"x.txt": "x\n", "y.txt": "y\n"})
    worker = start_worker(project, "--executor", "docker")
    try:
        x = upload(project, "x.txt")
        y = upload(project, "y.txt")
        old = bid_of(cl(project, "run", "in:x.txt", "--name", "cp", "cat in > out", "-W"))
        done = cl(project, "mimic", "x.txt", "cp", "y.txt", "-n", "cp-y", "-W")
        assert done.stderr.startswith(f"cp(0x{old[:6]}) => cp-y(0x")
        repo = repo_of(project)
        try:
            from tests.runs.helpers import result_of
            old_image = result_of(repo, old).image
            [new] = [r.id for r in repo.index.by_name("cp-y")]
            assert repo.bundle(new).request["image"] == (old_image.get("digest") or old_image["id"])
            assert result_of(repo, new).image["id"] == old_image["id"]
        finally:
            repo.close()
        assert cl(project, "cat", "cp-y/out").stdout == "y\n"
        again = cl(project, "rerun", "-m", "cp-y")
        assert again.stdout.strip() == "0x" + new and again.stderr == f"cl: reused 0x{new}\n"
        assert x != y
    finally:
        worker.terminate()
        stop_workers(project, docker_engine)
