"""Progress of long work on objects: the Meter reports at a bounded rate
and always at a phase's start and end; an upload of one large file is
reported chunk by chunk, not once when the file is done."""

import os

from cl.objects import store as store_mod
from cl.objects.ingest import IngestOptions, ingest_path
from cl.objects.progress import Meter, Tick, meter


def test_meter_reports_start_and_finish_and_not_every_object():
    ticks: list[Tick] = []
    m = Meter(ticks.append, interval=3600)  # an hour: only the forced reports come through
    m.start("sending", 1000, 10_000)
    for _ in range(1000):
        m.add(1, 10)
    m.finish()
    assert [t.phase for t in ticks] == ["sending", "sending"]
    assert ticks[0] == Tick("sending", 0, 1000, 0, 10_000, False)
    assert ticks[-1] == Tick("sending", 1000, 1000, 10_000, 10_000, True)


def test_meter_totals_grow_and_phases_follow_each_other():
    ticks: list[Tick] = []
    m = Meter(ticks.append, interval=0)  # every add reported
    m.start("receiving")
    assert ticks[-1].objects_total is None and ticks[-1].bytes_total is None
    m.expect(2, 100)
    m.add(1, 60)
    m.expect(1, 0)
    m.add(2, 40)
    assert ticks[-1] == Tick("receiving", 3, 3, 100, 100, False)
    m.start("sending", 1, 5)  # finishes the phase before
    assert ticks[-2].done and ticks[-2].phase == "receiving"
    assert ticks[-1] == Tick("sending", 0, 1, 0, 5, False)
    assert meter(None) is None


def test_one_large_file_is_reported_by_bytes_as_it_is_stored(tmp_path, disk_store, monkeypatch):
    monkeypatch.setattr(store_mod, "COPY_CHUNK", 1 << 20)  # a 5 MiB file is then five chunks
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(5 << 20) + b"tail")
    heard: list[int] = []
    contents = ingest_path(disk_store, str(path), IngestOptions(progress=heard.append))
    assert sum(heard) == contents.size == (5 << 20) + 4
    assert len(heard) >= 5 and max(heard) <= 1 << 20  # chunk by chunk, not one call at the end


def test_small_files_are_reported_once_each(tmp_path, disk_store):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(3):
        (d / f"f{i}").write_text("x" * (i + 1))
    heard: list[int] = []
    ingest_path(disk_store, str(d), IngestOptions(progress=heard.append))
    assert sorted(heard) == [1, 2, 3]
