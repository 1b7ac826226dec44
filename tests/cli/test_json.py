"""`--json` on every command that prints data, with the shapes docs/api.md
documents.  A walk over `cl --help` finds every command (and the commands
of a group): each takes --json or is on the short list docs/api.md gives
of commands that print nothing worth parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cl, tree
from tests.runs.helpers import stop_workers

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def no_json_list() -> set[str]:
    """The commands docs/api.md names as printing nothing worth parsing."""
    text = DOC.read_text(encoding="utf-8")
    paragraph = text.split("Commands that print nothing worth parsing have no `--json`:", 1)[1]
    paragraph = paragraph.split("\n\n", 1)[0]
    names = set()
    for quoted in re.findall(r"`([a-z][a-z -]*)`", paragraph):
        names.add(quoted)
    return names


def commands(cwd) -> list[str]:
    """Every command `cl --help` lists, a group's as `GROUP SUB`."""
    def listed(args):
        out = run_cl([*args, "--help"], cwd).stdout
        if not args:  # cl's own help lists its commands under topics, after the options
            section = out.split("Options:", 1)[1].split("\n\n", 1)[1]
        else:
            section = out.split("Commands:", 1)[1] if "Commands:" in out else ""
        return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", section, re.M)]
    found = []
    for name in listed([]):
        subs = listed([name])
        found += [f"{name} {sub}" for sub in subs] if subs else [name]
    return found


def has_json(cwd, command: str) -> bool:
    return "--json" in run_cl([*command.split(), "--help"], cwd).stdout


def test_every_command_has_json_or_is_listed(tmp_path):
    listed = no_json_list()
    assert {"cat", "worker", "serve-stdio"} <= listed, listed
    names = commands(tmp_path)
    assert "ls" in names and "remote ls" in names and "remote" not in names
    missing = [c for c in names if c not in listed and not has_json(tmp_path, c)]
    assert not missing, f"no --json and not on docs/api.md's list: {missing}"
    wrongly_listed = [c for c in listed if c in names and has_json(tmp_path, c)]
    assert not wrongly_listed, f"on docs/api.md's no-json list but they take --json: {wrongly_listed}"
    assert listed <= set(names), f"listed but no such command: {listed - set(names)}"


def test_the_list_is_short():
    assert len(no_json_list()) <= 10, no_json_list()


# --- the shapes -------------------------------------------------------------------------

BUNDLE_ROW = {"id", "name", "kind", "state", "data_size", "created", "command"}


def j(args, cwd, **kw):
    done = run_cl([*args, "--json"], cwd, **kw)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    root = tmp_path_factory.mktemp("json")
    made = j(["init", "p"], root)
    assert set(made) == {"repository", "worksheet"} and made["worksheet"] == "p"
    project = root / "p"
    run_cl(["config", "run.auto_worker", "false"], project)
    tree(project, {"a.txt": "a\n", "d": {"x.txt": "x\n"}})
    yield project
    stop_workers(project)


def is_id(text) -> bool:
    return isinstance(text, str) and re.fullmatch(r"0x[0-9a-f]{64}", text) is not None


def test_bundle_commands(shaped):
    p = shaped
    up = j(["upload", "a.txt"], p)
    assert set(up) == {"id"} and is_id(up["id"])
    made = j(["make", "a.txt", "-n", "copy"], p)
    assert is_id(made["id"])
    assert j(["edit", "copy", "-d", "a copy"], p) == {"id": made["id"]}
    rows = j(["ls"], p)
    assert [r["name"] for r in rows] == ["a.txt", "copy"] and all(set(r) == BUNDLE_ROW for r in rows)
    assert j(["search", "name=copy"], p) == [rows[1]]
    assert j(["search", ".count"], p) == {"count": 2}
    assert j(["search", "data_size=.sum"], p) == {"field": "data_size", "sum": 4}
    rec = j(["info", "copy"], p)
    assert rec["id"] == made["id"] and rec["description"] == "a copy" and rec["kind"] == "make"
    assert {"dependencies", "created", "state", "data_size"} <= set(rec)
    assert set(rec["dependencies"][0]) == {"key", "bundle", "path", "name"}
    down = j(["download", "a.txt", "-o", str(p / "out.txt")], p)
    assert down == {"path": str(p / "out.txt")} and (p / "out.txt").read_text() == "a\n"
    graph = j(["ancestors", "copy"], p)
    assert {"root", "direction", "nodes", "edges"} <= set(graph) and graph["root"] == made["id"]
    j(["upload", "d"], p)
    plan = j(["mimic", "a.txt", "copy", "d", "--dry-run"], p)
    assert [(s["old_name"], s["name"], s["new"]) for s in plan] == [("copy", "copy", None)]
    gone = j(["rm", "copy", "--dry-run"], p)
    assert gone == {"removed": [made["id"]], "dry_run": True}


def test_run_commands(shaped):
    p = shaped
    launched = j(["run", "echo hi"], p)
    assert set(launched) == {"id", "reused"} and is_id(launched["id"]) and launched["reused"] is False
    assert j(["workers"], p) == []
    assert j(["kill", launched["id"]], p) == [launched["id"]]
    waited = j(["wait", launched["id"]], p, check=False)
    assert set(waited) == {"id", "name", "state", "failure"}
    assert waited["state"] == "killed" and "killed" in waited["failure"]
    done = run_cl(["run", "-t", "--json", "true"], p, check=False)
    assert done.returncode != 0 and "--json and --tail" in done.stderr and done.stdout == ""


def test_worksheet_commands(shaped):
    p = shaped
    new = j(["new", "other"], p)
    assert set(new) == {"id"}
    assert j(["work"], p)["name"] == "p"
    assert j(["work", "other"], p) == {"id": new["id"], "name": "other"}
    run_cl(["add", "-m", "# hello", "--dest-worksheet", "other"], p)
    up = j(["upload", "d", "-w", "other"], p)
    page = j(["print"], p)
    assert page["name"] == "other" and [b["type"] for b in page["blocks"]][-2:] == ["markup", "table"]
    assert page["blocks"][-1]["rows"][0]["bundle"] == up["id"][2:]
    assert j(["detach", "d"], p) == [up["id"]]
    log = j(["wlog"], p)
    assert {"version", "commit", "time", "author", "message", "name", "items", "deleted"} == set(log[0])
    rows = j(["wls"], p)
    assert {r["name"] for r in rows} == {"p", "other"} and sum(r["current"] for r in rows) == 1
    run_cl(["work", "p"], p)
    assert j(["wrm", "other", "--force"], p) == [new["id"]]


def test_repository_and_sharing_commands(shaped, tmp_path):
    p = shaped
    status = j(["status"], p)
    assert set(status) == {"repository", "worksheet", "bundles", "objects", "bytes", "remotes"}
    assert set(j(["fsck"], p)) == {"objects", "bytes", "problems", "notes"}
    assert set(j(["gc", "--dry-run"], p)) == {"dry_run", "objects", "bytes", "tmp", "checkouts", "swept"}
    assert {"bundles", "worksheets"} <= set(j(["reindex"], p))
    assert j(["config", "run.auto_worker"], p) == {"key": "run.auto_worker", "value": False}
    assert j(["config"], p)["run"]["auto_worker"] is False
    clone = j(["clone", str(p), str(tmp_path / "copy")], tmp_path)
    assert set(clone) == {"url", "directory", "worksheets", "bundles"} and clone["bundles"] >= 1
    copy = tmp_path / "copy"
    assert j(["remote", "ls"], copy) == {"origin": str(p)}
    assert j(["alias", "origin"], copy) == {"origin": str(p)}
    run_cl(["add", "-m", "from the copy"], copy)
    pushed = j(["push"], copy)
    assert set(pushed) == {"remote", "refs", "sent", "received", "rejected", "warnings"}
    assert pushed["rejected"] is False and pushed["warnings"] == []
    assert pushed["remote"] == "origin" and set(pushed["refs"][0]) == {"kind", "label", "status", "rejected"}
    pulled = j(["pull"], copy)
    assert pulled["rejected"] is False and pulled["received"] == 0
    assert set(j(["cp", "a.txt", "origin::p"], copy)) == {"result"}


def test_run_and_rerun_waiting(tmp_path, docker_engine, busybox_image):
    """With -W the record says how the run ended; a failed run's record is
    printed, then the one-line error and a non-zero exit."""
    project = tmp_path / "p"
    project.mkdir()
    run_cl(["init"], project)
    run_cl(["config", "run.image", busybox_image], project)
    try:
        ok = j(["run", "-W", "-n", "ok", "echo hi > out"], project)
        assert ok["state"] == "ready" and ok["failure"] is None and ok["reused"] is False
        again = j(["run", "-W", "-m", "-n", "ok", "echo hi > out"], project)
        assert again == {**ok, "reused": True}
        done = run_cl(["run", "-W", "--json", "-n", "bad", "exit 3"], project, check=False)
        assert done.returncode != 0 and done.stderr.startswith("cl: run bad (0x")
        assert json.loads(done.stdout)["state"] == "failed"
        [step] = j(["rerun", "ok", "-W"], project)
        assert step["old_name"] == "ok" and step["kind"] == "run" and is_id(step["new"])
        assert j(["wait", step["new"]], project)["state"] == "ready"
    finally:
        stop_workers(project)
