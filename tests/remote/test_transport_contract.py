"""The transport contract: one suite, run against every transport in
cl/sync/transports.py — a directory, ssh with paramiko, ssh with the
system `ssh` (config `ssh.command`), and http (a real `cl server`) — each
reaching a real repository made by `cl init`, opened the way `cl` opens
remotes (cl.sync.remotes.open_url)."""

import contextlib
import os
import shlex
import socket
import subprocess
import sys

import pytest

from cl.config import Config
from cl.errors import CorruptObject, UsageError
from cl.objects.ids import hash_bytes
from cl.remote import frames
from cl.remote.exchange import pull, push
from cl.remote.frames import RemoteError
from cl.remote.urls import parse_url
from cl.repo import Repository
from cl.sync.remotes import open_url, settings
from cl.sync.transports import TRANSPORTS, open_transport, transport_name
from tests.server.test_server import serving

from .helpers import Side
from .test_contract import names, project, same_refs

KINDS = ["dir", "ssh", "ssh-command", "http"]


class Far:
    """A real repository and how to reach it over one transport."""

    def __init__(self, kind: str, directory, url: str, config: Config, token: str | None = None):
        self.kind, self.directory, self.url, self.config, self.token = kind, directory, url, config, token

    def open(self):
        return open_url(self.url, "far", self.config, self.token)

    def configure(self, cl, key: str, value: str) -> None:
        """Set the far repository's config (and restart a `cl server`,
        which reads it on start)."""
        cl(["config", key, value], self.directory)
        if self.kind == "http":
            self.stack.close()
            self.url = self.stack.enter_context(serving(self.directory))

    def repo(self) -> Repository:
        return Repository(str(self.directory / ".codalab"))

    def refs(self) -> dict:
        repo = self.repo()
        try:
            return dict(repo.refs.items("bundles/")) | dict(repo.refs.items("worksheets/"))
        finally:
            repo.close()


@pytest.fixture(params=KINDS)
def far(request, cl, cl_home, tmp_path, monkeypatch):
    kind = request.param
    directory = tmp_path / "far"
    directory.mkdir()
    cl(["init"], directory)
    config = Config(str(tmp_path / "client.toml"))
    monkeypatch.setenv("HOME", str(cl_home))  # paramiko reads ~/.ssh/config
    if kind == "dir":
        yield Far(kind, directory, str(directory), config)
        return
    if kind == "http":
        # the contract is about the transport: the far side's user may do anything
        cl(["server", "user", "add", "t", "--root"], directory, input="t-password\n")
        token = cl(["server", "token", "add", "t"], directory).stdout.strip()
        with contextlib.ExitStack() as stack:
            far = Far(kind, directory, stack.enter_context(serving(directory)), config, token)
            far.stack = stack
            yield far
        return
    sshd = request.getfixturevalue("sshd")
    if kind == "ssh":
        sshd.install_client_config(cl_home, alias="cltest")
        yield Far(kind, directory, f"ssh://cltest{directory}", config)
        return
    config.set("ssh", "command", shlex.join(sshd.ssh_args()[:-1]))
    yield Far(kind, directory, f"ssh://{sshd.user}@{sshd.host}:{sshd.port}{directory}", config)


def test_every_transport_is_in_the_suite():
    assert sorted(TRANSPORTS) == sorted(KINDS)


def test_the_url_picks_the_transport(far):
    assert transport_name(parse_url(far.url), settings("far", far.config)) == far.kind


def test_hello_and_a_refused_request_keep_the_session(far):
    with far.open() as client:
        assert client.hello()["version"] == frames.VERSION
        with pytest.raises(RemoteError, match="version 99 is not spoken here"):
            client._call({"op": "hello", "version": 99})
        assert client.refs(prefixes=["bundles/"]) == {}


def test_push_pull_round_trip_and_up_to_date(far):
    a, b = Side(), Side()
    project(a)
    with far.open() as client:
        out = push(a.store, a.refs, client, names(a))
    assert [u.status for u in out.updates] == ["ok", "ok", "ok"]
    mine = dict(a.refs.items("bundles/")) | dict(a.refs.items("worksheets/"))
    assert far.refs().items() >= mine.items()  # (`cl init` made a worksheet there too)
    with far.open() as client:
        out = push(a.store, a.refs, client, names(a))
        assert {u.status for u in out.updates} == {"up to date"}
        assert client.stats.sent_bytes == 0
    with far.open() as client:
        out = pull(b.store, b.refs, client, ["worksheets/w1"])
    assert {u.status for u in out.updates} == {"ok"}
    assert same_refs(a, b) and set(b.store.ids()) == set(a.store.ids())


def test_large_blob_crosses_in_chunks(far):
    a, b = Side(), Side()
    big = os.urandom(3 << 20)
    a.worksheet("w1", "main", [a.bundle("big", a.blob(big))])
    with far.open() as client:
        push(a.store, a.refs, client, names(a))
    with far.open() as client:
        pull(b.store, b.refs, client, ["worksheets/w1"])
    assert b.store.read_bytes(hash_bytes(big)) == big


def test_update_refuses_a_head_of_another_bundle(far):
    a = Side()
    ds, run = project(a)
    with far.open() as client:
        push(a.store, a.refs, client, names(a))
        heads = far.refs()
        results = client.update([(f"bundles/{ds}", heads[f"bundles/{ds}"], heads[f"bundles/{run}"])])
    assert results == [f"rejected: 'bundles/{ds}' cannot point at 0x{heads[f'bundles/{run}']}: "
                       "a state of another bundle"]
    assert far.refs() == heads


def test_tampered_object_is_rejected(far):
    a, b = Side(), Side()
    data = b"the true content\n" * 10
    a.worksheet("w1", "main", [a.bundle("d", a.blob(data))])
    with far.open() as client:
        push(a.store, a.refs, client, names(a))
    oid = hash_bytes(data)
    path = far.directory / ".codalab" / "objects" / oid[:2] / oid[2:]  # as tests/remote/test_ssh.py
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data.replace(b"true", b"FAKE"))
    with far.open() as client:
        with pytest.raises(CorruptObject, match=f"0x{hash_bytes(data)}"):
            pull(b.store, b.refs, client, ["worksheets/w1"])
    assert b.refs.items() == []


def test_an_object_over_the_limit_is_refused(far):
    a = Side()
    a.worksheet("w1", "main", [a.bundle("big", a.blob(b"y" * (2 << 20)))])
    with far.open() as client:
        push(a.store, a.refs, client, names(a))
    far.config.set("sync", "max_object_size", "1m")
    with far.open() as client:
        with pytest.raises(RemoteError, match="2097152 bytes, more than the 1048576 bytes accepted"):
            pull(Side().store, Side().refs, client, ["worksheets/w1"])


@pytest.fixture
def stalled(far):
    """The far side made to say nothing, with config sync.timeout 1: `cl`
    on the ssh side sleeps first; for http, a socket that accepts and never
    answers stands where the server was.  A directory remote is served in
    this process and nothing between can stall it: for it the test checks
    that the setting reaches its pipe (whose stall is played in
    tests/remote/test_hostile.py::test_a_stalled_server_is_given_up_on)."""
    far.config.set("sync", "timeout", "1")
    if far.kind.startswith("ssh"):
        far.config.set("ssh", "cl", "sleep 30; cl")
    if far.kind != "http":
        yield far
        return
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        far.url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        yield far


def test_a_stalled_peer_is_given_up_on_after_sync_timeout(stalled):
    with stalled.open() as client:
        assert client.transport.timeout == 1.0
        if stalled.kind == "dir":
            return
        with pytest.raises(RemoteError, match=r"remote 'far' sent nothing for 1 s; gave up "
                                              r"\(config sync.timeout sets how long to wait\)"):
            client.hello()


def test_a_push_over_the_far_limit_is_refused_with_its_reason(far, cl):
    far.configure(cl, "sync.max_object_size", "1m")
    a = Side()
    a.worksheet("w1", "main", [a.bundle("big", a.blob(b"z" * (16 << 20)))])  # more than buffers hold
    with far.open() as client:
        with pytest.raises(RemoteError, match="16777216 bytes, more than the 1048576 bytes accepted"):
            push(a.store, a.refs, client, names(a))
    assert "worksheets/w1" not in far.refs()


def test_the_registry_is_lazy_and_names_what_it_has(cl, tmp_path):
    """Opening a directory remote imports neither paramiko nor httpx; an
    unknown transport name is one clear error naming the known ones."""
    far = tmp_path / "far"
    far.mkdir()
    cl(["init"], far)
    code = ("import sys; from cl.sync.remotes import open_url\n"
            f"with open_url({str(far)!r}, 'far') as c: c.hello()\n"
            "print(sorted(m for m in ('paramiko', 'httpx', 'cl.remote.ssh', 'cl.remote.http') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    with pytest.raises(UsageError, match="no transport named 'ftp' \\(dir, ssh, ssh-command, http\\)"):
        open_transport(parse_url(str(far)), settings("far"), "ftp")


def test_released_the_far_side_ends_before_the_client_closes(far):
    """A pull releases the remote once its objects are here: over the
    system ssh the far side reads the end of its input and exits, and ssh
    with it, while the client is still storing; close is then quick."""
    with far.open() as client:
        assert client.hello()["version"] == frames.VERSION
        client.release()
        if far.kind == "ssh-command":
            assert client.transport._proc.wait(timeout=60) == 0
