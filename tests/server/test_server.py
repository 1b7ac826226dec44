"""A real `cl server` subprocess on a loopback port: clone, push and pull
over HTTP with a bearer token; requests with a wrong token refused."""

import contextlib
import os
import socket
import subprocess
import time

import httpx
import pytest

from tests.conftest import CL, cl_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(origin):
    """A `cl server` on a free loopback port over `origin`; its URL."""
    port = free_port()
    proc = subprocess.Popen([CL, "server", "--port", str(port), str(origin)], cwd=origin,
                            env=cl_env({"HOME": os.environ.get("HOME")}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        for _ in range(400):
            if proc.poll() is not None:
                pytest.fail(f"cl server exited: {proc.stderr.read().decode()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def origin(cl, tmp_path):
    """A repository with a.txt and a token for alice; (directory, token)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init"], origin)
    (origin / "a.txt").write_text("alpha\n")
    cl(["upload", "a.txt"], origin)
    cl(["server", "user", "add", "alice", "--root"], origin, input="alice's secret\n")
    token = cl(["server", "token", "add", "alice"], origin).stdout.strip()
    return origin, token


@pytest.fixture
def served(origin, cl_home, monkeypatch):
    """(url, token, repository dir) of a running `cl server`."""
    directory, token = origin
    monkeypatch.setenv("HOME", str(cl_home))
    with serving(directory) as url:
        yield url, token, directory


def test_clone_push_pull_over_http(served, cl, tmp_path):
    url, token, origin = served
    env = {"CL_TOKEN": token}
    clone = tmp_path / "clone"
    cl(["clone", url, clone], tmp_path, env=env)
    assert cl(["cat", "a.txt"], clone).stdout == "alpha\n"
    (clone / "b.txt").write_text("beta\n")
    cl(["upload", "b.txt"], clone)
    cl(["config", "remote.origin.token", token], clone)  # from config instead of CL_TOKEN
    assert "b.txt: ok" in cl(["push"], clone).stdout
    assert cl(["cat", "b.txt"], origin).stdout == "beta\n"
    assert "0 objects sent" in cl(["push"], clone).stderr
    (origin / "c.txt").write_text("gamma\n")
    cl(["upload", "c.txt"], origin)
    assert "c.txt: ok" in cl(["pull"], clone).stdout
    assert cl(["cat", "c.txt"], clone).stdout == "gamma\n"


def test_wrong_token_refused(served, cl, tmp_path):
    url, token, origin = served
    message = "cl: wrong token for remote 'origin' (set remote.origin.token or CL_TOKEN)"
    for sent in (token[:-2] + "xx", "cl_" + "A" * 43):  # no token at all is anonymous: see test_permissions
        done = cl(["clone", url, tmp_path / "clone"], tmp_path, env={"CL_TOKEN": sent}, check=False)
        assert done.returncode != 0
        assert done.stderr.strip() == message
        assert not (tmp_path / "clone").exists()
    # the raw endpoint: 401 and nothing changed
    response = httpx.post(f"{url}/sync/v1/refs", content=b"\x81\xa2op\xa4refs",
                          headers={"authorization": "Bearer nope"})
    assert response.status_code == 401
    assert cl(["ls"], origin).stdout.count("a.txt") == 1
