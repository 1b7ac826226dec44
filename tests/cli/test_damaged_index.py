"""A damaged `repo.db` (truncated, garbage, wrong schema, tables missing,
deleted): every command says in one line that the index is damaged and to
run `cl reindex`, and changes nothing; `cl reindex` keeps the damaged file
aside, rebuilds the index and the heads from the objects, keeps what it can
still read of the other refs (the current worksheet, remote positions,
server tokens) and says what it could not."""

import os
import sqlite3

import pytest

from tests.cli.test_errors import one_line_error
from tests.conftest import tree


def _sql(path, script):
    db = sqlite3.connect(path)
    try:
        db.executescript(script)
    finally:
        db.close()


def _truncate(size):
    def damage(path):
        with open(path, "r+b") as f:
            f.truncate(size if size >= 0 else os.path.getsize(path) // 2)
    return damage


def _garbage(path):
    with open(path, "wb") as f:
        f.write(b"not a database, just text\n" * 400)


def _scribble(path):
    """Every page but the first (the header and the schema) overwritten:
    the file still looks like SQLite until a table is read."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\x07" * (size - 4096))


def _gone(path):
    os.unlink(path)


DAMAGE = {
    "empty": _truncate(0),
    "truncated-header": _truncate(60),
    "truncated-half": _truncate(-1),
    "garbage": _garbage,
    "scribbled": _scribble,
    "deleted": _gone,
    "wrong-schema": lambda p: _sql(p, "DROP TABLE bundles; CREATE TABLE bundles (x INTEGER);"),
    "no-refs-table": lambda p: _sql(p, "DROP TABLE refs;"),
    "no-index-tables": lambda p: _sql(p, "DROP TABLE worksheets; DROP TABLE ws_items;"),
    "other-version": lambda p: _sql(p, "UPDATE meta SET value = '999' WHERE key = 'schema';"),
}
# where the refs table can still be read, its other refs are kept
REFS_READABLE = {"wrong-schema", "no-index-tables", "other-version"}


@pytest.fixture
def varied(project, cl, tmp_path):
    """Two worksheets, a removed bundle, a removed worksheet, a remote."""
    tree(project, {"a.txt": "a\n", "b.txt": "b\n", "gone.txt": "gone\n"})
    cl(["upload", "a.txt"], project)
    cl(["upload", "gone.txt"], project)
    cl(["rm", "gone.txt"], project)
    cl(["new", "other"], project)
    cl(["upload", "b.txt", "-w", "other"], project)
    cl(["new", "removed"], project)
    cl(["wrm", "--force", "removed"], project)
    far = tmp_path / "far"
    far.mkdir()
    cl(["init"], far)
    cl(["remote", "add", "origin", str(far)], project)
    cl(["push"], project)
    return project


QUERIES = [["ls"], ["ls", "-w", "other"], ["wls"], ["info", "-f", "id,name,state", "a.txt"],
           ["remote", "ls"], ["search", ".limit=100"]]


def _answers(cl, project):
    return [(a.stdout, a.stderr, a.returncode) for a in (cl(q, project, check=False) for q in QUERIES)]


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_damaged_index_is_one_line_then_reindex_rebuilds_it(varied, cl, how):
    before = _answers(cl, varied)
    assert all(code == 0 for _, _, code in before), before
    db = varied / ".codalab" / "repo.db"
    DAMAGE[how](db)
    damaged = db.read_bytes() if db.exists() else None
    objects = sorted(p.name for p in (varied / ".codalab" / "objects").glob("??/*"))

    for args in (["ls"], ["info", "a.txt"], ["upload", "b.txt"], ["wls"], ["status"], ["fsck"],
                 ["gc"], ["push"], ["search", "a.txt"], ["cat", "a.txt"]):
        line = one_line_error(cl(args, varied, check=False))
        assert "damaged" in line and "cl reindex" in line, (args, line)
    assert sorted(p.name for p in (varied / ".codalab" / "objects").glob("??/*")) == objects
    assert (db.read_bytes() if db.exists() else None) == damaged

    done = cl(["reindex"], varied)
    assert "Traceback" not in done.stderr
    assert done.stdout.strip() == "reindexed 3 bundles, 3 worksheets"
    kept = [p for p in (varied / ".codalab").iterdir() if p.name.startswith("repo.db.damaged-")
            and not p.name.endswith(("-wal", "-shm"))]  # SQLite's files beside it go with it
    if damaged is None:
        assert kept == []
    else:
        assert len(kept) == 1 and kept[0].read_bytes() == damaged
        assert str(kept[0].name) in done.stderr
    if how not in REFS_READABLE:
        # the current worksheet is lost with the refs: say so, and how to choose one
        assert "cl work" in done.stderr
        cl(["work", "project"], varied)
    after = _answers(cl, varied)
    for query, a, b in zip(QUERIES, before, after):
        assert a == b, query
    assert cl(["fsck"], varied).stdout == ""
    # and the repository works again
    cl(["upload", "b.txt", "-n", "again"], varied)
    cl(["push"], varied)


def test_reindex_of_a_sound_index_sets_nothing_aside(varied, cl):
    before = _answers(cl, varied)
    done = cl(["reindex"], varied)
    assert done.stderr == ""
    assert not [p for p in (varied / ".codalab").iterdir() if "damaged" in p.name]
    assert _answers(cl, varied) == before


def test_init_over_a_repository_whose_index_is_gone_says_to_reindex(varied, cl):
    (varied / ".codalab" / "repo.db").unlink()
    line = one_line_error(cl(["init"], varied, check=False))
    assert "damaged" in line and "cl reindex" in line
    assert not (varied / ".codalab" / "repo.db").exists()


def test_with_one_worksheet_left_it_becomes_current(project, cl):
    cl(["upload", "-c", "x", "-n", "x"], project)
    _garbage(project / ".codalab" / "repo.db")
    done = cl(["reindex"], project)
    assert "the current worksheet is now 'project', the only one" in done.stderr
    assert "x" in cl(["ls"], project).stdout


def test_a_repo_db_of_schema_1_gains_the_provenance_tables_when_opened(project, cl):
    """A repository made by the cl before the integer-keyed provenance
    tables (schema 1) opens as it is: its first command adds and fills
    them from the dependency rows, and the lists read them as if the
    repository had been made now."""
    tree(project, {"a.txt": "a\n", "b.txt": "b\n"})
    cl(["upload", "a.txt"], project)
    cl(["upload", "b.txt"], project)
    cl(["make", "x:a.txt", "y:b.txt", "-n", "both"], project)
    cl(["make", "both/x", "-n", "part"], project)
    before = {args: cl(list(args), project).stdout
              for args in (("ancestors", "part"), ("descendants", "a.txt"), ("ancestors", "part", "--json"))}
    db = project / ".codalab" / "repo.db"
    _sql(db, "DROP TABLE edges; DROP TABLE nodes; UPDATE meta SET value = '1' WHERE key = 'schema';")
    after = {args: cl(list(args), project).stdout for args in before}
    assert after == before
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
        assert conn.execute("SELECT count(*) FROM edges").fetchone() == (3,)
    finally:
        conn.close()
    cl(["fsck"], project)
