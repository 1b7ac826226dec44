"""Sync between real repositories through directory remotes: clone, push,
pull, the index following refs, merges of two clones' work, cp and wadd
with dependencies, remote-qualified reading."""

import os
import weakref

import pytest

from cl.bundles.edit import edit
from cl.bundles.make import make
from cl.bundles.specs import resolve_bundle, resolve_worksheet
from cl.bundles.upload import UploadRequest, upload
from cl.errors import CLError
from cl.remote import exchange, transfer
from cl.repo import Repository
from cl.sync import ops
from cl.sync.copy import copy_bundle, copy_items
from cl.sync.remotes import add_remote, open_remote
from cl.sync.view import RemoteView


def text(repo, content, name, worksheet=None):
    return upload(repo, UploadRequest(text=content, name=name, worksheet=worksheet))


@pytest.fixture
def alice(tmp_path):
    repo = Repository.init(str(tmp_path / "alice"), worksheet="exp")
    a = text(repo, "3\n1\n2\n", "numbers")
    make(repo, [f"src:{a.display}"], name="derived")
    yield repo
    repo.close()


def lines(report):
    return {line.label.split()[-1] if line.kind == "bundle" else line.label: line.status
            for line in report.lines}


def test_clone_brings_everything_and_sets_origin(alice, tmp_path):
    repo, report = ops.clone(os.path.dirname(alice.root), str(tmp_path / "bob"))
    try:
        assert lines(report) == {"numbers": "ok", "derived": "ok", "exp": "ok"}
        assert repo.index.worksheet(repo.current_worksheet())["name"] == "exp"
        assert sorted(r.name for r in repo.index.query()) == ["derived", "numbers"]
        assert repo.config.table("remote")["origin"]["url"] == os.path.dirname(alice.root)
        assert set(repo.store.ids()) == set(alice.store.ids())
        # the dependency edges are indexed too
        derived = resolve_bundle(repo, "derived")
        assert [p for _, p, _ in repo.index.dependencies(derived)] == [resolve_bundle(repo, "numbers")]
    finally:
        repo.close()


def test_clone_refuses_non_empty_destination(alice, tmp_path):
    dest = tmp_path / "full"
    dest.mkdir()
    (dest / "x").write_text("x")
    with pytest.raises(CLError, match="not empty"):
        ops.clone(os.path.dirname(alice.root), str(dest))
    assert not (dest / ".codalab").exists()


def test_push_pull_and_up_to_date(alice, tmp_path):
    bob, _ = ops.clone(os.path.dirname(alice.root), str(tmp_path / "bob"))
    try:
        text(bob, "hello\n", "greeting")
        assert lines(ops.push(bob, None)) == {"numbers": "up to date", "derived": "up to date",
                                              "greeting": "ok", "exp": "ok"}
        assert set(lines(ops.push(bob, None)).values()) == {"up to date"}
        # the receiving side's index follows the pushed refs
        alice_fresh = Repository(alice.root)
        assert resolve_bundle(alice_fresh, "greeting")
        alice_fresh.close()
        edit(alice, resolve_bundle(alice, "numbers"), description="from alice")
        report = ops.pull(bob, None)
        assert lines(report)["numbers"] == "ok"
        assert bob.head_state(resolve_bundle(bob, "numbers"))[1].metadata["description"] == "from alice"
        assert set(lines(ops.pull(bob, None)).values()) == {"up to date"}
    finally:
        bob.close()


def test_a_push_lets_go_of_the_plan_for_an_empty_remote_when_the_remote_holds_something(
        alice, tmp_path, monkeypatch):
    """The Prefetch may finish a plan for an empty remote while a slow
    connection is made (a million objects' worth of ids); a push to a
    remote that holds something does not keep it while it works, and a
    push to an empty one uses it."""
    made = []

    class Finishing(transfer.Prefetch):  # as over a connection slow enough for the plan to be made
        def stop(self):
            self._thread.join()
            if self.empty_plan is not None:
                made.append(weakref.ref(self.empty_plan.plan))
            return super().stop()

    seen = []

    def push(*args, empty_plan=None, **kw):
        seen.append((empty_plan, [ref() for ref in made]))
        return real_push(*args, empty_plan=empty_plan, **kw)

    real_push = exchange.push
    monkeypatch.setattr(ops, "Prefetch", Finishing)
    monkeypatch.setattr(exchange, "push", push)
    bob, _ = ops.clone(os.path.dirname(alice.root), str(tmp_path / "bob"))
    try:
        text(bob, "hello\n", "greeting")
        ops.push(bob, None)  # alice holds something
        assert len(made) == 1 and seen[-1] == (None, [None])  # the plan was let go before the push began
        Repository.init(str(tmp_path / "hub"), bare=True).close()
        add_remote(bob, "hub", str(tmp_path / "hub"))
        ops.push(bob, "hub")
        assert seen[-1][0] is not None and seen[-1][0].plan is made[-1]()
    finally:
        bob.close()


def test_two_clones_push_same_worksheet(alice, tmp_path):
    origin = os.path.dirname(alice.root)
    bob, _ = ops.clone(origin, str(tmp_path / "bob"))
    carol, _ = ops.clone(origin, str(tmp_path / "carol"))
    try:
        text(bob, "bob's\n", "bobs")
        text(carol, "carol's\n", "carols")
        assert lines(ops.push(bob, None))["exp"] == "ok"
        second = ops.push(carol, None)
        assert lines(second)["exp"] == "merged" and not second.rejected
        wid = alice.current_worksheet()
        fresh = Repository(alice.root)
        names = [r.name for r in fresh.index.bundles(fresh.index.worksheet_bundles(wid))]
        assert sorted(names) == ["bobs", "carols", "derived", "numbers"]  # nothing lost
        fresh.close()
        assert lines(ops.pull(bob, None))["exp"] == "ok"
        assert bob.refs.get(f"worksheets/{wid}") == carol.refs.get(f"worksheets/{wid}")
    finally:
        bob.close()
        carol.close()


def test_pull_by_name_and_all(alice, tmp_path):
    other = Repository.init(str(tmp_path / "other"), worksheet="mine")
    try:
        add_remote(other, "alice", os.path.dirname(alice.root))
        with pytest.raises(CLError, match="'mine' is not on remote 'alice'"):
            ops.pull(other, "alice")
        report = ops.pull(other, "alice", ["derived"])
        assert lines(report) == {"numbers": "ok", "derived": "ok"}
        assert other.index.worksheets("exp") == []
        report = ops.pull(other, "alice", ["exp"])
        assert lines(report)["exp"] == "ok"
        assert resolve_worksheet(other, "exp")
    finally:
        other.close()


def test_cp_and_wadd_copy_dependencies(alice, tmp_path):
    other = Repository.init(str(tmp_path / "other"), worksheet="mine")
    try:
        add_remote(other, "alice", os.path.dirname(alice.root))
        # remote -> local: the dependency comes along
        assert "added to worksheet mine" in copy_bundle(other, "alice::derived", "mine")
        assert {r.name for r in other.index.query()} == {"numbers", "derived"}
        on_mine = other.index.worksheet_bundles(other.current_worksheet())
        assert on_mine == [resolve_bundle(other, "derived")]
        # local -> remote
        new = text(other, "extra\n", "extra")
        copy_bundle(other, "extra", "alice::exp")
        fresh = Repository(alice.root)
        assert resolve_bundle(fresh, "extra") == new
        assert fresh.index.worksheet_bundles(fresh.current_worksheet())[-1] == new
        fresh.close()
        # wadd: every item of a remote worksheet appended here
        other.new_worksheet("copy")
        message = copy_items(other, "alice::exp", "copy")
        assert message.startswith("3 items of alice::exp")
        items = other.worksheet_head(resolve_worksheet(other, "copy"))[1].items
        assert [i.kind for i in items] == ["bundle"] * 3
    finally:
        other.close()


def test_remote_view_resolves_specs(alice, tmp_path):
    other = Repository.init(str(tmp_path / "other"))
    try:
        add_remote(other, "alice", os.path.dirname(alice.root))
        with open_remote(other, "alice") as client:
            view = RemoteView(client)
            derived = view.resolve_bundle("derived")
            assert derived == resolve_bundle(alice, "derived")
            assert view.resolve_bundle("exp//^") == derived
            assert view.resolve_bundle("exp//^2") == resolve_bundle(alice, "numbers")
            assert view.resolve_bundle(derived.display[:8]) == derived
            assert view.resolve_bundle("num%") == resolve_bundle(alice, "numbers")
            with pytest.raises(CLError, match="no bundle on remote 'alice' matches"):
                view.resolve_bundle("nothing")
            assert view.find_worksheet("exp") == alice.current_worksheet()
        assert other.index.query() == []  # reading moved nothing here
    finally:
        other.close()


def test_first_word_is_a_remote_only_when_it_names_one(alice):
    add_remote(alice, "up", "/somewhere")
    split = ops.split_remote_arg
    assert split(alice, ["up", "exp"]) == ("up", ["exp"])
    assert split(alice, ["exp"]) == (None, ["exp"])
    assert split(alice, ["../other", "exp"]) == ("../other", ["exp"])
    assert split(alice, ["exp//derived"]) == (None, ["exp//derived"])
    assert split(alice, ["ssh://h/p"]) == ("ssh://h/p", [])
