"""Packs of small objects (cl/objects/pack.py, packing.py; docs/format.md
§7.1): what a batch writer packs, how the store reads packs beside loose
files, what `check` finds in a damaged pack, and gc's `compact`."""

import os
import re

import pytest

from cl.errors import CorruptObject, ObjectMissing
from cl.objects import pack as packfmt
from cl.objects import packing
from cl.objects import store as store_module
from cl.objects.ids import ObjectId, hash_bytes
from cl.objects.ingest import ingest_path
from cl.objects.pack import PACKED_BELOW, Pack, check, index_bytes, pack_bytes
from cl.objects.packing import PACK_MIN, pack_report
from cl.objects.store import DiskStore, read_object

from .helpers import make_disk_store

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "format.md")


def small(n: int, salt: str = "") -> dict:
    out = {}
    for i in range(n):
        data = f"{salt}object {i}\n".encode() * (i % 5 + 1)
        out[hash_bytes(data)] = data
    return out


def packed_store(tmp_path, objects: dict):
    store = make_disk_store(tmp_path)
    with store.batch() as batch:
        for oid, data in objects.items():
            batch.write(oid, data)
    return store


def loose_files(store) -> list[str]:
    return [f for d in os.listdir(store.root) if len(d) == 2 for f in os.listdir(os.path.join(store.root, d))]


def pack_dir(store) -> list[str]:
    return sorted(os.listdir(store.packs.directory))


def only_pack(store) -> Pack:
    (name,) = [n[:-4] for n in pack_dir(store) if n.endswith(".idx")]
    return Pack(store.packs.directory, name)


def test_a_batch_packs_small_objects_and_the_store_reads_them(tmp_path):
    objects = small(500)
    store = packed_store(tmp_path, objects)
    assert loose_files(store) == []
    names = pack_dir(store)
    assert len(names) == 2 and names[0].endswith(".idx") and names[1].endswith(".pack")
    for oid, data in objects.items():
        assert store.has(oid) and store.packed(oid)
        assert store.read_bytes(oid) == data
        assert store.size(oid) == len(data)
        assert store.open(oid).read() == data
        assert store.verify(oid)
        assert store.read_small(oid, 1 << 20) == data
    assert sorted(s.id for s in store.stored()) == sorted(objects)
    assert store.has_many(list(objects) + ["00" * 32]) == set(objects)
    with pytest.raises(ObjectMissing):
        store.read_bytes("00" * 32)
    reopened = make_disk_store(tmp_path)  # another process sees the same
    assert all(reopened.read_bytes(oid) == data for oid, data in objects.items())
    assert check(only_pack(store)) == []
    assert pack_report(store) == ([], [])


def test_a_few_objects_stay_loose_and_large_ones_always(tmp_path):
    few = small(PACK_MIN - 1)
    big = b"x" * PACKED_BELOW
    store = make_disk_store(tmp_path)
    with store.batch() as batch:
        for oid, data in few.items():
            batch.write(oid, data)
        batch.write(hash_bytes(big), big)
    assert not os.path.exists(store.packs.directory)
    assert len(loose_files(store)) == len(few) + 1


def test_a_packed_object_is_copied_not_linked(tmp_path):
    objects = small(100)
    store = packed_store(tmp_path, objects)
    oid, data = next(iter(objects.items()))
    dest = tmp_path / "out"
    assert store.link_into(oid, str(dest)) is False
    store.copy_to(oid, str(dest), 0o644)
    assert dest.read_bytes() == data


def test_nothing_is_visible_before_the_batch_ends(tmp_path):
    """[F24] a pack is visible only once its index is in place (SIGKILL at
    every moment: tests/cli/test_pack_kills.py)."""
    objects = small(200)
    store = make_disk_store(tmp_path)
    other = make_disk_store(tmp_path)
    batch = store.batch()
    for oid, data in objects.items():
        batch.write(oid, data)
    assert not any(other.has(oid) for oid in objects)
    assert os.listdir(store.tmp)  # the pack being written
    batch.close()
    assert all(other.has(oid) for oid in objects)
    assert os.listdir(store.tmp) == []


def test_rewriting_packed_objects_adds_nothing(tmp_path):
    """[F16] a present object is not stored again, packed or not."""
    objects = small(100)
    store = packed_store(tmp_path, objects)
    before = pack_dir(store)
    with store.batch() as batch:
        for oid, data in objects.items():
            batch.write(oid, data)
    assert pack_dir(store) == before
    assert loose_files(store) == []


def test_an_ingest_packs_small_files_and_trees(tmp_path):
    src = tmp_path / "src"
    for d in range(5):
        (src / f"d{d}").mkdir(parents=True)
        for i in range(40):
            (src / f"d{d}" / f"f{i}").write_bytes(os.urandom(100 + i))
    (src / "big").write_bytes(os.urandom(PACKED_BELOW + 1))
    store = make_disk_store(tmp_path / "repo")
    contents = ingest_path(store, str(src))
    assert loose_files(store) == [hash_bytes((src / "big").read_bytes())[2:]]
    root = read_object(store, contents.id)
    assert {e.name for e in root.entries} == {"big", "d0", "d1", "d2", "d3", "d4"}
    assert store.packed(contents.id)


def _flip(path: str, at: int) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_check_finds_a_damaged_object_and_reads_refuse_it(tmp_path):
    """[F22] each record's bytes hash to its id, the pack to its sum."""
    objects = small(50)
    store = packed_store(tmp_path, objects)
    p = only_pack(store)
    raw, offset, size = next(iter(p.entries()))
    _flip(p.pack_path, offset)
    p = only_pack(store)
    problems = check(p)
    assert any(f"object 0x{raw.hex()}" in text and "corrupt" in text for text in problems)
    assert any("checksum" in text for text in problems)
    fresh = make_disk_store(tmp_path)
    with pytest.raises(CorruptObject):
        fresh.open(raw.hex())
    assert not fresh.verify(raw.hex())


def test_check_finds_a_truncated_pack_and_a_damaged_index(tmp_path):
    """[F22] a truncated pack, [F23] an index that fails its checksum."""
    objects = small(50)
    store = packed_store(tmp_path, objects)
    p = only_pack(store)
    os.chmod(p.pack_path, 0o644)
    os.truncate(p.pack_path, p.size // 2)
    problems = check(only_pack(store))
    assert any("truncated" in text for text in problems)

    store2 = packed_store(tmp_path / "two", objects)
    p2 = only_pack(store2)
    _flip(p2.idx_path, packfmt.HEAD + packfmt.ENTRY.size + 1)  # inside the second id
    problems = check(only_pack(store2))
    assert any("index does not match its checksum" in text for text in problems)


def test_an_unfinished_pack_is_a_note_and_an_odd_file_a_problem(tmp_path):
    store = packed_store(tmp_path, small(50))
    p = only_pack(store)
    os.unlink(p.idx_path)  # as if the writer died between its two renames
    with open(os.path.join(store.packs.directory, "junk"), "w") as f:
        f.write("x")
    problems, notes = pack_report(store)
    assert len(notes) == 1 and "did not finish" in notes[0]
    assert len(problems) == 1 and "junk" in problems[0]
    assert not any(make_disk_store(tmp_path).has(oid) for oid in small(50))


def test_compact_drops_objects_and_keeps_the_rest(tmp_path):
    objects = small(300)
    store = packed_store(tmp_path, objects)
    more = small(100, salt="second ")
    with store.batch() as batch:
        for oid, data in more.items():
            batch.write(oid, data)
    loose = store.write_bytes(b"a loose small object")
    drop = set(list(objects)[:50])
    young = set(list(more)[:10])
    old = only_pack_names = [n for n in pack_dir(store) if n.endswith(".idx")]
    assert len(only_pack_names) == 2
    for name in old:  # make the packs look old
        os.utime(os.path.join(store.packs.directory, name), ns=(10**18, 10**18))
    store.close()  # the writes' span ends: gc's hold can be taken
    store = make_disk_store(tmp_path)  # as gc, which sees the packs' times
    with store.collecting():
        assert store.compact(drop, young, gather=True) == 2
    left = {s.id: s.mtime_ns for s in store.stored()}
    assert set(left) == (set(objects) | set(more) | {loose}) - drop
    assert all(left[oid] == 10**18 for oid in young)  # not made young again
    assert loose_files(store) == []
    for oid, data in {**objects, **more}.items():
        if oid not in drop:
            assert store.read_bytes(oid) == data
    assert pack_report(store) == ([], [])


@pytest.mark.parametrize("damaged_pack", ["kept", "rewritten"])
def test_compact_keeps_the_good_copy_that_repairs_a_damaged_packed_one(tmp_path, damaged_pack):
    """An upload of bytes whose packed copy is damaged stores a good loose
    copy beside it (reads take that one).  A gather must keep the good
    copy -- not delete it because a pack "holds" the id, nor carry the
    damaged bytes into the new pack in its place."""
    objects = small(300)
    store = packed_store(tmp_path, objects)
    if damaged_pack == "rewritten":  # a second, larger pack: the damaged one is gathered
        packed_store(tmp_path, small(2000, salt="big "))
    (damaged_name,) = [n[:-5] for n in pack_dir(store) if n.endswith(".pack")
                       and Pack(store.packs.directory, n[:-5]).find(bytes.fromhex(next(iter(objects)))) >= 0]
    p = Pack(store.packs.directory, damaged_name)
    raw, offset, size = p.entry(p.find(bytes.fromhex(next(iter(objects)))))
    oid = raw.hex()
    _flip(p.pack_path, offset)
    store = make_disk_store(tmp_path)
    assert store.write_bytes(objects[oid]) == oid  # the repair: a good loose copy
    with store.open(oid) as f:  # a checked read takes it
        assert f.read() == objects[oid]
    store.close()
    with store.collecting():
        store.compact(gather=True)
    fresh = make_disk_store(tmp_path)
    assert fresh.read_bytes(oid) == objects[oid] and fresh.verify(oid)
    assert pack_report(fresh) == ([], [])  # the damaged record is gone with its pack
    assert loose_files(fresh) == []


def test_compact_leaves_a_damaged_loose_object_loose(tmp_path):
    """A gather reads each loose object before packing it: one whose bytes
    no longer hash to its name stays where it is, for `cl fsck` to name,
    and is not sealed into a pack under a checksum that vouches for it."""
    store = packed_store(tmp_path, small(300))
    good = store.write_bytes(b"a good loose object")
    bad = store.write_bytes(b"soon a damaged loose object")
    os.chmod(store.path(bad), 0o644)
    with open(store.path(bad), "wb") as f:
        f.write(b"something else entirely")
    store.close()
    with store.collecting():
        store.compact(gather=True)
    assert store.packed(good) and not os.path.exists(store.path(good))
    assert not store.packed(bad) and os.path.exists(store.path(bad))
    assert not store.verify(bad)


def test_a_dedup_check_does_not_trust_a_pack_gc_replaced(tmp_path):
    """A long-lived process (a server) keeps a pack mapped; gc in another
    process rewrites it without an object.  The mapping still reads, but
    a deduplication check must not find the object there: the writer
    would name an object gc has deleted."""
    objects = small(100)
    store = packed_store(tmp_path, objects)
    store.close()
    server = make_disk_store(tmp_path)
    doomed, kept = list(objects)[:2]
    assert server.has(doomed) and server.read_bytes(kept) == objects[kept]
    gc_side = make_disk_store(tmp_path)
    with gc_side.collecting():
        assert gc_side.compact({doomed}, set()) == 1
    assert not server.has(doomed)
    assert server.has_many([doomed, kept]) == {kept}
    assert server.read_bytes(kept) == objects[kept]
    with pytest.raises(ObjectMissing):
        server.read_bytes(doomed)


def test_a_repack_to_the_same_bytes_keeps_the_pack(tmp_path):
    """A rewrite whose output is byte for byte a pack it replaces has that
    pack's name: the rename lands on it, and it must not then be removed
    as replaced (seen losing a worksheet's head in a gc beside a pull)."""
    store = packed_store(tmp_path, small(300))
    lone = store.write_bytes(b"a worksheet's first commit, say")  # loose
    store.close()
    with store.collecting():
        store.compact(gather=True)  # the big pack stays; `lone` gets a pack of its own
        assert store.packed(lone) and loose_files(store) == []
        store.compact(gather=True)  # rewrites that small pack to the same bytes
    fresh = make_disk_store(tmp_path)
    assert fresh.read_bytes(lone) == b"a worksheet's first commit, say"
    assert pack_report(fresh) == ([], [])


def test_a_long_lived_reader_follows_a_pack_rewritten_to_the_same_name(tmp_path):
    """A server holds a pack open; gc in another process rewrites it to
    the same bytes, so the new index has the old one's name but is a new
    file.  The server's dedup check must open the new index, not keep the
    dead one it has under that name (seen as a RecursionError in a push
    beside `cl gc --prune now`)."""
    store = packed_store(tmp_path, small(300))
    lone = store.write_bytes(b"a worksheet's first commit, say")  # loose
    store.close()
    gc_side = make_disk_store(tmp_path)
    with gc_side.collecting():
        gc_side.compact(gather=True)  # `lone` gets a small pack of its own
    server = make_disk_store(tmp_path)
    assert server.has(lone)  # the server maps that small pack
    with gc_side.collecting():
        gc_side.compact(gather=True)  # rewrites it to the same bytes, under the same name
    assert server.has(lone) and server.has_many([lone]) == {lone}
    assert server.read_bytes(lone) == b"a worksheet's first commit, say"


def test_gc_removes_an_unfinished_pack(tmp_path):
    store = packed_store(tmp_path, small(50))
    store.close()
    p = only_pack(store)
    os.unlink(p.idx_path)  # its writer died between the two renames
    with store.collecting():
        store.compact(gather=True)
    assert pack_dir(store) == []


# --- golden vectors ([F25]) --------------------------------------------------

GOLDEN_OBJECTS = [b"hello\n", b""]


def golden() -> tuple[bytes, bytes]:
    objects = [(bytes.fromhex(hash_bytes(d)), d) for d in GOLDEN_OBJECTS]
    data, entries = pack_bytes(objects)
    return data, index_bytes(entries, data[-32:])


def _hex_block(name: str) -> str:
    text = open(DOCS, encoding="utf-8").read()
    m = re.search(rf"#### {re.escape(name)}\n.*?```\n(.*?)```", text, re.S)
    assert m, f"docs/format.md has no vector {name}"
    return "".join(m.group(1).split())


def test_the_golden_pack_and_index_are_in_the_docs(tmp_path):
    """[F25] the vectors; [F22] and [F23] byte for byte."""
    data, index = golden()
    assert _hex_block("pack-golden.pack") == data.hex()
    assert _hex_block("pack-golden.idx") == index.hex()
    # and they are what a writer makes, and what a reader reads
    store = make_disk_store(tmp_path)
    writer = store.pack_writer()
    for d in GOLDEN_OBJECTS:
        writer.add(hash_bytes(d), d)
    name = writer.publish()
    assert name == "pack-" + data[-32:].hex()
    with open(os.path.join(store.packs.directory, name + ".pack"), "rb") as f:
        assert f.read() == data
    with open(os.path.join(store.packs.directory, name + ".idx"), "rb") as f:
        assert f.read() == index
    assert [store.read_bytes(hash_bytes(d)) for d in GOLDEN_OBJECTS] == GOLDEN_OBJECTS
    assert check(only_pack(store)) == []


def test_add_many_writes_what_add_writes_one_at_a_time(tmp_path, monkeypatch):
    """A pack frame's objects go in with one call: the same pack, byte for
    byte, as one `add` each; an object held already is skipped."""
    store = make_disk_store(tmp_path)
    writer = store.pack_writer()
    objects = [(hash_bytes(d), d) for d in GOLDEN_OBJECTS]
    assert writer.add_many(objects[:2]) == 2
    assert writer.add_many(objects) == len(objects) - 2
    assert writer.add_many(objects) == 0
    assert writer.publish() == "pack-" + golden()[0][-32:].hex()
    assert writer.add_many(objects[:2] + objects[:1]) == 2  # one id twice in a call: stored once
    assert writer.add_many(objects[2:] + objects[1:3]) == len(objects) - 2
    assert writer.publish() == "pack-" + golden()[0][-32:].hex()
    monkeypatch.setattr(packfmt, "PACK_LIMIT", 100)
    with pytest.raises(ValueError, match="too large"):
        writer.add_many([("00" * 32, b"")] + [("11" * 32, bytes(100))])
    assert len(writer) == 0  # refused whole: nothing went in


def test_a_large_pack_goes_to_disk_while_it_is_written(tmp_path, monkeypatch):
    """Every SYNC_BEHIND bytes, an fdatasync on a thread (FlushBehind), so
    the publishing fsync waits for the tail only; a failure of one is
    raised by the publish, which then leaves nothing behind."""
    monkeypatch.setattr(packfmt.PackWriter, "GATHER", 1 << 12)
    monkeypatch.setattr(packfmt.PackWriter, "SYNC_BEHIND", 1 << 14)
    store = make_disk_store(tmp_path)
    writer = store.pack_writer()
    blobs = [os.urandom(3000) for _ in range(40)]
    for d in blobs:
        writer.add(hash_bytes(d), d)
    assert writer._behind is not None and writer._synced_at >= 1 << 14
    assert writer.publish()
    assert [store.read_bytes(hash_bytes(d)) for d in blobs] == blobs
    assert check(only_pack(store)) == []

    failed = packfmt.FlushBehind(1 << 20)  # an fdatasync that fails (EBADF: no such descriptor)
    with pytest.raises(OSError):
        failed.result()
    for d in blobs[:5]:
        writer.add(hash_bytes(d), d)
    writer._behind = failed
    with pytest.raises(OSError):
        writer.publish()
    assert os.listdir(store.tmp) == []
    assert len(os.listdir(store.packs.directory)) == 2  # the first pack and its index only


def test_many_ids_are_found_over_many_packs(tmp_path, monkeypatch):
    """`has_many` asks every pack about many ids at once
    (PackSet.lookup): small packs are read into a set, a large one searched;
    both give what asking one id at a time gives.  A batch that has asked
    often enough reads the small packs' ids into a set and searches the
    rest (PackLanding._packed): an object held in any pack is not written
    again."""
    store = make_disk_store(tmp_path)
    groups = [small(20, f"pack {k} ") for k in range(5)] + [small(400, "large ")]
    for objects in groups:  # five small packs and a large one
        with store.batch() as batch:
            batch.write_many(list(objects.items()))
    loose = small(3, "loose ")
    for data in loose.values():
        store.write_bytes(data)
    absent = small(7, "absent ")
    asked = [o for g in groups for o in list(g)[:4]] + list(loose) + list(absent)
    assert len(pack_dir(store)) == 12
    assert 20 <= len(asked) * packfmt.SCAN_PER_ID < 400  # both ways of looking are taken
    assert store.has_many(asked) == {o for o in asked if store.has(o)} == set(asked) - set(absent)

    monkeypatch.setattr(packing, "SNAPSHOT_AFTER", 10)
    monkeypatch.setattr(packing, "SNAPSHOT_IDS", 150)  # the small packs in the set, the large one searched
    everything = [(o, d) for g in groups for o, d in g.items()] + list(loose.items())
    with store.batch() as batch:  # what the store holds already is not written again
        batch.write_many(everything)
        assert len(batch._lookup.known) == 100 and len(batch._lookup.searched) == 1
    with store.batch() as batch:  # nor one object at a time, as an upload writes
        for oid, data in everything:
            batch.write(oid, data)
    assert len(pack_dir(store)) == 12 and len(loose_files(store)) == 3
    new = small(30, "new ")
    with store.batch() as batch:
        for oid, data in everything[:20] + list(new.items()):
            batch.write(oid, data)
    assert len(pack_dir(store)) == 14 and store.has_many(list(new)) == set(new)

    gone = groups[0]  # a pack whose index gc removed meanwhile: its objects are no longer there
    name = next(p.name for p in store.packs.packs if p.find(bytes.fromhex(next(iter(gone)))) >= 0)
    os.chmod(store.packs.directory, 0o755)
    os.unlink(os.path.join(store.packs.directory, name + ".idx"))
    assert store.has_many(list(gone)) == set()


def test_a_reader_of_many_objects_reads_what_read_small_reads(tmp_path, monkeypatch):
    """`small_reader` (what a get answers and a push sends from) finds
    packed objects through one PackLookup, small packs mapped and a large
    one searched, and reads anything else as `read_small` does: a loose
    object, one over the limit, a missing one, a truncated pack."""
    store = make_disk_store(tmp_path)
    groups = [small(20, f"pack {k} ") for k in range(3)] + [small(400, "large ")]
    for objects in groups:
        with store.batch() as batch:
            batch.write_many(list(objects.items()))
    loose = small(3, "loose ")
    for data in loose.values():
        store.write_bytes(data)
    asked = [o for g in groups for o in list(g)[:5]] + list(loose)
    monkeypatch.setattr(store_module, "READ_ONE_BY_ONE", 10)
    read = store.small_reader(len(asked))
    assert read != store.read_small
    lookup = store.packs.lookup(len(asked) * packfmt.SCAN_PER_ID, places=True)
    assert len(lookup.known) == 60 and len(lookup.searched) == 1  # both ways of finding are taken
    for limit in (1 << 20, 12):
        assert [read(o, limit) for o in asked] == [store.read_small(o, limit) for o in asked]
    assert read(asked[0], 1 << 20, size=1 << 20) is None  # a recorded size at the limit: read as large
    with pytest.raises(ObjectMissing):
        read("ab" * 32, 1 << 20)

    # a pack cut short once published: its objects past the new end are
    # corrupt, never sliced short from the mapping; those before it read
    holder = next(p for p in store.packs.packs if p.find(bytes.fromhex(asked[0])) >= 0)
    places = sorted((offset, ObjectId(raw.hex())) for raw, offset, _ in holder.entries())
    first, last = places[0][1], places[-1][1]
    os.chmod(holder.pack_path, 0o644)
    os.truncate(holder.pack_path, places[-1][0])
    cut = DiskStore(store.root, store.tmp)  # maps the pack as it is now
    read = cut.small_reader(len(asked))
    assert read(first, 1 << 20) == store.read_small(first, 1 << 20)
    with pytest.raises(CorruptObject, match=f"0x{last}.*truncated"):
        read(last, 1 << 20)


def _install_v1_golden(store) -> str:
    """The version 1 vectors from the docs, published in `store` as a
    writer of that version would have left them."""
    name = "pack-7c1190c524ecf6253b3c3d5a27d2eb3d18c83c76bb06e8730dc03bdd85586502"
    os.makedirs(store.packs.directory, exist_ok=True)
    for suffix, block in ((".pack", "pack-golden-v1.pack"), (".idx", "pack-golden-v1.idx")):
        path = os.path.join(store.packs.directory, name + suffix)
        with open(path, "wb") as f:
            f.write(bytes.fromhex(_hex_block(block)))
        os.chmod(path, 0o444)
    return name


def test_a_version_1_pack_is_still_read_checked_and_rewritten_as_version_2(tmp_path):
    """[F26] a store of the first pack format needs nothing done to it."""
    store = make_disk_store(tmp_path)
    name = _install_v1_golden(store)
    store.packs.refresh(force=True)
    p = only_pack(store)
    assert (p.name, p.version) == (name, 1)
    assert [store.read_bytes(hash_bytes(d)) for d in GOLDEN_OBJECTS] == GOLDEN_OBJECTS
    assert check(p) == []
    assert bytes(p.data[8:40]) == bytes.fromhex(hash_bytes(b"hello\n"))  # a v1 record names its id
    # gc, rewriting the pack (one object dropped), writes version 2
    with store.collecting():
        store.compact(drop={hash_bytes(b"")}, gather=True)
    store.packs.refresh(force=True)
    assert [(q.version, q.count) for q in store.packs.packs] == [(2, 1)]
    assert store.read_bytes(hash_bytes(b"hello\n")) == b"hello\n"


def test_a_pack_of_another_version_than_its_index_is_a_problem(tmp_path):
    store = make_disk_store(tmp_path)
    name = _install_v1_golden(store)
    path = os.path.join(store.packs.directory, name + ".pack")
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(7)
        f.write(b"\x02")
    store.packs.refresh(force=True)
    assert check(only_pack(store)) == [f"pack {name}: the pack file is truncated or not a pack"]


def _index_only(raws: list[bytes]) -> Pack:
    """A Pack whose index holds `raws` (any bytes, not hashes), for `find`."""
    body = index_bytes(dict.fromkeys(raws, (0, 0)), bytes(32))
    p = Pack.__new__(Pack)
    p.idx, p._entry, p._esize = body, packfmt.ENTRY, packfmt.ENTRY.size
    (p.count,) = packfmt.COUNT.unpack_from(body, len(packfmt.INDEX_MAGIC))
    p.fan = packfmt.FANOUT.unpack_from(body, len(packfmt.INDEX_MAGIC) + packfmt.COUNT.size)
    return p


@pytest.mark.parametrize("spread", ["hashes", "clustered", "one prefix", "few"])
def test_find_agrees_with_a_scan_however_the_ids_spread(spread):
    """`find` interpolates, trusting ids to be spread evenly; ids that are
    not (clustered, sharing long prefixes) still give exact answers, and
    so do ids that are absent, below the first and above the last."""
    import random
    rng = random.Random(spread)
    if spread == "hashes":
        raws = {bytes.fromhex(hash_bytes(str(i).encode())) for i in range(5000)}
    elif spread == "clustered":  # dense runs far apart
        raws = {bytes([7]) + (base + k).to_bytes(31, "big") for base in (0, 1 << 200, 1 << 247)
                for k in range(1500)}
    elif spread == "one prefix":
        raws = {bytes(20) + rng.randbytes(12) for _ in range(3000)}
    else:
        raws = {rng.randbytes(32) for _ in range(3)}
    ordered = sorted(raws)
    p = _index_only(ordered)
    probes = list(ordered) + [rng.randbytes(32) for _ in range(2000)]
    probes += [r[:-1] + bytes([(r[-1] + 1) % 256]) for r in ordered[::50]]
    probes += [bytes(32), b"\xff" * 32]
    where = {raw: i for i, raw in enumerate(ordered)}
    for raw in probes:
        assert p.find(raw) == where.get(raw, -1), raw.hex()
