"""`cl ls` keeps its text per worksheet in repo.db (Index.listing_text).
Whatever changes the worksheet or any bundle must drop it, in the same
transaction: after every kind of change, ls must print what it prints with
the cache emptied by hand."""

import sqlite3

from tests.cli.test_errors import add


def cached_rows(project) -> list[tuple]:
    with sqlite3.connect(project / ".codalab" / "repo.db") as conn:
        return conn.execute("SELECT wid, key FROM ls_cache").fetchall()


def uncached_ls(project, cl, env=None) -> str:
    with sqlite3.connect(project / ".codalab" / "repo.db") as conn:
        conn.execute("DELETE FROM ls_cache")
    return cl(["ls"], project, env=env).stdout


def test_ls_is_cached_until_something_it_shows_changes(project, cl):
    add(project, text="first", name="one")
    first = cl(["ls"], project).stdout
    assert len(cached_rows(project)) == 1
    assert cl(["ls"], project).stdout == first  # served from the cache

    changes = [
        ["upload", "-c", "second", "-n", "two"],                 # a bundle added to the worksheet
        ["edit", "one", "-n", "renamed-one-with-a-longer-name"],  # a bundle's state (widths change too)
        ["wedit", "-t", "A title now"],                          # the worksheet's header
        ["wedit", "-n", "renamed-ws"],
        ["add", "-m", "a note is not a bundle row"],
        ["new", "other", "--no-link"],                           # another worksheet: ls here unchanged
        ["rm", "two"],                                           # a bundle removed
    ]
    for change in changes:
        cl(["ls"], project)  # fill the cache
        assert cached_rows(project)
        cl(change, project)
        shown = cl(["ls"], project).stdout
        assert shown == uncached_ls(project, cl), change
    assert "renamed-one-with-a-longer-name" in shown and " two " not in shown
    assert shown.startswith("worksheet: renamed-ws (A title now)\n")


def test_a_run_finishing_elsewhere_drops_the_cache(project, cl):
    """A bundle's state changing through the index alone (as a worker
    finishing a run does) is seen: the triggers are on the tables."""
    add(project, text="x", name="x")
    cl(["ls"], project)
    with sqlite3.connect(project / ".codalab" / "repo.db") as conn:
        conn.execute("UPDATE bundles SET state = 'failed' WHERE name = 'x'")
    assert cached_rows(project) == []
    assert " failed " in cl(["ls"], project).stdout


def test_each_time_zone_has_its_own_text(project, cl):
    add(project, text="x", name="x")
    utc = cl(["ls"], project, env={"TZ": "UTC"}).stdout
    tokyo = cl(["ls"], project, env={"TZ": "Asia/Tokyo"}).stdout
    assert utc != tokyo and len(cached_rows(project)) == 2
    assert cl(["ls"], project, env={"TZ": "UTC"}).stdout == utc == uncached_ls(project, cl, {"TZ": "UTC"})


def test_ls_does_not_wait_for_a_writer(project, cl):
    """Another process in a write transaction: ls renders and prints at
    once, storing nothing."""
    add(project, text="x", name="x")
    expected = uncached_ls(project, cl)
    with sqlite3.connect(project / ".codalab" / "repo.db", isolation_level=None) as writer:
        writer.execute("DELETE FROM ls_cache")
        writer.execute("BEGIN IMMEDIATE")
        assert cl(["ls"], project, timeout=20).stdout == expected
        writer.execute("ROLLBACK")
    assert cached_rows(project) == []


def test_the_schema_check_names_the_last_object():
    """Index opens without writing when _LAST_IN_SCHEMA exists, so it must
    be the object SCHEMA creates last."""
    import re

    from cl.index.index import _LAST_IN_SCHEMA, SCHEMA
    assert re.findall(r"IF NOT EXISTS (\w+)", SCHEMA)[-1] == _LAST_IN_SCHEMA
