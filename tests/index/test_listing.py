"""`Index.listing`, the one query behind `cl ls`: the same bundles, order
and fields as reading the worksheet's items and then bundles() one by one,
with creation times formatted by SQLite exactly as `local_time` formats
them in Python, in any time zone."""

import os
import time

import pytest

from cl.index.index import Index, local_time
from cl.objects.ids import hash_bytes
from cl.objects.types import Bundle, Contents, MODE_FILE, State
from cl.objects.value import replace
from cl.refs.db import Database

from tests.index.test_index import BUNDLES, _id, put_ws, restate

S = 10**9
# Creation times around the edges: unset, the epoch, the years SQLite leaves
# to Python (before 1971, from 2038), a daylight-saving change (Europe,
# 2024-03-31 01:00 UTC), and fractions of a second that round up to the next
# second in floating point.
TIMES = [0, 1, S - 1, 86_400 * S, 31_535_999 * S + S - 1, 31_536_000 * S, 1_700_000_000 * S,
         1_700_000_000 * S + S - 1, 1_711_846_799 * S, 1_711_846_800 * S, 1_711_846_800 * S + 1,
         1_720_000_000 * S + 999_999_999, 2_145_916_799 * S + S - 1, 2_145_916_800 * S,
         2_200_000_000 * S + 12_345, 4_102_444_800 * S]
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@pytest.fixture
def index(tmp_path):
    db = Database(str(tmp_path / "repo.db"))
    yield Index(db)
    db.close()


@pytest.fixture
def zone():
    """Sets TZ (for Python and for SQLite, which share the C library's
    time zone) and restores it afterwards."""
    before = os.environ.get("TZ")

    def set_zone(name):
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def add(index, n, created, command=None, size=10, kind="dataset", state="ready"):
    contents = Contents(MODE_FILE, size, hash_bytes(b"listing %d" % n)) if size is not None else None
    bundle = Bundle(kind=kind, created=created, creator="alice", nonce=f"{n:032x}",
                    metadata={"name": f"b{n}", "description": "", "tags": []}, contents=contents,
                    command=command)
    bid = _id(bundle)
    BUNDLES[bid] = bundle
    st = State(bundle=bid, parents=(), time=created, author="alice", metadata=dict(bundle.metadata),
               state=state)
    with index.db.transaction():
        index.put_bundle(bid, bundle, _id(st), st, size)
    return bid


def expected(index, wid):
    """The columns as `cl ls` used to build them: the worksheet's bundle ids
    once per appearance, their rows, local_time of the creation time."""
    found = {r.id: r for r in index.bundles(list(dict.fromkeys(index.worksheet_bundles(wid))))
             if not r.deleted}
    rows = [found[b] for b in index.worksheet_bundles(wid) if b in found]
    fields = [(r.id, r.name, r.kind, r.state, r.data_size, local_time(r.created) or "", r.command or "")
              for r in rows]
    return [tuple(c) for c in zip(*fields)] if fields else [()] * 7


@pytest.mark.parametrize("name", ZONES)
def test_times_as_local_time_formats_them(index, zone, name):
    zone(name)
    ids = [add(index, n, t) for n, t in enumerate(TIMES)]
    wid = put_ws(index, "times", [("bundle", b) for b in ids])
    listing = index.listing(wid)
    assert list(listing[5]) == [local_time(t) or "" for t in TIMES]
    assert [tuple(c) for c in listing] == expected(index, wid)


def test_order_duplicates_deleted_and_other_items(index):
    a, b, c, d = (add(index, 100 + n, 1_700_000_000 * S + n * S, command=cmd, size=size, kind=kind)
                  for n, (cmd, size, kind) in enumerate([(None, 5, "dataset"), ("echo hi  ", None, "run"),
                                                         ("x" * 60, 3 << 20, "run"), ("", 0, "make")]))
    restate(index, c, lambda s: replace(s, deleted=True))
    items = [("markup", "# title"), ("bundle", b), ("bundle", a), ("worksheet", "ab" * 16), ("bundle", b),
             ("bundle", c), ("directive", "schema s"), ("bundle", d), ("bundle", a)]
    wid = put_ws(index, "mixed", items)
    listing = index.listing(wid)
    assert list(listing[0]) == [b, a, b, d, a]  # each appearance; not the removed c
    assert [tuple(col) for col in listing] == expected(index, wid)


def test_empty_and_unknown_worksheets(index):
    assert index.listing(put_ws(index, "empty")) == [()] * 7
    assert index.listing("0" * 32) == [()] * 7
