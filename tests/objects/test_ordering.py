"""The connectivity invariant and the write ordering (docs/format.md,
"Write ordering"), checked at every write by an order-checking store."""

import os

import pytest

from cl.objects.ids import hash_bytes
from cl.objects.ingest import ingest_path
from cl.objects.store import read_object, write_object
from cl.objects.types import Bundle, Dependency, Result, State, Tree, TreeEntry, MODE_FILE
from cl.objects.value import replace
from cl.repo import Repository

from .golden_values import T0, build
from .helpers import OrderCheckingDiskStore, OrderCheckingMemoryStore, build_files, dangling


def test_checker_flags_a_parent_written_first():
    """The order-checking store can fail: a tree before its blob is refused."""
    store = OrderCheckingMemoryStore()
    tree = Tree((TreeEntry("a", MODE_FILE, 1, hash_bytes(b"a")),))
    with pytest.raises(AssertionError, match="written before"):
        write_object(store, tree)
    store.write_bytes(b"a")
    write_object(store, tree)


HEADS = {"state-ready", "worksheet", "tree-names"}  # named by no other vector


@pytest.mark.parametrize("skip", [name for name, _ in build() if name not in HEADS])
def test_every_child_is_required(skip):
    """[F11] leaving out any one non-head vector makes a later one unwritable."""
    store = OrderCheckingMemoryStore()
    refused = []
    for name, value in build():
        if name == skip:
            continue
        try:
            store.write_bytes(value) if isinstance(value, bytes) else write_object(store, value)
        except AssertionError:
            refused.append(name)
    assert refused, f"nothing names {skip}"


def test_dangling_finds_missing_children():
    store = OrderCheckingMemoryStore()
    for _, value in build():
        store.write_bytes(value) if isinstance(value, bytes) else write_object(store, value)
    assert dangling(store) == []
    hello = hash_bytes(b"hello\n")
    store.delete(hello)
    assert {child for _, child in dangling(store)} == {hello}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A real repository whose store checks the write ordering."""
    monkeypatch.setenv("USER", "tester")
    project = tmp_path / "project"
    project.mkdir()
    r = Repository.init(str(project))
    r.store = OrderCheckingDiskStore(r.store.root, r.store.tmp)
    yield r
    r.close()


def _upload(repo, tmp_path, name, files):
    contents = ingest_path(repo.store, build_files(str(tmp_path / name), files))
    bundle = Bundle(kind="dataset", created=T0, creator="tester", nonce=os.urandom(16).hex(),
                    metadata={"name": name, "description": "", "tags": []}, contents=contents)
    return repo.add_bundle(bundle)


def test_repository_writes_in_order(repo, tmp_path):
    """[F11] bundles after contents, states after bundles and results,
    worksheet commits after the bundles they list."""
    data = _upload(repo, tmp_path, "data", {"x.txt": b"x\n", "d": {"y": b"y"}})
    run = Bundle(kind="run", created=T0, creator="tester", nonce=os.urandom(16).hex(),
                 metadata={"name": "run", "description": "", "tags": []}, command="true",
                 dependencies=(Dependency("in", data, ""),))
    rid = repo.add_bundle(run, state="created")
    out = ingest_path(repo.store, build_files(str(tmp_path / "out"), {"stdout": b"ok\n"}))
    result = repo.write(Result(bundle=rid, contents=out, exit_code=0, started=T0, finished=T0))
    repo.update_state(rid, lambda s: replace(s, state="ready", result=result))
    repo.update_state(data, lambda s: replace(
        s, metadata={**s.metadata, "description": "edited"}))
    assert repo.contents(rid) == out
    assert dangling(repo.store) == []


def test_deleted_bundles_keep_tombstones(repo, tmp_path):
    """[F14] a bundle whose head state is deleted or data_deleted may lack
    its contents, but the bundle and its states stay readable."""
    for flag in ("deleted", "data_deleted"):
        bid = _upload(repo, tmp_path, f"gone-{flag}", {"big": flag.encode() * 1000})
        contents = repo.bundle(bid).contents
        repo.update_state(bid, lambda s: replace(s, **{flag: True}))
        # what `cl gc` does to a deleted bundle's data
        for oid in [contents.id, *[e.id for e in read_object(repo.store, contents.id, Tree).entries]]:
            repo.store.delete(oid)
        assert dangling(repo.store) == []
        head, state = repo.head_state(bid)
        assert getattr(state, flag) and repo.read(head, State) == state
        assert repo.bundle(bid).contents == contents  # the record names what was there
        assert read_object(repo.store, state.parents[0], State).bundle == bid


def test_undeleted_bundle_must_have_contents(repo, tmp_path):
    """[F14] the exception holds only while the head state says deleted."""
    bid = _upload(repo, tmp_path, "kept", {"f": b"keep me"})
    repo.update_state(bid, lambda s: replace(s, deleted=True))
    repo.update_state(bid, lambda s: replace(s, deleted=False))
    repo.store.delete(hash_bytes(b"keep me"))
    assert [child for _, child in dangling(repo.store)] == [hash_bytes(b"keep me")]
