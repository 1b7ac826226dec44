"""A hostile or broken remote (issue 13, items 7, 8, 9 and 19): each
attack is played by a real peer — a real Server over stores the test
tampers with, or a small server speaking our frames over a real socket —
and refused with one clear error that stores nothing."""

import os
import socket
import subprocess
import sys
import threading

import msgpack
import pytest

from cl.errors import UsageError
from cl.objects.encoding import looks_like_map
from cl.objects.store import write_object
from cl.objects.types import MODE_DIR, MODE_FILE, Contents, Tree, TreeEntry
from cl.remote import frames
from cl.remote.client import Client
from cl.remote.exchange import pull, push
from cl.remote.frames import RemoteError
from cl.remote.http import HttpTransport
from cl.remote.limits import Limits
from cl.remote.receive import check_children
from cl.remote.server import Server
from cl.remote.ssh import CommandTransport, system_ssh_argv
from cl.remote.transport import PipeTransport
from cl.remote.urls import RemoteURL, parse_url

from tests.conftest import CL, cl_env

from .helpers import Side, disk_store


# --- item 19: a host that starts with '-' is not an option ------------------


@pytest.mark.parametrize("text", [
    "ssh://-oProxyCommand=touch%20x/srv/proj",
    "-oProxyCommand=touch x:proj",
    "-oProxyCommand=x@host:proj",
    "ssh://-l@host/proj",
])
def test_dash_hosts_and_users_are_refused(text):
    with pytest.raises(UsageError, match="may not start with '-'"):
        parse_url(text)


@pytest.mark.parametrize("host", ["-V", "-oProxyCommand=touch {mark}"])
def test_system_ssh_never_takes_the_host_for_an_option(tmp_path, host):
    """Even a RemoteURL built without parse_url: ssh's options end with
    `--`, so a host such as `-V` (print the version and exit 0) or
    `-oProxyCommand=…` is a host name ssh refuses, never an option."""
    mark = tmp_path / "pwned"
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  HostName 127.0.0.1\n  Port 1\n")  # never leaves loopback
    host = host.format(mark=mark)
    url = RemoteURL("ssh", f"{host}:/srv/proj", "/srv/proj", host)
    argv = system_ssh_argv(f"ssh -F {config} -o BatchMode=yes", url)
    client = Client(CommandTransport(argv, "evil"), "evil")
    with pytest.raises(RemoteError) as failed:
        client.hello()
    client.close()
    assert "OpenSSH_" not in failed.value.message  # -V was not obeyed
    assert not mark.exists()


# --- item 7: a head of another bundle or worksheet --------------------------


def two_bundles(side: Side):
    a = side.bundle("a", side.blob(b"alpha\n"))
    b = side.bundle("b", side.blob(b"beta\n"))
    side.worksheet("w1", "one", [a])
    side.worksheet("w2", "two", [b])
    return a, b


def stored(side: Side) -> set:
    return set(side.store.ids())


@pytest.mark.parametrize("kind", ["bundles", "worksheets"])
def test_pull_refuses_a_head_of_another_subject(make_side, kind):
    """The remote's `bundles/A` names a state of bundle B (or its
    `worksheets/w1` a commit of w2): a pull refuses it, naming the ref,
    and moves no ref."""
    remote, local = make_side(), make_side()
    a, b = two_bundles(remote)
    mine, theirs = (f"bundles/{a}", f"bundles/{b}") if kind == "bundles" else \
        ("worksheets/w1", "worksheets/w2")
    remote.refs._refs[mine] = remote.refs.get(theirs)  # the tampered repository
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"remote 'remote' sent '{mine}'.*of another"):
            pull(local.store, local.refs, client, [mine])
    assert local.refs.items() == []


def test_push_refuses_a_diverged_head_of_another_bundle(make_side):
    """A push that must merge the remote's head fetches it first: a head
    of another bundle is refused there too, before anything is merged."""
    a_side, remote = make_side(), make_side()
    a, b = two_bundles(a_side)
    with remote.serve() as client:
        push(a_side.store, a_side.refs, client, [f"bundles/{a}", f"bundles/{b}"])
    other = remote.change(b, metadata={"name": "b2"})
    remote.refs._refs[f"bundles/{a}"] = other  # a's head is now a state of b
    mine = a_side.change(a, metadata={"name": "a2"})
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"'bundles/{a}'.*another bundle"):
            push(a_side.store, a_side.refs, client, [f"bundles/{a}"])
    assert a_side.refs.get(f"bundles/{a}") == mine


# --- item 9: ref names from a peer -------------------------------------------


class LyingRefs(Server):
    """A real server whose `refs` answer adds names of its own."""

    extra: dict = {}

    def op_refs(self, request):
        reply = super().op_refs(request)
        reply["refs"].update(self.extra)
        return reply


def lying_side(extra: dict) -> tuple[Side, Client]:
    side = Side()
    a, _ = two_bundles(side)
    server = LyingRefs(side.store, side.refs)
    server.extra = {k.format(a=a): v.format(head=side.refs.get("worksheets/w1"),
                                            state=side.refs.get(f"bundles/{a}"))
                    for k, v in extra.items()}
    return side, Client(PipeTransport(server, "liar"), "liar")


@pytest.mark.parametrize("extra, problem", [
    ({"worksheets/../../x": "{head}"}, "invalid ref name"),
    ({"HEAD/../x": "{head}"}, "invalid ref name"),
    ({"worksheets/w1": "../../etc"}, "invalid value"),
    ({"bundles/{a}": "{state}"}, "not asked for"),          # asked only for worksheets/w1
])
def test_pull_refuses_refs_it_did_not_ask_for_or_cannot_name(extra, problem):
    _, client = lying_side(extra)
    local = Side()
    with client:
        with pytest.raises(RemoteError, match=f"remote 'liar' sent .*{problem}"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == []


def test_pull_all_refuses_a_traversing_worksheet_ref():
    _, client = lying_side({"worksheets/../../x": "{head}"})
    with client:
        with pytest.raises(RemoteError, match="invalid ref name 'worksheets/../../x'"):
            client.refs(prefixes=["bundles/", "worksheets/"])


# --- item 8: sizes that do not match, objects larger than accepted ----------


def lying_tree(side: Side, data: bytes, recorded: int) -> str:
    """A bundle whose tree records `recorded` bytes for a file of `data`."""
    blob = side.store.write_bytes(data)
    tree = Tree((TreeEntry("f", MODE_FILE, recorded, blob),))
    contents = Contents(MODE_DIR, recorded, write_object(side.store, tree))
    bid = side.bundle("liar", contents)
    side.worksheet("w1", "one", [bid])
    return blob


@pytest.mark.parametrize("size", [100, 3 << 20])  # a pack frame, then a chunked one
def test_pull_refuses_a_blob_whose_parent_records_another_size(make_side, size):
    remote, local = make_side(), make_side()
    blob = lying_tree(remote, b"x" * size, 10)
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"{blob}.* {size} bytes.*records 10"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == [] and not local.store.has(blob)


def test_pull_names_the_one_blob_among_many_whose_parent_records_another_size(make_side):
    """A pack frame's blobs are checked against their parents' sizes
    together; the one that differs is named, and none of the frame is
    stored."""
    remote, local = make_side(), make_side()
    files = {f"f{i:03d}": f"file {i}\n".encode() for i in range(120)}
    entries = [TreeEntry(n, MODE_FILE, len(d) + (n == "f077"), remote.store.write_bytes(d))
               for n, d in sorted(files.items())]
    tree = Tree(tuple(entries))
    bid = remote.bundle("liar", Contents(MODE_DIR, tree.size, write_object(remote.store, tree)))
    remote.worksheet("w1", "one", [bid])
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"{entries[77].id} as 8 bytes, but its parent records 9"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == [] and not any(local.store.has(e.id) for e in entries)


class Endless(Server):
    """Answers a `get` of `blob` with `["b", id, announced]` and chunk after
    chunk (a bounded number here, so the test ends if the client keeps
    writing)."""

    blob = None
    announced = 0

    def op_get(self, request):
        ids = self._ids(request)
        if self.blob not in ids:
            yield from super().op_get(request)
            return
        yield frames.encode(["b", frames.wire_id(self.blob), self.announced])
        for _ in range(64):
            yield b"".join(frames.chunk_frame(b"\0" * (1 << 20)))
        raise ConnectionAbortedError("the endless peer hangs up")


@pytest.mark.parametrize("announced, problem", [
    (1 << 35, "as 34359738368 bytes, but its parent records 10"),
    (1 << 62, "is 4611686018427387904 bytes, more than the 68719476736 bytes accepted"),
])
def test_pull_stops_at_an_announced_size_its_parent_does_not_record(tmp_path, announced, problem):
    remote, local = Side(), Side(disk_store(str(tmp_path / "local")))
    server = Endless(remote.store, remote.refs)
    server.blob = lying_tree(remote, b"0123456789", 10)
    server.announced = announced
    with Client(PipeTransport(server, "endless"), "endless") as client:
        with pytest.raises(RemoteError, match=f"{server.blob} {problem}"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == [] and not local.store.has(server.blob)
    assert not os.listdir(tmp_path / "local" / "tmp")


class Repeating(Server):
    """Answers a `get` of blobs with one pack frame that holds the first of
    them twice."""

    def op_get(self, request):
        ids = self._ids(request)
        datas = [self.store.read_bytes(oid) for oid in ids]
        if any(looks_like_map(d) for d in datas):
            yield from super().op_get(request)  # typed objects: as they are
            return
        yield frames.encode(["p", [frames.wire_id(o) for o in ids + ids[:1]], datas + datas[:1]])
        yield frames.END


def test_pull_refuses_an_object_sent_twice(tmp_path):
    remote, local = Side(), Side(disk_store(str(tmp_path / "local")))
    ds = remote.bundle("data", remote.tree({"a": b"first\n", "b": b"second\n"}))
    remote.worksheet("w1", "one", [ds])
    with Client(PipeTransport(Repeating(remote.store, remote.refs), "repeating"), "repeating") as client:
        with pytest.raises(RemoteError, match="which was not asked for"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == []


def test_objects_larger_than_the_limit_are_refused_both_ways(make_side):
    a, remote = make_side(), make_side()
    big = a.bundle("big", a.blob(b"y" * (3 << 20)))
    a.worksheet("w1", "one", [big])
    limits = Limits(max_object=1 << 20)
    with remote.serve(limits=limits) as client:  # the server accepts at most 1 MiB
        with pytest.raises(RemoteError, match="3145728 bytes, more than the 1048576"):
            push(a.store, a.refs, client, ["worksheets/w1"])
    assert remote.refs.items() == []
    with a.serve() as client:  # and a client as well
        client.limits = limits
        with pytest.raises(RemoteError, match="3145728 bytes, more than the 1048576"):
            pull(remote.store, remote.refs, client, ["worksheets/w1"])
    assert remote.refs.items() == []


def test_push_refuses_a_tree_recording_another_size(make_side):
    a, remote = make_side(), make_side()
    blob = lying_tree(a, b"z" * 100, 10)
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"records 10 bytes for 0x{blob}, which has 100"):
            push(a.store, a.refs, client, ["worksheets/w1"])
    assert remote.refs.items() == []


def test_pull_refuses_two_trees_that_record_different_sizes_for_one_blob(make_side):
    """Each tree's recorded sizes are taken in with one map; a second tree
    that disagrees with the first about a blob is refused, and named."""
    remote, local = make_side(), make_side()
    blob = remote.store.write_bytes(b"nine bytes"[:9])
    others = {f"g{i:03d}": remote.store.write_bytes(f"other {i}\n".encode()) for i in range(100)}
    def subtree(recorded):
        entries = [TreeEntry(n, MODE_FILE, 8 + (i >= 10), o) for i, (n, o) in enumerate(sorted(others.items()))]
        tree = Tree(tuple(sorted(entries + [TreeEntry("f", MODE_FILE, recorded, blob)], key=lambda e: e.name)))
        return TreeEntry("", MODE_DIR, tree.size, write_object(remote.store, tree))
    honest, liar = subtree(9), subtree(10)
    root = Tree((TreeEntry("a", MODE_DIR, honest.size, honest.id), TreeEntry("b", MODE_DIR, liar.size, liar.id)))
    bid = remote.bundle("two", Contents(MODE_DIR, root.size, write_object(remote.store, root)))
    remote.worksheet("w1", "one", [bid])
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"record different sizes for 0x{blob}"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == []


def test_a_tree_is_checked_against_what_was_stored_before_it(make_side):
    """check_children: a tree whose children were all seen stored with its
    sizes passes at once; one seen with another size, or missing, or only
    in the store, takes the child-by-child way, which names the problem."""
    side = make_side()
    ids = [side.store.write_bytes(f"child {i}\n".encode()) for i in range(50)]
    tree = Tree(tuple(TreeEntry(f"c{i:02d}", MODE_FILE, 8 + (i >= 10), o) for i, o in enumerate(ids)))
    tid = write_object(side.store, tree)
    known = {o: 8 + (i >= 10) for i, o in enumerate(ids)}
    check_children(side.store, tid, tree, set(), known)
    check_children(side.store, tid, tree, set(), dict(list(known.items())[:30]))  # the rest asked of the store
    with pytest.raises(RemoteError, match=f"records 9 bytes for 0x{ids[40]}, which has 10"):
        check_children(side.store, tid, tree, set(), {**known, ids[40]: 10})
    bare = make_side()
    with pytest.raises(RemoteError, match=f"arrived before its child 0x{ids[30]}"):
        check_children(bare.store, tid, tree, set(), dict(list(known.items())[:30]))


# --- item 9: a stalled peer is given up on ----------------------------------


class Stalling(Server):
    """Answers `hello`, then sits on every other request (or those of
    `ops`) until released, reading nothing more meanwhile."""

    ops = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()

    def handle(self, request, reader):
        op = request.get("op")
        if op != "hello" and (self.ops is None or op in self.ops):
            self.release.wait(120)
        return super().handle(request, reader)


def test_a_stalled_server_is_given_up_on():
    remote, local = Side(), Side()
    two_bundles(remote)
    server = Stalling(remote.store, remote.refs)
    client = Client(PipeTransport(server, "stalled", timeout=0.5), "stalled")
    try:
        with pytest.raises(RemoteError, match=r"remote 'stalled' sent nothing for 0.5 s.*sync.timeout"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    finally:
        server.release.set()
        client.close()
    assert local.refs.items() == []


def test_a_stalled_command_is_given_up_on():
    argv = [sys.executable, "-c", "import time; time.sleep(120)"]
    client = Client(CommandTransport(argv, "stalled", timeout=0.5), "stalled")
    try:
        with pytest.raises(RemoteError, match=r"remote 'stalled' sent nothing for 0.5 s"):
            client.hello()
    finally:
        client.close()


def test_a_stalled_http_server_is_given_up_on():
    """A listening socket that accepts and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        client = Client(HttpTransport(url, "t", "stalled", timeout=0.5), "stalled")
        try:
            with pytest.raises(RemoteError, match=r"remote 'stalled' sent nothing for 0.5 s"):
                client.hello()
        finally:
            client.close()


def test_cl_pull_gives_up_on_a_stalled_peer_after_sync_timeout(cl, tmp_path):
    """End to end: `ssh.command` runs a far side that never answers; with
    `sync.timeout` set, `cl pull` says so in one line instead of hanging."""
    local = tmp_path / "local"
    local.mkdir()
    cl(["init"], local)
    stall = f"{sys.executable} -c 'import time; time.sleep(120)'"
    cl(["config", "ssh.command", stall], local)
    cl(["config", "sync.timeout", "1"], local)
    cl(["remote", "add", "origin", "lab:/srv/proj"], local)
    done = cl(["pull"], local, check=False, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == \
        "cl: remote 'origin' sent nothing for 1 s; gave up (config sync.timeout sets how long to wait)"


def test_serve_stdio_gives_up_on_a_silent_client(cl, tmp_path):
    """The far side of an ssh remote does not wait for ever either: its
    repository's sync.timeout bounds the silence between requests."""
    far = tmp_path / "far"
    far.mkdir()
    cl(["init"], far)
    cl(["config", "sync.timeout", "1"], far)
    proc = subprocess.Popen([CL, "serve-stdio", str(far)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cl_env({"HOME": cl.home}))
    try:
        proc.stdin.write(frames.encode({"op": "hello", "version": frames.VERSION}))
        proc.stdin.flush()  # one request, then silence with the pipe still open
        proc.wait(timeout=60)  # (communicate() would close stdin: an end, not a silence)
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert msgpack.unpackb(out)["version"] == frames.VERSION
    assert proc.returncode == 1
    assert err.decode().strip() == "cl: the client sent nothing for 1 s; gave up"


def test_a_server_that_stops_reading_is_given_up_on():
    """A put whose body the server never reads: the client's writes give
    up after the timeout too, instead of blocking for ever."""
    a, remote = Side(), Side()
    a.worksheet("w1", "one", [a.bundle("big", a.blob(os.urandom(16 << 20)))])
    server = Stalling(remote.store, remote.refs)
    server.ops = {"put"}
    client = Client(PipeTransport(server, "stalled", timeout=0.5), "stalled")
    try:
        with pytest.raises(RemoteError, match=r"remote 'stalled' accepted nothing for 0.5 s"):
            push(a.store, a.refs, client, ["worksheets/w1"])
    finally:
        server.release.set()
        client.close()
    assert remote.refs.items() == []


@pytest.mark.parametrize("key, value, message", [
    ("sync.timeout", "0", "cl: config sync.timeout and sync.max_object_size must be more than 0"),
])
def test_bad_limits_are_one_line(cl, tmp_path, key, value, message):
    for name in ("far", "local"):
        (tmp_path / name).mkdir()
        cl(["init"], tmp_path / name)
    cl(["config", key, value], tmp_path / "local")
    done = cl(["pull", str(tmp_path / "far")], tmp_path / "local", check=False)
    assert done.returncode == 2 and done.stderr.strip() == message


@pytest.mark.parametrize("key, value, expected", [
    ("sync.timeout", "soon", "a duration"), ("sync.max_object_size", "huge", "a size"),
])
def test_limits_of_the_wrong_type_are_refused_when_set(cl, tmp_path, key, value, expected):
    """`cl config` checks a value against the setting's type (cl/config.py)."""
    (tmp_path / "local").mkdir()
    cl(["init"], tmp_path / "local")
    done = cl(["config", key, value], tmp_path / "local", check=False)
    assert done.returncode != 0 and done.stderr.strip() == f"cl: {key}: expected {expected}" \
        + {"a duration": " such as 30s, 10m, 2h or 1d (at most 366d)",
           "a size": " such as 512m, 64g or 2t"}[expected] + f", not '{value}'"


# --- what a peer says is shown as one plain line ----------------------------


class Shouting(Server):
    """Answers `refs` with an error full of terminal escapes and lines."""

    def op_refs(self, request):
        raise RemoteError("bad\n\x1b[2J\x1b]0;owned\x07cl: all good" + "!" * 5000)


def test_a_remote_error_is_one_plain_line():
    side = Side()
    with Client(PipeTransport(Shouting(side.store, side.refs), "loud"), "loud") as client:
        with pytest.raises(RemoteError) as failed:
            pull(Side().store, Side().refs, client, ["worksheets/w1"])
    message = failed.value.message
    assert message.startswith("remote 'loud': bad")
    assert message.isprintable() and len(message) < 600
