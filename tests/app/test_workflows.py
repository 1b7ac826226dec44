"""The application layer as a script would use it: functions of (repo,
values) that return records and print nothing -- what they have to say
reaches the caller's callbacks or comes back in the record."""

from __future__ import annotations

import io

import pytest

from cl.app import bundles, listing, maintenance, provenance, repository, runs, sharing, worksheets
from cl.errors import CLError, UsageError
from tests.conftest import tree


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    tree(tmp_path, {"a.txt": "a\n", "d": {"x.txt": "x\n"}})
    repo, made = repository.init(str(tmp_path / "p"))
    assert made.worksheet == "p" and made.to_json() == {"repository": repo.root, "worksheet": "p"}
    repository.config_set(repo, "run.auto_worker", "false")
    yield repo
    repo.close()


def test_workflows_print_nothing(repo, tmp_path, capfd):
    a = bundles.upload(repo, [str(tmp_path / "a.txt")], name="a")
    d = bundles.upload(repo, [str(tmp_path / "d")], tags=["data"])
    both = bundles.make(repo, [f"x:{a.display}", "y:d"], name="both")
    assert [r["name"] for r in listing.listing_rows(repo, None)] == ["a", "d", "both"]
    assert bundles.info(repo, ["both"])[0]["dependencies"][1]["name"] == "d"
    assert [r.id for r in bundles.search(repo, ["tag=data"]).rows] == [d]
    out = io.BytesIO()
    assert bundles.cat(repo, "both/x", out) is None and out.getvalue() == b"a\n"
    assert [e.name for e in bundles.cat(repo, "d", out)] == ["x.txt"]
    assert bundles.edit(repo, "a", description="the letter a") == a
    assert bundles.metadata(repo, a)["description"] == "the letter a"

    notes: list[str] = []
    launched = runs.run(repo, [f"in:{a.display}"], "cat in", name="cat", notice=notes.append)
    assert not launched.reused and launched.started == "no worker is running: start one with 'cl worker'"
    assert runs.state(repo, launched.id) == "created"
    assert list(runs.kill(repo, [launched.id.display])) == [launched.id]
    waited = runs.wait(repo, launched.id.display)
    assert waited.state == "killed" and waited.failure.startswith("run cat (0x")

    wid = worksheets.new(repo, "notes", "Notes")
    worksheets.add(repo, "notes", texts=["# Notes\n% display table default"], bundles=["both"])
    page = worksheets.page(repo, "notes")
    assert [type(b).__name__ for b in page.blocks] == ["WorksheetLink", "Markup", "Table"]  # the link back
    assert worksheets.page_json(page)["blocks"][2]["rows"][0]["bundle"] == both
    assert worksheets.table(repo, "notes").rows[0].values[1] == "both"
    assert [v.number for v in worksheets.history(repo, "notes")][0] == len(worksheets.history(repo, "notes"))
    assert "<table" in worksheets.html(repo, "notes") and wid

    plan = provenance.mimic(repo, ["a", "both", "d"], dry_run=True)
    assert [(s.old_name, s.new) for s in plan.steps] == [("both", None)]
    assert provenance.graph_json(provenance.graph(repo, "both", "ancestors"))["root"] == both.display

    assert maintenance.fsck(repo).problems == ()
    assert maintenance.gc(repo, dry_run=True).dry_run
    assert repository.status(repo).bundles == {"killed": 1, "ready": 3}
    assert sharing.remotes(repo) == {}
    assert notes == []  # nothing to say: no memoization, no image pulled
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_errors_are_clerrors_and_change_nothing(repo):
    before = repository.status(repo)
    for call in (lambda: bundles.make(repo, []), lambda: bundles.edit(repo, "nothing", name="x"),
                 lambda: runs.run(repo, [], "true", request={"cpus": "many"}),
                 lambda: repository.config_set(repo, "nodots", "x"),
                 lambda: worksheets.add(repo, None), lambda: sharing.push(repo, [])):
        with pytest.raises(CLError):
            call()
    with pytest.raises(UsageError):
        sharing.parse_settings(["novalue"])
    assert repository.status(repo) == before


def test_html_fragments_are_scoped(repo, tmp_path):
    bundles.upload(repo, [str(tmp_path / "a.txt")], name="a")
    fragment = worksheets.render_html(worksheets.page(repo, None), fragment=True)
    assert "<html" not in fragment and "<body" not in fragment and 'class="cl-worksheet"' in fragment
    style = fragment[fragment.index("<style>") + 7:fragment.index("</style>")]
    selectors = [s.strip() for line in style.split("\n") if "{" in line and not line.startswith(" ")
                 for s in line.split("{")[0].split(",")]
    assert selectors and all(s.startswith(".cl-worksheet") for s in selectors), selectors
    assert "<td>a</td>" in worksheets.table_html(["name"], [("ab" * 32, ["a"])])
