"""The protocol contract (docs/protocol.md): push, pull, negotiation,
verification, resumption and ref updates over the in-process pipe, against
memory and disk stores."""

import socket

import pytest

from cl.errors import CorruptObject
from cl.objects.ids import hash_bytes
from cl.objects.store import MemoryStore, write_object
from cl.objects.types import Item, Tree, TreeEntry, MODE_FILE
from cl.refs.store import MemoryRefStore
from cl.remote import frames
from cl.remote.client import Client
from cl.remote.exchange import pull, push
from cl.remote.frames import RemoteError
from cl.remote.server import Server
from cl.remote.transfer import Prefetch, Stopped, negotiate, plan_everything
from cl.remote.transport import PipeTransport

from .helpers import Side


def project(side: Side, files=20):
    """A worksheet with a dataset and a run depending on it."""
    data = side.tree({f"f{i}": f"line {i}\n".encode() * (i + 1) for i in range(files)})
    ds = side.bundle("data", data)
    run = side.bundle("sort", deps=[ds], state="created")
    side.worksheet("w1", "main", [ds, run])
    return ds, run


def names(side: Side):
    return [n for n, _ in side.refs.items("bundles/")] + [n for n, _ in side.refs.items("worksheets/")]


def same_refs(a: Side, b: Side):
    return dict(a.refs.items("bundles/")) == dict(b.refs.items("bundles/")) and \
        dict(a.refs.items("worksheets/")) == dict(b.refs.items("worksheets/"))


def test_push_then_pull_round_trip(make_side):
    a, remote, b = make_side(), make_side(), make_side()
    project(a)
    with a and remote.serve() as client:
        out = push(a.store, a.refs, client, names(a))
    assert [u.status for u in out.updates] == ["ok", "ok", "ok"]
    assert same_refs(a, remote)
    assert set(remote.store.ids()) == set(a.store.ids())
    with remote.serve() as client:
        out = pull(b.store, b.refs, client, ["worksheets/w1"])
    assert {u.status for u in out.updates} == {"ok"}
    assert same_refs(a, b)
    assert set(b.store.ids()) == set(a.store.ids())


def test_version_mismatch(make_side):
    remote = make_side()
    with remote.serve() as client:
        with pytest.raises(RemoteError, match="version 99 is not spoken here"):
            client._call({"op": "hello", "version": 99})
        # version 1 had no pack frames: its peers are refused, not sent frames they cannot read
        with pytest.raises(RemoteError, match=r"version 1 is not spoken here \(this server speaks 2\)"):
            client._call({"op": "hello", "version": 1})
        assert client.hello()["version"] == frames.VERSION  # the session stays usable


@pytest.mark.parametrize("op", ["have", "get"])
@pytest.mark.parametrize("bad", [b"\0" * 31, "\0" * 32, 7])
def test_a_malformed_id_among_many_is_refused(make_side, op, bad):
    """A request's ids are checked together; one malformed among good ones
    is named."""
    remote = make_side()
    with remote.serve() as client:
        with pytest.raises(RemoteError, match="malformed object id"):
            client._call({"op": op, "ids": [b"\1" * 32] * 50 + [bad]})


def test_up_to_date_push_and_pull_send_nothing(make_side):
    a, remote = make_side(), make_side()
    project(a)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    before = set(remote.store.ids())
    with remote.serve() as client:
        out = push(a.store, a.refs, client, names(a))
        assert {u.status for u in out.updates} == {"up to date"}
        assert client.stats.have_asked == 0 and client.stats.sent_bytes == 0
        assert client.stats.requests == 2  # hello, refs
    with remote.serve() as client:
        out = pull(a.store, a.refs, client, names(a))
        assert {u.status for u in out.updates} == {"up to date"}
        assert client.stats.received_objects == 0
    assert set(remote.store.ids()) == before


def test_a_prefetch_plans_for_an_empty_remote_what_negotiate_would(make_side):
    """Once a Prefetch has read every level it plans for a remote that
    holds nothing; negotiate takes that plan only when the hello says the
    remote is empty and the tips are the ones planned for, and a push
    with it sends what one without it does."""
    a, remote, other = make_side(), make_side(), make_side()
    ds, _ = project(a, files=50)
    tips = [a.refs.get(n) for n in names(a)]
    ahead = Prefetch(a.store, tips)
    ahead.start()
    ahead._thread.join()  # let it finish, as a connection's wait does
    decoded = ahead.stop()
    assert ahead.empty_plan is not None and ahead.empty_plan.tips == frozenset(tips)
    with remote.serve() as client:
        walked = negotiate(a.store, client, tips)
        assert negotiate(a.store, client, tips, decoded, ahead.empty_plan) is ahead.empty_plan.plan
        assert ahead.empty_plan.plan == walked
        assert negotiate(a.store, client, tips[:1], decoded, ahead.empty_plan) != walked  # other tips
        out = push(a.store, a.refs, client, names(a), decoded=decoded, empty_plan=ahead.empty_plan)
        assert {u.status for u in out.updates} == {"ok"}
    with other.serve() as client:
        push(a.store, a.refs, client, names(a))
    assert set(remote.store.ids()) == set(other.store.ids())
    with remote.serve() as client:  # not empty now: the plan made for an empty one is not taken
        assert negotiate(a.store, client, tips, decoded, ahead.empty_plan).order == []


def test_a_stopped_prefetch_leaves_no_plan(make_side):
    """A Prefetch told to stop while it plans drops the plan: a remote
    that answered first is not kept waiting for the walk."""
    a = make_side()
    project(a, files=50)
    tips = [a.refs.get(n) for n in names(a)]
    with pytest.raises(Stopped):
        plan_everything(a.store, tips, {}, stopped=lambda: True)
    ahead = Prefetch(a.store, tips)
    ahead._stopped = lambda: True  # stop as the plan begins
    ahead.start()
    ahead._thread.join()
    assert ahead.empty_plan is None and ahead.stop()


def test_a_push_to_an_empty_remote_asks_nothing(make_side):
    """A new repository says so in its hello, and a push sends it the
    closure without one `have`; once it holds something, it is asked."""
    a, remote = make_side(), make_side()
    ds, run = project(a, files=50)
    with remote.serve() as client:
        assert client.hello()["empty"] is True
        push(a.store, a.refs, client, [f"bundles/{ds}"])
        assert client.stats.have_asked == 0
    assert set(remote.store.ids()) < set(a.store.ids())
    with remote.serve() as client:
        assert client.hello()["empty"] is False
        push(a.store, a.refs, client, names(a))
        assert client.stats.have_asked > 0
        assert client.stats.sent_objects < len(set(a.store.ids()))  # the dataset's closure was not sent again
    assert set(remote.store.ids()) == set(a.store.ids())


def test_have_prunes_subtree(make_side):
    a, remote = make_side(), make_side()
    ds, run = project(a, files=50)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    a.change(run, metadata={"name": "sort2"})
    with remote.serve() as client:
        out = push(a.store, a.refs, client, [f"bundles/{run}"])
        # the new state, then its parent state and bundle: never the 50 blobs
        assert client.stats.have_asked <= 4
        assert client.stats.sent_objects == 1
    assert [u.status for u in out.updates] == ["ok"]


def test_put_refuses_object_without_children(make_side):
    remote = make_side()
    orphan = MemoryStore()
    blob = orphan.write_bytes(b"not sent")
    tree_id = write_object(orphan, Tree((TreeEntry("x", MODE_FILE, 8, blob),)))
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"arrived before its child 0x{blob}"):
            client.put(frames.object_frames(orphan, tree_id))
        assert not remote.store.has(tree_id)
        assert client.put(frames.object_frames(orphan, blob)) == 1  # still in step
        assert client.put(frames.object_frames(orphan, tree_id)) == 1


def test_tampered_object_is_rejected(make_side):
    a, remote = make_side(), Side()  # the remote's store is tampered with behind its back
    ds, run = project(remote)
    victim = remote.store.read_bytes(remote.refs.get(f"bundles/{ds}"))
    sid = remote.refs.get(f"bundles/{ds}")
    remote.store.corrupt(sid, victim.replace(b"data", b"DATA"))
    with remote.serve() as client:
        with pytest.raises(CorruptObject, match=f"0x{sid}"):
            pull(a.store, a.refs, client, ["worksheets/w1"])
    assert not a.store.has(sid)
    assert a.refs.items() == []
    # and a tampered push is refused by the receiver
    sender = Side()
    project(sender)
    blob_id = next(o for o in sender.store.ids() if sender.store.read_bytes(o).startswith(b"line 3"))
    sender.store.corrupt(blob_id, b"evil bytes")
    with make_side().serve() as client:
        with pytest.raises(RemoteError, match=f"0x{blob_id}"):
            push(sender.store, sender.refs, client, names(sender))


def test_a_tampered_object_stores_nothing_of_its_pack_frame(make_side):
    """The objects of a pack frame are verified together before any is
    stored: by a server taking a put, and by a client fetching."""
    good = [f"blob {i}\n".encode() for i in range(5)]
    ids = [hash_bytes(d) for d in good]
    tampered = good[:2] + [b"evil 2\n"] + good[3:]
    remote = make_side()
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"0x{ids[2]}"):
            client.put([frames.encode(["p", [frames.wire_id(o) for o in ids], tampered])])
        assert not remote.store.has_many(ids)
        assert client.put([frames.encode(["p", [frames.wire_id(o) for o in ids], good])]) == 5  # in step
    assert remote.store.has_many(ids) == set(ids)

    source, a = Side(), make_side()
    project(source, files=50)  # every blob travels in one pack frame
    blobs = [o for o in source.store.ids() if source.store.read_bytes(o).startswith(b"line ")]
    victim = max(blobs, key=lambda o: source.store.size(o))
    source.store.corrupt(victim, b"X" + source.store.read_bytes(victim)[1:])  # its size still right
    with source.serve() as client:
        with pytest.raises(CorruptObject, match=f"0x{victim}"):
            pull(a.store, a.refs, client, ["worksheets/w1"])
    assert not a.store.has_many(blobs)
    assert a.refs.items() == []


class Flaky(PipeTransport):
    """A pipe that breaks after a budget of bytes crossed the wire."""

    def __init__(self, server, budget):
        super().__init__(server, "flaky")
        self.budget = budget
        write, read = self._raw_write, self.reader._read

        def limited_write(data):
            if len(data) > self.budget:
                write(data[:max(self.budget, 0)])
                self._files[1].flush()
                self._near.shutdown(socket.SHUT_RDWR)
                raise BrokenPipeError("cut")
            self.budget -= len(data)
            write(data)

        def limited_read(n):
            if self.budget <= 0:
                self._near.shutdown(socket.SHUT_RDWR)
                return b""
            data = read(min(n, self.budget))
            self.budget -= len(data)
            return data

        self._raw_write = limited_write
        self.reader._read = limited_read


def wire_bytes(run, served: Side) -> int:
    """How many bytes cross the wire (both ways) when `run(client)` talks to
    a server over `served`: a whole transfer's worth, to cut one midway."""
    unlimited = 1 << 60
    flaky = Flaky(Server(served.store, served.refs), budget=unlimited)
    with Client(flaky, "r") as client:
        run(client)
    return unlimited - flaky.budget


def test_interrupted_push_resumes(make_side):
    a, remote = make_side(), make_side()
    project(a, files=600)  # several pack frames (frames.PACK_BYTES)
    total = len(list(a.store.ids()))
    whole = wire_bytes(lambda c: push(a.store, a.refs, c, names(a)), make_side())
    client = Client(Flaky(Server(remote.store, remote.refs), budget=whole // 2), "r")
    with pytest.raises(RemoteError, match="lost the connection"):
        push(a.store, a.refs, client, names(a))
    client.close()
    kept = len(list(remote.store.ids()))
    assert 0 < kept < total
    assert remote.refs.items() == []
    with remote.serve() as client:
        out = push(a.store, a.refs, client, names(a))
        assert client.stats.sent_objects == total - kept
    assert {u.status for u in out.updates} == {"ok"}
    assert set(remote.store.ids()) == set(a.store.ids())


def test_interrupted_pull_resumes(make_side):
    remote, b = make_side(), make_side()
    project(remote, files=600)
    total = len(list(remote.store.ids()))
    whole = wire_bytes(lambda c: pull(make_side().store, MemoryRefStore(), c, ["worksheets/w1"]), remote)
    client = Client(Flaky(Server(remote.store, remote.refs), budget=whole // 2), "r")
    with pytest.raises(RemoteError, match="lost the connection"):
        pull(b.store, b.refs, client, ["worksheets/w1"])
    client.close()
    kept = len(list(b.store.ids()))
    assert 0 < kept < total and b.refs.items() == []
    with remote.serve() as client:
        pull(b.store, b.refs, client, ["worksheets/w1"])
        assert client.stats.received_objects <= total - kept + 6  # typed objects come again
    assert same_refs(remote, b) and set(b.store.ids()) == set(remote.store.ids())


def test_absent_object_only_for_deleted_data(make_side):
    remote, b = make_side(), make_side()
    ds, run = project(remote, files=3)
    tree_id = next(o for o in remote.store.ids() if remote.store.read_bytes(o)[:1] == b"\x82"
                   and b"tree" in remote.store.read_bytes(o))
    remote.store.delete(tree_id)  # the data is gone but the bundle still says it is there
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"lacks object 0x{tree_id}"):
            pull(b.store, b.refs, client, ["worksheets/w1"])
    assert b.refs.items() == [] and not any(b.store.has(r) for _, r in remote.refs.items())
    remote.change(ds, data_deleted=True)  # now the absence is declared
    with remote.serve() as client:
        out = pull(b.store, b.refs, client, ["worksheets/w1"])
    assert {u.status for u in out.updates} == {"ok"}
    assert b.store.has(ds) and not b.store.has(tree_id)
    # and it pushes on without the data
    c = make_side()
    with c.serve() as client:
        out = push(b.store, b.refs, client, names(b))
    assert {u.status for u in out.updates} == {"ok"}
    assert c.store.has(ds) and not c.store.has(tree_id)


def test_lost_race_is_rejected(make_side):
    a = make_side()
    ds, run = project(a)
    name = f"bundles/{run}"

    class Racing(MemoryRefStore):
        """Another pusher moves the ref between our `refs` and our `update`."""
        other = None

        def set_if_equals(self, ref, old, new):
            if ref == name and self.other is not None:
                self._refs[ref], self.other = self.other, None
            super().set_if_equals(ref, old, new)

    remote = Side(MemoryStore(), Racing())
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    theirs = remote.change(run, metadata={"name": "theirs"})
    remote.refs._refs[name] = a.refs.get(name)   # the ref is back where we saw it …
    remote.refs.other = theirs                    # … until the moment of our update
    a.change(run, metadata={"name": "mine"})
    with remote.serve() as client:
        out = push(a.store, a.refs, client, [name])
    assert out.updates[0].rejected and "moved" in out.updates[0].status
    assert remote.refs.get(name) == theirs


def test_update_checks_new_value(make_side):
    a, remote = make_side(), make_side()
    ds, run = project(a)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
        ds_head = remote.refs.get(f"bundles/{ds}")
        run_head = remote.refs.get(f"bundles/{run}")
        results = client.update([
            (f"bundles/{ds}", ds_head, run_head),          # a state of another bundle
            (f"bundles/{ds}", ds_head, "ab" * 32),          # not here
            ("worksheets/w1", remote.refs.get("worksheets/w1"), run_head),  # not a commit
            ("HEAD", None, "w1"),                           # not pushable
            (f"bundles/{ds}", ds_head, None),               # deletion
        ])
    assert all(r.startswith("rejected: ") for r in results), results
    assert remote.refs.get(f"bundles/{ds}") == ds_head


def test_bundles_before_worksheets(make_side):
    a = make_side()
    project(a)
    seen = []

    class Watching(MemoryRefStore):
        def set_if_equals(self, name, old, new):
            seen.append(name.split("/")[0])
            super().set_if_equals(name, old, new)

    remote = Side(MemoryStore(), Watching())
    with remote.serve() as client:
        push(a.store, a.refs, client, list(reversed(names(a))))
    assert seen == ["bundles", "bundles", "worksheets"]


def test_large_blob_round_trip(make_side):
    a, remote, b = make_side(), make_side(), make_side()
    big = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB: several chunks
    ds = a.bundle("big", a.blob(big))
    a.worksheet("w1", "main", [ds])
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    with remote.serve() as client:
        pull(b.store, b.refs, client, ["worksheets/w1"])
    assert b.store.read_bytes(hash_bytes(big)) == big


def test_prefetched_objects_change_nothing(make_side):
    """Objects a Prefetch decoded while the connection was made give the
    same plan as reading them, however far it got before it was stopped."""
    a, remote = make_side(), make_side()
    project(a, files=50)
    tips = [a.refs.get(n) for n in names(a)]
    with remote.serve() as client:
        plain = negotiate(a.store, client, tips)
        ahead = Prefetch(a.store, tips + [hash_bytes(b"not in the store")])
        assert ahead.stop() == {}  # never started: nothing decoded
        ahead = Prefetch(a.store, tips + [hash_bytes(b"not in the store")])
        ahead.start()
        decoded = ahead.stop()
        assert all(a.store.has(oid) for oid in decoded)
        assert negotiate(a.store, client, tips, decoded) == plain
        assert ahead.stop() is decoded  # stopping twice is harmless


def test_tampered_large_blob_is_rejected(make_side):
    """A large blob streams in chunks: its hash is known only at the end,
    and a mismatch then stores nothing, in either direction."""
    big = bytes(range(256)) * (3 * 4096 + 7)
    sender = Side()  # a memory store, to tamper with behind its back
    ds = sender.bundle("big", sender.blob(big))
    sender.worksheet("w1", "main", [ds])
    blob_id = hash_bytes(big)
    sender.store.corrupt(blob_id, big[:-1] + b"!")
    receiver = make_side()
    with receiver.serve() as client:
        with pytest.raises(RemoteError, match=f"0x{blob_id}"):
            push(sender.store, sender.refs, client, names(sender))
    assert not receiver.store.has(blob_id) and receiver.refs.items() == []
    puller = make_side()
    with sender.serve() as client:
        with pytest.raises(CorruptObject, match=f"0x{blob_id}"):
            pull(puller.store, puller.refs, client, ["worksheets/w1"])
    assert not puller.store.has(blob_id) and puller.refs.items() == []


def test_diverged_worksheet_merges_on_push(make_side):
    a, remote = make_side(), make_side()
    ds, run = project(a)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    b = make_side()
    with remote.serve() as client:
        pull(b.store, b.refs, client, ["worksheets/w1"])
    a.add_items("w1", Item("markup", "from a"), author="alice")
    b.add_items("w1", Item("markup", "from b"), author="bob")
    b.change(run, metadata={"name": "sort", "description": "by b"})
    a.change(run, metadata={"name": "sorted"})
    with remote.serve() as client:
        out = push(a.store, a.refs, client, names(a))
    assert {u.status for u in out.updates} == {"ok", "up to date"}
    with remote.serve() as client:
        out = push(b.store, b.refs, client, names(b))
    statuses = {u.name: u.status for u in out.updates}
    assert statuses["worksheets/w1"] == "merged" and statuses[f"bundles/{run}"] == "merged"
    merged = remote.ws("w1")
    texts = [i.value for i in merged.items if i.kind == "markup"]
    assert "from a" in texts and "from b" in texts          # nothing lost
    assert not any(t.startswith("<<<<<<< conflict") for t in texts)  # appends do not overlap
    assert remote.state(run).metadata == {"name": "sorted", "description": "by b"}
    assert b.refs.get("worksheets/w1") == remote.refs.get("worksheets/w1")
    # a pulls the merge: a fast-forward
    with remote.serve() as client:
        out = pull(a.store, a.refs, client, ["worksheets/w1"])
    assert {u.name: u.status for u in out.updates}["worksheets/w1"] == "ok"
    assert same_refs(a, remote)


def test_force_push_overwrites(make_side):
    a, remote, b = make_side(), make_side(), make_side()
    ds, run = project(a)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
        pull(b.store, b.refs, client, ["worksheets/w1"])
    a.commit("w1", title="A")
    b.commit("w1", title="B")
    with remote.serve() as client:
        push(a.store, a.refs, client, ["worksheets/w1"])
        out = push(b.store, b.refs, client, ["worksheets/w1"], force=True)
    assert out.updates[0].status == "forced"
    assert remote.ws("w1").title == "B"


def test_pull_merges_diverged_state(make_side):
    """The remote's worker finished the run while we renamed it here."""
    a, remote = make_side(), make_side()
    ds, run = project(a)
    with remote.serve() as client:
        push(a.store, a.refs, client, names(a))
    out_tree = remote.tree({"stdout": b"sorted\n"})
    from cl.objects.types import Result
    rid = write_object(remote.store, Result(bundle=run, contents=out_tree, exit_code=0,
                                            started=1, finished=2))
    remote.change(run, state="running")
    remote.change(run, state="ready", result=rid)
    a.change(run, metadata={"name": "renamed"})
    with remote.serve() as client:
        out = pull(a.store, a.refs, client, [f"bundles/{run}"])
    assert {u.name: u.status for u in out.updates}[f"bundles/{run}"] == "merged"
    merged = a.state(run)
    assert (merged.state, merged.result, merged.metadata["name"]) == ("ready", rid, "renamed")
    assert len(merged.parents) == 2


class _GcBeforeUpdate(Client):
    """A client whose first `update` finds the remote's unnamed objects
    gone, as when `cl gc --prune now` runs on the remote between a push's
    `put` and its `update` (docs/design.md, "Receives")."""

    def __init__(self, remote: Side, label="remote"):
        super().__init__(PipeTransport(Server(remote.store, remote.refs), label), label)
        self.remote = remote
        self.collected = 0

    def update(self, updates):
        if not self.collected:
            for oid in list(self.remote.store.ids()):
                self.remote.store.delete(oid)
                self.collected += 1
        return super().update(updates)


def test_a_push_sends_again_what_a_gc_took_before_its_update(make_side):
    a, remote = make_side(), make_side()
    project(a)
    with _GcBeforeUpdate(remote) as client:
        out = push(a.store, a.refs, client, names(a))
    assert client.collected > 0
    assert [u.status for u in out.updates] == ["ok", "ok", "ok"]
    assert same_refs(a, remote) and set(remote.store.ids()) == set(a.store.ids())
