"""`cl fsck`, `cl gc`, `cl reindex` and `cl status` through the real console
script: corruption and missing objects are named, gc deletes exactly what
nothing live reaches, and a rebuilt index answers every query as before."""

import json
import os
import sqlite3
import time

import pytest

from cl.bundles.upload import UploadRequest, upload
from cl.objects.trees import reachable
from tests.cli.test_errors import add, add_make, opened, snapshot
from tests.conftest import stored_ids, tree


def objects(project):
    return stored_ids(project)


def object_path(project, oid):
    oid = oid.removeprefix("0x")
    return project / ".codalab" / "objects" / oid[:2] / oid[2:]


@pytest.fixture
def filled(project):
    tree(project, {"d": {"f.txt": "f\n", "sub": {"g.txt": "g\n"}},
                   "gone": {"only-here.txt": "unique to the removed bundle\n", "x": {"y": "yy\n"}}})
    add(project, "d", name="data")
    add(project, "gone")
    add_make(project, "data/sub", name="part")
    return project


def test_fsck_clean(filled, cl):
    done = cl(["fsck"], filled)
    assert done.stdout == ""
    assert done.stderr.startswith(f"checked {len(objects(filled))} objects (")
    assert done.stderr.strip().endswith(": ok")


def test_fsck_names_a_flipped_blob_and_a_missing_object(filled, cl):
    with opened(filled) as repo:
        sub = repo.contents(repo.index.by_name("part")[0].id).id  # data/sub, shared by two bundles
        leaf = repo.read(sub).entries[0].id  # g.txt's blob
    path = object_path(filled, leaf)
    path.chmod(0o644)
    path.write_bytes(b"G\n")
    done = cl(["fsck"], filled, check=False)
    assert done.returncode != 0
    assert done.stdout.splitlines() == [f"object 0x{leaf} is corrupt: its bytes do not hash to its id"]
    assert "1 problem(s)" in done.stderr
    path.unlink()
    done = cl(["fsck"], filled, check=False)
    assert done.returncode != 0
    assert done.stdout.splitlines() == [f"missing blob 0x{leaf} (named by tree 0x{sub[:12]})"]


def test_gc_deletes_only_what_nothing_reaches(filled, cl):
    with opened(filled) as repo:
        gone = set(reachable(repo.store, repo.contents(repo.index.by_name("gone")[0].id)))
        stray = repo.store.write_bytes(b"written by nothing that lasted\n")
        kept_data = set(reachable(repo.store, repo.contents(repo.index.by_name("data")[0].id)))
    cl(["rm", "gone"], filled)
    everything = objects(filled)
    assert gone | {stray} <= everything
    # fresh objects are within the default grace period: nothing goes
    done = cl(["gc"], filled)
    assert done.stdout.startswith("deleted 0 objects")
    before = snapshot(filled)
    done = cl(["gc", "--dry-run", "--prune", "now"], filled)
    assert done.stdout.startswith(f"would delete {len(gone) + 1} objects")
    assert snapshot(filled) == before
    done = cl(["gc", "--prune", "now"], filled)
    assert done.stdout.startswith(f"deleted {len(gone) + 1} objects")
    assert objects(filled) == everything - gone - {stray}
    assert kept_data <= objects(filled)
    assert cl(["cat", "data/sub/g.txt"], filled).stdout == "g\n"
    assert cl(["cat", "part/g.txt"], filled).stdout == "g\n"
    assert cl(["fsck"], filled).stdout == ""
    # the removed bundle's record stays (a tombstone), its data is gone
    assert cl(["gc", "--prune", "now"], filled).stdout.startswith("deleted 0 objects")


def test_gc_clears_stale_tmp_files_and_checkouts(filled, cl):
    root = filled / ".codalab"
    old = root / "tmp" / "obj-left-by-a-crash"
    old.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    fresh = root / "tmp" / "obj-being-written"
    fresh.write_bytes(b"in progress")
    (root / "checkouts" / ("ab" * 32)).mkdir()
    note = cl(["fsck"], filled).stderr
    assert "2 temporary file(s)" in note
    done = cl(["gc"], filled)
    assert "1 temporary files, 1 checkouts" in done.stdout
    assert not old.exists() and fresh.exists()
    assert os.listdir(root / "checkouts") == []


# --- reindex ------------------------------------------------------------------


QUERIES = [
    ["ls", "--json"], ["ls", "-w", "other"],
    ["info", "-v", "--json", "^2", "data", "other//^", "older"], ["info", "-f", "id,name,state", "^1-3", "old%"],
    ["search", ".limit=100", "--json"], ["search", ".floating", "-u"], ["search", "kind=make", ".count"],
    ["status", "--json"], ["cat", "part"], ["rm", "-i", "-r", "data"],
]


def _answers(cl, project):
    return [cl(q, project, check=False) for q in QUERIES]


def _varied_repository(filled, cl):
    cl(["edit", "data", "-d", "edited", "--tags", "t"], filled)
    add(filled, text="old", name="older")
    cl(["rm", "gone"], filled)
    cl(["rm", "-d", "older"], filled)
    with opened(filled) as repo:
        other = repo.new_worksheet("other", title="the other one")
        upload(repo, UploadRequest(text="elsewhere\n", name="elsewhere", worksheet=other))
        upload(repo, UploadRequest(text="nowhere\n", name="floating", worksheet=""))


# The index tables gone, and the heads too: all are recomputed from the objects.
WIPE = ("DROP TABLE bundles; DROP TABLE deps; DROP TABLE worksheets; DROP TABLE ws_items;"
        " DELETE FROM refs WHERE name LIKE 'bundles/%' OR name LIKE 'worksheets/%';")


def test_reindex_answers_every_query_as_before(filled, cl):
    _varied_repository(filled, cl)
    before = _answers(cl, filled)
    assert all(a.returncode == 0 for a in before), [a.stderr for a in before if a.returncode]
    db = sqlite3.connect(filled / ".codalab" / "repo.db")
    db.executescript(WIPE)
    db.close()
    assert cl(["info", "data"], filled, check=False).returncode != 0
    done = cl(["reindex"], filled)
    assert done.stdout.strip() == "reindexed 6 bundles, 2 worksheets"
    after = _answers(cl, filled)
    for query, a, b in zip(QUERIES, before, after):
        assert (a.stdout, a.stderr, a.returncode) == (b.stdout, b.stderr, b.returncode), query
    assert cl(["fsck"], filled).stdout == ""


def test_status(filled, cl):
    cl(["rm", "-r", "gone"], filled)
    rec = json.loads(cl(["status", "--json"], filled).stdout)
    files = list((filled / ".codalab" / "objects").glob("??/*"))
    assert rec == {"repository": str(filled / ".codalab"), "worksheet": filled.name,
                   "bundles": {"ready": 2}, "objects": len(files),
                   "bytes": sum(p.stat().st_size for p in files), "remotes": {}}
    text = cl(["status"], filled).stdout.splitlines()
    assert text[:3] == [f"repository: {filled / '.codalab'}", f"worksheet: {filled.name}",
                        "bundles: 2 (ready 2)"]
    assert text[3].startswith(f"objects: {len(files)} (")


def test_fsck_names_a_fifo_in_objects_and_never_opens_it(filled, cl):
    """A FIFO (or anything not a regular file) under objects/ is reported,
    never opened: opening a FIFO to read blocks until a writer comes."""
    objects_dir = filled / ".codalab" / "objects"
    fifo = objects_dir / "ab" / ("c" * 62)
    fifo.parent.mkdir(exist_ok=True)  # fan-out directories are made by their first object
    os.mkfifo(fifo)
    odd = objects_dir / "not-a-fan-out"
    odd.write_text("x")
    done = cl(["fsck"], filled, check=False, timeout=120)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"'{odd}' is not an object file (left alone, never read)",
                                        f"'{fifo}' is not an object file (left alone, never read)"]
    cl(["gc", "--prune", "now"], filled, timeout=120)
    assert fifo.exists() and odd.exists()  # gc deletes objects, not what it cannot name
    assert cl(["status"], filled, timeout=120).returncode == 0


def test_gc_refuses_when_the_refs_are_gone(filled, cl):
    """A repo.db that lost its refs would make every object garbage: gc
    refuses and points at reindex, which finds them again."""
    before = objects(filled)
    db = sqlite3.connect(filled / ".codalab" / "repo.db")
    with db:
        db.execute("DELETE FROM refs WHERE name LIKE 'bundles/%' OR name LIKE 'worksheets/%'")
    db.close()
    done = cl(["gc", "--prune", "now"], filled, check=False)
    assert done.returncode == 1 and done.stderr.startswith("cl: no bundle or worksheet refs")
    assert objects(filled) == before
    cl(["reindex"], filled)
    assert cl(["gc", "--prune", "now"], filled).stdout.startswith("deleted ")
    assert cl(["cat", "data/f.txt"], filled).stdout == "f\n"


def _unreachable_chain(repo):
    """A worksheet commit naming a state naming a bundle naming a tree
    naming a blob -- none of them reachable from a ref."""
    from cl.objects.types import Bundle, Contents, State, Tree, TreeEntry, MODE_DIR, MODE_FILE, Worksheet
    with repo.store.writing():
        blob = repo.store.write_bytes(b"only in the chain\n")
        tree_ = Tree((TreeEntry("f", MODE_FILE, 18, blob),))
        tid = repo.write(tree_)
        bid = repo.write(Bundle(kind="dataset", created=1, creator="t", nonce="00" * 16,
                                metadata={"name": "chain"}, contents=Contents(MODE_DIR, tree_.size, tid)))
        sid = repo.write(State(bundle=bid, parents=(), time=1, author="t", metadata={"name": "chain"},
                               state="ready", result=None))
        wsc = repo.write(Worksheet(worksheet="ff" * 16, parents=(), time=1, author="t", message="m",
                                   name="chain", title=""))
    return [wsc, sid, bid, tid, blob]


def test_gc_deletes_an_object_before_what_it_names(project):
    """Rule 4: parents first, so a gc cut short leaves nothing without its children."""
    from cl.bundles.maintenance import _parents_first
    with opened(project) as repo:
        chain = _unreachable_chain(repo)
        order, _ = _parents_first(repo, dict.fromkeys(reversed(chain), 0))
        sid, bid, tid, blob = chain[1:]
        assert set(order) == set(chain)
        assert order.index(sid) < order.index(bid) < order.index(tid) < order.index(blob)


def test_a_recent_object_keeps_everything_it_names(project):
    """Rule 5: a recent unreachable object is a root with all it names, even
    where what it names is old."""
    from cl.bundles import maintenance
    with opened(project) as repo:
        wsc, sid, bid, tid, blob = _unreachable_chain(repo)
        old = time.time() - 7200
        for oid in (bid, tid, blob):
            os.utime(repo.store.path(oid), (old, old))
        report = maintenance.gc(repo, grace_seconds=3600)
        assert report.objects == 0 and all(repo.store.has(o) for o in (wsc, sid, bid, tid, blob))
        os.utime(repo.store.path(sid), (old, old))  # the state old too: the bundle and below go with it
        maintenance.gc(repo, grace_seconds=3600)
        assert [repo.store.has(o) for o in (wsc, sid, bid, tid, blob)] == [True, False, False, False, False]
