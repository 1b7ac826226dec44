"""Sync over a real sshd on 127.0.0.1: paramiko and the system `ssh`, both
ways; a wrong key refused; a tampered remote object rejected; a transfer
killed midway resumes sending only what is missing."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import CL, cl_env


def remote_repo(cl, path, files=None):
    path.mkdir()
    cl(["init"], path)
    for name, content in (files or {}).items():
        (path / name).write_text(content)
        cl(["upload", name], path)
    return path


@pytest.fixture
def ssh_home(sshd, cl_home):
    sshd.install_client_config(cl_home, alias="cltest")
    return cl_home


def objects(repo_dir):
    root = repo_dir / ".codalab" / "objects"
    return {f"{d}{f}" for d in os.listdir(root) for f in os.listdir(root / d)}


@pytest.mark.parametrize("transport", ["paramiko", "ssh"])
def test_clone_push_pull_over_ssh(sshd, ssh_home, cl, tmp_path, transport):
    origin = remote_repo(cl, tmp_path / "origin", {"a.txt": "alpha\n"})
    clone_dir = tmp_path / "clone"
    if transport == "paramiko":  # ~/.ssh/config names the host, port, user, key, known hosts
        cl(["clone", f"ssh://cltest{origin}", clone_dir], tmp_path)
    else:
        command = " ".join(sshd.ssh_args()[:-1])
        url = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}{origin}"
        cl(["clone", "-c", f"ssh.command={command}", url, clone_dir], tmp_path)
    assert cl(["cat", "a.txt"], clone_dir).stdout == "alpha\n"
    (clone_dir / "b.txt").write_text("beta\n")
    cl(["upload", "b.txt"], clone_dir)
    pushed = cl(["push"], clone_dir)
    assert "b.txt: ok" in pushed.stdout and "a.txt: up to date" in pushed.stdout
    assert cl(["cat", "b.txt"], origin).stdout == "beta\n"
    again = cl(["push"], clone_dir)
    assert "ok" not in again.stdout.replace("up to date", "") and "0 objects sent" in again.stderr
    (origin / "c.txt").write_text("gamma\n")
    cl(["upload", "c.txt"], origin)
    pulled = cl(["pull"], clone_dir)
    assert "c.txt: ok" in pulled.stdout
    assert cl(["cat", "c.txt"], clone_dir).stdout == "gamma\n"
    again = cl(["pull"], clone_dir)
    assert {line.rsplit(": ", 1)[1] for line in again.stdout.splitlines()} == {"up to date"}
    assert "0 objects received" in again.stderr


def test_wrong_ssh_key_refused(sshd, cl_home, cl, tmp_path):
    origin = remote_repo(cl, tmp_path / "origin")
    stranger = tmp_path / "stranger_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    dot = cl_home / ".ssh"
    dot.mkdir(exist_ok=True)
    (dot / "config").write_text(sshd.ssh_config("cltest").replace(sshd.key_path, str(stranger)))
    done = cl(["clone", f"ssh://cltest{origin}", tmp_path / "clone"], tmp_path, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "permission denied" in done.stderr
    assert not (tmp_path / "clone").exists()


@pytest.mark.parametrize("matches", [True, False])
def test_match_exec_in_ssh_config_decides(sshd, cl_home, cl, tmp_path, matches):
    """paramiko runs a `Match exec` command through invoke, which cl
    imports only for a config that has one: the command still decides
    whether the block's settings apply (when it fails, the `Host` block
    after it sends the connection to a closed port)."""
    origin = remote_repo(cl, tmp_path / "origin", {"a.txt": "alpha\n"})
    exec_block = sshd.ssh_config("viaexec").replace(
        "Host viaexec", f'Match host viaexec exec "{"true" if matches else "false"}"')
    dot = cl_home / ".ssh"
    dot.mkdir(exist_ok=True)
    (dot / "config").write_text(exec_block + "Host viaexec\n  HostName 127.0.0.1\n  Port 1\n")
    done = cl(["clone", f"ssh://viaexec{origin}", tmp_path / "clone"], tmp_path, check=False)
    if matches:
        assert done.returncode == 0, done.stderr
        assert cl(["cat", "a.txt"], tmp_path / "clone").stdout == "alpha\n"
    else:
        assert done.returncode != 0 and "cannot connect" in done.stderr and ":1:" in done.stderr


def test_unreadable_ssh_config_is_one_clear_line(cl_home, cl, tmp_path):
    (cl_home / ".ssh" / "config").mkdir(parents=True)  # a directory where the file should be
    done = cl(["clone", "ssh://cltest/somewhere", tmp_path / "clone"], tmp_path, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "cannot read" in done.stderr and ".ssh/config" in done.stderr
    assert not (tmp_path / "clone").exists()


@pytest.mark.parametrize("config, needs_invoke", [
    ("Host a\n  Port 2222\n", False),
    ('Host a\n  Port 2222\nMatch host b exec "true"\n', True),
    ('match exec "true" host b\n', True)])
def test_invoke_is_imported_only_for_a_match_exec(config, needs_invoke):
    code = ("import sys; from cl.remote.ssh import _import_paramiko; p = _import_paramiko(sys.argv[1]);"
            " print('invoke' in sys.modules, p.config.invoke is not None)")
    done = subprocess.run([sys.executable, "-c", code, config], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(needs_invoke)] * 2


def test_tampered_remote_object_rejected(sshd, ssh_home, cl, tmp_path):
    origin = remote_repo(cl, tmp_path / "origin", {"a.txt": "the true content\n"})
    blob = next(o for o in objects(origin)
                if (origin / ".codalab/objects" / o[:2] / o[2:]).read_bytes() == b"the true content\n")
    path = origin / ".codalab/objects" / blob[:2] / blob[2:]
    os.chmod(path, 0o644)
    path.write_bytes(b"the FAKE content\n")
    done = cl(["clone", f"ssh://cltest{origin}", tmp_path / "clone"], tmp_path, check=False)
    assert done.returncode != 0
    assert f"0x{blob}" in done.stderr and "corrupt" in done.stderr
    assert not (tmp_path / "clone").exists()


def test_killed_transfer_resumes(sshd, ssh_home, cl, tmp_path):
    origin = remote_repo(cl, tmp_path / "origin")
    local = tmp_path / "local"
    local.mkdir()
    cl(["init"], local)
    data = local / "data"
    data.mkdir()
    for i in range(300):
        (data / f"f{i:03}").write_bytes(os.urandom(64 << 10))
    cl(["upload", "data"], local)
    cl(["remote", "add", "origin", f"ssh://cltest{origin}"], local)
    before = objects(origin)
    proc = subprocess.Popen([CL, "push", "origin", "--all"], cwd=local, env=cl_env({"HOME": ssh_home}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    # kill it once some, but not all, of the 300 blobs have arrived
    for _ in range(6000):
        if len(objects(origin) - before) >= 30 or proc.poll() is not None:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    arrived = len(objects(origin) - before)
    assert 30 <= arrived < 300, "the push finished before it could be interrupted"
    again = cl(["push", "origin", "--all"], local)
    sent = int(again.stderr.split("objects sent")[0].split()[-1])
    assert sent <= 305 - arrived  # only what was still missing: blobs, tree, bundle, state, ws
    assert "data: ok" in again.stdout
    assert objects(local) <= objects(origin)


def test_paramiko_sends_a_small_request_at_once(sshd, ssh_home, cl, tmp_path, monkeypatch):
    """A small request that follows a large response (after window
    adjustments the far side has not acknowledged yet) would wait for its
    delayed acknowledgement under Nagle's algorithm, some 40 ms each time:
    the paramiko transport's socket sends at once (TCP_NODELAY)."""
    from cl.remote.client import Client
    from cl.remote.ssh import open_paramiko
    from cl.remote.transport import Settings
    from cl.remote.urls import parse_url

    origin = remote_repo(cl, tmp_path / "origin")
    monkeypatch.setenv("HOME", str(ssh_home))  # paramiko reads ~/.ssh/config
    with Client(open_paramiko(parse_url(f"ssh://cltest{origin}"), Settings("origin"))) as client:
        sock = client.transport._client.get_transport().sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert client.hello()["version"] >= 1


def test_chunk_pipe_reads_what_arrived_in_order():
    """The paramiko channel's receive buffer: reads take at most `nbytes`
    of what was fed, in order, splitting a packet where they must; a
    reader waiting is woken by a feed; closed and drained, a read is b""."""
    import threading

    from cl.remote.ssh import ChunkPipe

    class Timeout(Exception):
        pass

    pipe = ChunkPipe(Timeout)
    with pytest.raises(Timeout):
        pipe.read(10, timeout=0.0)
    for part in (b"abc", b"defgh", b"ij"):
        pipe.feed(part)
    assert len(pipe) == 10 and pipe.read_ready()
    assert pipe.read(4) == b"abcd"
    assert pipe.read(100) == b"efghij"
    assert not pipe.read_ready() and len(pipe) == 0
    with pytest.raises(Timeout):
        pipe.read(10, timeout=0.01)

    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read(100)))
    reader.start()
    pipe.feed(b"late")
    reader.join(timeout=10)
    assert got == [b"late"]

    event = threading.Event()
    pipe.set_event(event)
    assert not event.is_set()
    pipe.feed(b"x" * 5)
    assert event.is_set()
    assert pipe.empty() == b"xxxxx" and not event.is_set()
    pipe.feed(b"tail")
    pipe.close()
    assert event.is_set()
    assert pipe.read(2) == b"ta" and pipe.read(100) == b"il"
    assert pipe.read(100) == b"" and pipe.read(100, timeout=0.0) == b""
