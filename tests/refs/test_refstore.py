"""The ref store contract: names move only by compare-and-swap."""

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cl.errors import Conflict
from cl.refs.db import Database
from cl.refs.names import BadRefName
from cl.refs.store import MemoryRefStore, SqliteRefStore

A, B, C = "aa" * 32, "bb" * 32, "cc" * 32


def test_create_read_update_delete(refs):
    assert refs.get(f"bundles/{A}") is None
    refs.set_if_equals(f"bundles/{A}", None, A)
    assert refs.get(f"bundles/{A}") == A
    refs.set_if_equals(f"bundles/{A}", A, B)
    assert refs.get(f"bundles/{A}") == B
    refs.set_if_equals(f"bundles/{A}", B, None)
    assert refs.get(f"bundles/{A}") is None
    assert refs.items() == []


@pytest.mark.parametrize("start,wrong", [(None, A), (A, None), (A, B)])
@pytest.mark.parametrize("new", [C, None])
def test_conflict_changes_nothing(refs, start, wrong, new):
    """A wrong expectation raises Conflict naming the ref and moves nothing."""
    if start is not None:
        refs.set_if_equals("r", None, start)
    refs.set_if_equals("other", None, C)
    before = refs.items()
    with pytest.raises(Conflict) as info:
        refs.set_if_equals("r", wrong, new)
    assert "'r'" in str(info.value)
    assert refs.items() == before


def test_create_conflicts_when_present(refs):
    refs.set_if_equals("HEAD", None, "w1")
    with pytest.raises(Conflict):
        refs.set_if_equals("HEAD", None, "w2")
    assert refs.get("HEAD") == "w1"


def test_delete_of_absent_ref_with_none_expected_is_a_no_op(refs):
    refs.set_if_equals("gone", None, None)
    assert refs.get("gone") is None


def test_items_by_prefix(refs):
    names = ["HEAD", "notes/a", "notes/b", "notesX", "remotes/origin/notes/a",
             "worksheets/w", "notes/\U0001F600", "notes/é"]
    for i, name in enumerate(names):
        refs.set_if_equals(name, None, f"v{i}")
    assert refs.items("notes/") == sorted(
        (n, f"v{i}") for i, n in enumerate(names) if n.startswith("notes/"))
    assert [n for n, _ in refs.items("remotes/origin/")] == ["remotes/origin/notes/a"]
    assert [n for n, _ in refs.items()] == sorted(names)
    assert refs.items("nothing/") == []


def test_clear_prefix(refs):
    for name in ["remotes/o/a", "remotes/o/\U0001F600", "remotes/other/a", "HEAD"]:
        refs.set_if_equals(name, None, "x")
    refs.clear("remotes/o/")
    assert [n for n, _ in refs.items()] == ["HEAD", "remotes/other/a"]


names = st.text(st.sampled_from("ab/é\U0001F600"), min_size=1, max_size=6)
ops = st.lists(st.tuples(names, st.one_of(st.none(), st.sampled_from([A, B, C])),
                         st.one_of(st.none(), st.sampled_from([A, B, C]))), max_size=30)


@given(ops, names)
@settings(max_examples=60, deadline=None)
def test_sqlite_and_memory_agree(tmp_path_factory, sequence, prefix):
    """Any sequence of CAS operations has the same outcome in both stores."""
    db = Database(str(tmp_path_factory.mktemp("db") / "repo.db"))
    try:
        stores = [MemoryRefStore(), SqliteRefStore(db)]
        for name, old, new in sequence:
            outcomes = []
            for s in stores:
                try:
                    s.set_if_equals(name, old, new)
                    outcomes.append("ok")
                except Conflict:
                    outcomes.append("conflict")
                except BadRefName:
                    outcomes.append("bad name")
            assert outcomes[0] == outcomes[1]
        assert stores[0].items() == stores[1].items()
        assert stores[0].items(prefix) == stores[1].items(prefix)
    finally:
        db.close()


def test_sqlite_refs_persist(tmp_path):
    path = str(tmp_path / "repo.db")
    db = Database(path)
    SqliteRefStore(db).set_if_equals("HEAD", None, "w")
    db.close()
    db = Database(path)
    assert SqliteRefStore(db).get("HEAD") == "w"
    db.close()


def test_failed_cas_inside_a_transaction_rolls_back(tmp_path):
    """A Conflict raised inside a larger transaction undoes the whole of it."""
    db = Database(str(tmp_path / "repo.db"))
    refs = SqliteRefStore(db)
    refs.set_if_equals("a", None, A)
    with pytest.raises(Conflict):
        with db.transaction():
            refs.set_if_equals("b", None, B)
            refs.set_if_equals("a", B, C)
    assert refs.items() == [("a", A)]
    db.close()


WORKER = r"""
import os, sys, time
from cl.errors import Conflict
from cl.refs.db import Database
from cl.refs.store import SqliteRefStore

db = Database(sys.argv[1])
refs = SqliteRefStore(db)
# start together, so the increments really interleave
gate, workers = sys.argv[3], int(sys.argv[4])
open(os.path.join(gate, str(os.getpid())), "w").close()
while len(os.listdir(gate)) < workers:
    time.sleep(0.005)
conflicts = 0
for _ in range(int(sys.argv[2])):
    while True:
        old = refs.get("counter")
        new = str(int(old or "0") + 1)
        try:
            refs.set_if_equals("counter", old, new)
            break
        except Conflict:
            conflicts += 1
db.close()
print(conflicts)
"""


def test_concurrent_processes_never_lose_an_update(tmp_path):
    """8 processes x 50 read-modify-write increments, retried on Conflict,
    end at exactly 400: compare-and-swap never lets an update be lost."""
    path = str(tmp_path / "repo.db")
    gate = tmp_path / "gate"
    gate.mkdir()
    Database(path).close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, path, "50", str(gate), "8"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    db = Database(path)
    assert SqliteRefStore(db).get("counter") == "400"
    db.close()
