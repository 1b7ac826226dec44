"""`cl server` under stalled request bodies (issue 13 item 10), with real
sockets against a real `cl server` on loopback: one token's stalled
bodies cannot take the threads every other request needs; a body that
stalls is cut off with 408, and requests beyond a token's share are
answered 503 at once."""

import contextlib
import select
import socket

import pytest

from cl.remote.frames import encode

from .test_server import origin, serving  # noqa: F401  (origin: a fixture)

STALLED = 45


def stalled_put(url: str, token: str) -> socket.socket:
    """An authenticated `put` whose body promises a megabyte and sends a
    few bytes, then nothing."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)))
    start = encode({"op": "put"})
    s.sendall(b"POST /sync/v1/put HTTP/1.1\r\n"
              + f"Host: {host}\r\nAuthorization: Bearer {token}\r\n".encode()
              + b"Content-Type: application/x-msgpack\r\nContent-Length: 1048576\r\n\r\n" + start)
    return s


def status_of(s: socket.socket) -> int:
    s.settimeout(120)  # a bound for a broken test, not a timing assertion
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


@contextlib.contextmanager
def limited_server(cl, directory, timeout: str):
    cl(["config", "server.timeout", timeout], directory)
    cl(["config", "server.per_token", "4"], directory)
    with serving(directory) as url:
        yield url


@pytest.fixture
def limited(origin, cl, cl_home, monkeypatch):  # noqa: F811
    """A `cl server` that cuts off bodies silent for 3 s and lets a token
    have 4 requests in progress; (url, token, directory)."""
    directory, token = origin
    monkeypatch.setenv("HOME", str(cl_home))
    with limited_server(cl, directory, "3") as url:
        yield url, token, directory


def test_stalled_bodies_of_one_token_leave_room_for_others(limited, cl, tmp_path):
    url, token, origin = limited
    cl(["server", "user", "add", "bob", "--root"], origin, input="bob's secret\n")
    other = cl(["server", "token", "add", "bob"], origin).stdout.strip()
    sockets = [stalled_put(url, token) for _ in range(STALLED)]
    try:
        # bob is served while alice's 45 bodies stall …
        done = cl(["clone", url, tmp_path / "clone"], tmp_path, env={"CL_TOKEN": other}, timeout=120)
        assert done.returncode == 0
        assert cl(["cat", "a.txt"], tmp_path / "clone").stdout == "alpha\n"
        # … and every stalled request is answered: 503 beyond alice's share,
        # 408 once a stalled body is cut off
        statuses = [status_of(s) for s in sockets]
    finally:
        for s in sockets:
            s.close()
    assert set(statuses) <= {408, 503} and 408 in statuses and 503 in statuses
    assert cl(["fsck"], origin).stdout == ""


def test_a_token_over_its_share_is_told_to_try_again(origin, cl, cl_home, tmp_path, monkeypatch):  # noqa: F811
    directory, token = origin
    monkeypatch.setenv("HOME", str(cl_home))
    with limited_server(cl, directory, "10m") as url:  # the 4 stay in progress until closed
        sockets = [stalled_put(url, token) for _ in range(4)]
        try:
            for _ in range(20):  # probe until one is refused: then the server holds 4 of them
                probe = stalled_put(url, token)
                sockets.append(probe)
                if select.select([probe], [], [], 2)[0]:  # no answer yet: it holds a slot itself
                    break
            assert status_of(probe) == 503
            done = cl(["clone", url, tmp_path / "clone"], tmp_path, env={"CL_TOKEN": token}, check=False)
        finally:
            for s in sockets:
                s.close()
    assert done.returncode == 1 and done.stderr.strip() == (
        "cl: remote 'origin' answered HTTP 503: token 'alice' has 4 requests in progress already; try again")


def test_a_trickling_body_is_cut_off(limited):
    """A body that keeps sending, a byte at a time, is cut off too once it
    has taken longer than server.timeout at under 1 KiB/s."""
    url, token, origin = limited
    s = stalled_put(url, token)
    # the bytes of an object frame, so every byte is part of one frame still incomplete
    trickle = iter(encode(["o", b"\1" * 32, b"x" * 100_000]))
    answered = False
    try:
        for _ in range(600):  # a bound for a broken test: about a minute
            if select.select([s], [], [], 0.1)[0]:
                answered = True
                break
            try:
                s.sendall(bytes([next(trickle)]))
            except OSError:  # the server answered and closed between two bytes
                answered = True
                break
        assert answered, "the server waited on the trickle all along"
        assert status_of(s) == 408
    finally:
        s.close()
