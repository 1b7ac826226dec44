"""`cl make` (reuses the target's tree: no bytes copied), `cl edit`
(appends a state; history kept) and `cl rm` (dependents, -r, --force,
-d, -i), through the real console script, checked against the objects and
the index with the library."""

import json

import pytest

from cl.bundles.edit import history
from cl.objects.types import Tree
from cl.repo import Repository
from tests.cli.test_errors import add, add_make, one_line_error, snapshot
from tests.conftest import tree


def objects(project):
    return {p.parent.name + p.name for p in (project / ".codalab" / "objects").glob("??/*")}


def infos(cl, project, *specs):
    out = json.loads(cl(["info", "--json", *specs], project).stdout)
    return out if isinstance(out, list) else [out]


def open_repo(project):
    return Repository.find(str(project))


@pytest.fixture
def data(project):
    tree(project / "d", {"f.txt": "f\n" * 100, "sub": {"g.txt": "g\n"}})
    add(project, "d", name="data")
    return project


# --- make -------------------------------------------------------------------


def test_make_reuses_the_tree(data, cl):
    before = objects(data)
    cl(["make", "data", "-n", "copy"], data)
    new = objects(data) - before
    src, made = infos(cl, data, "data", "copy")
    assert made["contents"] == src["contents"]
    assert made["kind"] == "make"
    assert made["dependencies"] == [{"key": "", "bundle": src["id"], "path": "", "name": "data"}]
    repo = open_repo(data)
    try:
        types = sorted(type(repo.read(oid)).__name__ for oid in new)
    finally:
        repo.close()
    # only the new bundle, its first state and the worksheet's new version
    assert types == ["Bundle", "State", "WorksheetCommit"]  # a chunked commit ([F21])


def test_make_of_a_path_and_of_keyed_targets(data, cl):
    (data / "extra.txt").write_text("extra\n")
    add(data, "extra.txt")
    cl(["make", "data/sub"], data)
    before = objects(data)
    cl(["make", "a:data/sub/g.txt", "b:extra.txt", "whole:data", "-n", "combo"], data)
    new = objects(data) - before
    sub, combo = infos(cl, data, "^2", "combo")
    assert sub["name"] == "sub"
    assert sub["dependencies"][0]["path"] == "sub"
    assert {d["key"]: d["path"] for d in combo["dependencies"]} == {"a": "sub/g.txt", "b": "", "whole": ""}
    listing = cl(["cat", "combo"], data).stdout.split("\n")[1:]
    assert [line.split()[0] for line in listing if line] == ["a", "b", "whole"]
    assert cl(["cat", "combo/a"], data).stdout == "g\n"
    assert cl(["cat", "combo/whole/sub/g.txt"], data).stdout == "g\n"
    repo = open_repo(data)
    try:
        kinds = sorted(type(repo.read(oid)).__name__ for oid in new)
        tree_obj = repo.read(combo["contents"][2:], Tree)
        data_contents = repo.contents(repo.index.by_name("data")[0].id)
    finally:
        repo.close()
    # one new tree naming the targets' existing objects; no blob copied
    assert kinds == ["Bundle", "State", "Tree", "WorksheetCommit"]
    assert tree_obj.get("whole").id == data_contents.id
    assert tree_obj.get("sub") is None


def test_make_errors(data, cl):
    assert "duplicate key" in one_line_error(cl(["make", "k:data", "k:data"], data, check=False))
    assert "no such file" in one_line_error(cl(["make", "data/nothing"], data, check=False))


# --- edit ---------------------------------------------------------------------


def test_edit_appends_states_and_keeps_history(data, cl, tmp_path):
    bid = infos(cl, data, "data")[0]["id"][2:]
    cl(["edit", "data", "-n", "renamed", "-d", "better words"], data)
    cl(["edit", "renamed", "--tags", "a b", "--tags", "c"], data)
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^description:.*/description: from the editor/' \"$1\"\n")
    editor.chmod(0o755)
    cl(["edit", "renamed", "-e"], data, env={"EDITOR": str(editor)})
    rec = infos(cl, data, "renamed")[0]
    assert (rec["name"], rec["description"], rec["tags"]) == ("renamed", "from the editor", ["a", "b", "c"])
    assert one_line_error(cl(["info", "data"], data, check=False)) == "cl: no bundle matches: 'data'"
    repo = open_repo(data)
    try:
        states = history(repo, bid)
        head_ref = repo.refs.get(f"bundles/{bid}")
    finally:
        repo.close()
    assert [s.metadata["name"] for _, s in states] == ["renamed", "renamed", "renamed", "data"]
    assert [s.metadata["description"] for _, s in states] == [
        "from the editor", "better words", "better words", ""]
    assert states[0][0] == head_ref
    for (sid, state), (parent_id, _) in zip(states, states[1:]):
        assert state.parents == (parent_id,)
    assert states[-1][1].parents == ()
    assert all(s.bundle == bid for _, s in states)


# --- rm -----------------------------------------------------------------------


@pytest.fixture
def chain(data):
    """data <- mid <- top, and an unrelated bundle."""
    add_make(data, "data", name="mid")
    add_make(data, "in:mid", name="top")
    add(data, text="alone", name="alone")
    return data


def ls_names(cl, project):
    return [r["name"] for r in json.loads(cl(["ls", "--json"], project).stdout)]


def test_rm_refuses_with_dependents_named(chain, cl):
    before = snapshot(chain)
    line = one_line_error(cl(["rm", "data"], chain, check=False))
    assert "has dependents: mid(0x" in line and "-r" in line
    line = one_line_error(cl(["rm", "data", "mid"], chain, check=False))
    assert "has dependents: top(0x" in line
    assert snapshot(chain) == before


def test_rm_dry_run_changes_nothing(chain, cl):
    ids = [r["id"] for r in infos(cl, chain, "data", "mid", "top")]
    before = snapshot(chain)
    done = cl(["rm", "-r", "-i", "data"], chain)
    assert done.stdout.split() == ids
    assert "would remove 3 bundle(s)" in done.stderr
    assert snapshot(chain) == before


def test_rm_recursive(chain, cl):
    cl(["rm", "-r", "data"], chain)
    assert ls_names(cl, chain) == ["alone"]
    for name in ("data", "mid", "top"):
        assert "no bundle matches" in one_line_error(cl(["info", name], chain, check=False))
    assert cl(["search", ".count"], chain).stdout.strip() == "1"
    fsck = cl(["fsck"], chain)
    assert fsck.stdout == ""


def test_rm_force_leaves_dependents(chain, cl):
    data_id = infos(cl, chain, "data")[0]["id"]
    cl(["rm", "--force", "data"], chain)
    assert ls_names(cl, chain) == ["mid", "top", "alone"]
    mid = infos(cl, chain, "mid")[0]
    assert mid["dependencies"][0]["bundle"] == data_id
    # the make still has its data (it shares the tree)
    assert cl(["cat", "mid/sub/g.txt"], chain).stdout == "g\n"


def test_rm_data_only(chain, cl):
    cl(["rm", "-d", "alone"], chain)
    rec = infos(cl, chain, "alone")[0]
    assert rec["data_deleted"] is True and rec["deleted"] is False
    assert "alone" in ls_names(cl, chain)
    assert "has been deleted" in one_line_error(cl(["cat", "alone"], chain, check=False))
    cl(["gc", "--prune", "now"], chain)
    # a new bundle must never name objects gc may have removed
    assert "has been deleted" in one_line_error(cl(["make", "alone"], chain, check=False))
    assert cl(["fsck"], chain).stdout == ""
    # data-only removal does not need -r: dependents keep their own references
    cl(["rm", "-d", "data"], chain)
    assert cl(["cat", "mid/f.txt"], chain).stdout == "f\n" * 100


def test_rm_range_and_worksheet_items(chain, cl):
    cl(["rm", "^1-2"], chain)  # alone and top
    assert ls_names(cl, chain) == ["data", "mid"]
    repo = open_repo(chain)
    try:
        _, ws = repo.worksheet_head(repo.current_worksheet())
        assert len([i for i in ws.items if i.kind == "bundle"]) == 2
        assert "rm 2 bundle(s)" == ws.message
    finally:
        repo.close()
