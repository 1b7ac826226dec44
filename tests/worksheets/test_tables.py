"""Typed tables (cl/worksheets/tables.py): a worksheet's bundles under a
schema as values -- numbers stay numbers, times become datetimes, the
formatting post-processors are not applied -- where the page shows text."""

import datetime

import pytest

from cl.errors import InputError
from cl.objects.types import Item
from cl.worksheets import ops
from cl.worksheets.tables import table
from tests.worksheets.builders import add_dataset, add_run

SCHEMA = ["schema s", "add name", "add loss /stats.json:loss", "add epochs /log.yaml:epochs",
          "add best /best", "add note /note", "add time time duration", "add size data_size size",
          "add short uuid [0:8]", "add when created date", "add finished", "add missing /nothing"]


def worksheet(repo, *items):
    wid = repo.current_worksheet()
    ops.add_items(repo, wid, list(items), "test")
    return repo.worksheet_head(wid)[1]


def test_values_are_typed(repo):
    run = add_run(repo, "train", {"stats.json": '{"loss": 0.25}', "log.yaml": "epochs: 12\n",
                                  "best": "0.5\n", "note": "fine\n"}, seconds=90)
    ws = worksheet(repo, *(Item("directive", d) for d in SCHEMA), Item("bundle", run))
    t = table(repo, ws, ("s",))
    assert t.headers == ("name", "loss", "epochs", "best", "note", "time", "size", "short", "when",
                         "finished", "missing")
    [row] = t.rows
    assert row.bundle == run
    name, loss, epochs, best, note, seconds, size, short, when, finished, missing = row.values
    assert (name, loss, epochs, best, note) == ("train", 0.25, 12, 0.5, "fine")
    assert type(epochs) is int and type(best) is float
    assert seconds == 90.0 and isinstance(size, int)          # duration and size only format
    assert short == "0x" + run                                 # so does a slice
    assert isinstance(when, datetime.datetime) and when.tzinfo is not None
    assert isinstance(finished, datetime.datetime) and finished >= when.replace(microsecond=0)
    assert missing is None


def test_rows_are_the_worksheets_bundles_once_in_order(repo):
    a = add_dataset(repo, "a", "a\n", worksheet="")  # on no worksheet yet
    b = add_dataset(repo, "b", "b\n", worksheet="")
    ws = worksheet(repo, Item("bundle", b), Item("markup", "text"), Item("bundle", a), Item("bundle", b))
    t = table(repo, ws)
    assert [r.bundle for r in t.rows] == [b, a]
    assert t.headers[:2] == ("uuid", "name") and [r.values[1] for r in t.rows] == ["b", "a"]


def test_unknown_schema(repo):
    ws = worksheet(repo, Item("bundle", add_dataset(repo, "a", "a\n")))
    with pytest.raises(InputError, match="unknown schema 'nope'"):
        table(repo, ws, ("nope",))
