"""A lab for the web tests: a bare served repository with users root,
alice and bob (passwords "<user>-password"), alice's worksheet `alice-lab`
(pushed by her, so hers and private), root's worksheet `secret` made on the
server itself, runs executed by the local executor, and a real `cl server`
on a loopback port."""

import os
import re

import httpx
import pytest

from tests.conftest import run_cl
from tests.server.helpers import start_server, stop_server


class WebLab:
    def __init__(self, base, home):
        self.base, self.home = base, home
        self.server = base / "server"
        self.cl(["init", "--bare", self.server], base)
        self.on_server(["config", "run.executor", "local"])
        self.on_server(["config", "server.behind_proxy", "true"])
        for user in ("root", "alice", "bob"):
            args = ["server", "user", "add", user] + (["--root"] if user == "root" else [])
            self.cl(args + [self.server], base, input=f"{user}-password\n")
        self.alice_token = self.cl(["server", "token", "add", "alice", self.server], base).stdout.strip()
        # root's private worksheet, made on the server
        self.on_server(["new", "secret"])
        self.on_server(["add", "-m", "the secret plan: 42", "--dest-worksheet", "secret"])
        self.proc, self.url = start_server(self.server, home, base)
        # alice's worksheet, pushed by her
        self.alice = base / "alice"
        self.cl(["init", self.alice], base)
        self.cl(["remote", "add", "origin", self.url], self.alice)
        self.cl(["new", "--no-link", "alice-lab"], self.alice)
        self.cl(["work", "alice-lab"], self.alice)
        (self.alice / "data.txt").write_text("alpha\nbeta\n")
        self.data = self.cl(["upload", "data.txt"], self.alice).stdout.strip()[2:]
        self.cl(["add", "-m", "# Alice experiments"], self.alice)
        push = self.cl(["push", "origin"], self.alice, env={"CL_TOKEN": self.alice_token})
        assert "ok" in push.stdout, push.stdout + push.stderr

    def cl(self, args, cwd, input=None, env=None, check=True):
        return run_cl(args, cwd, input=input, env={"HOME": self.home, **(env or {})}, check=check)

    def on_server(self, args, check=True):
        return self.cl(args, self.server, env={"CODALAB_DIR": str(self.server)}, check=check)

    def close(self):
        stop_server(self.proc)
        self.stop_workers()

    def stop_workers(self):
        """The workers the server's runs started (cl run starts one in the
        background) are stopped with the lab, not left idling."""
        import signal
        import time

        from cl.index import runs as rindex
        from cl.repo import Repository
        repo = Repository(str(self.server))
        try:
            pids = [w["pid"] for w in rindex.workers(repo.db) if w["alive"]]
        finally:
            repo.close()
        for _ in range(2):  # a second SIGTERM stops a worker without finishing its runs
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("weblab")
    home = base / "home"
    home.mkdir()
    w = WebLab(base, str(home))
    try:
        yield w
    finally:
        w.close()


CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, page[:2000]
    return found.group(1)


def signed_in(url: str, user: str, headers: dict | None = None) -> httpx.Client:
    """An httpx client with a session of `user` (signed in with a password)."""
    client = httpx.Client(base_url=url, headers=headers or {}, follow_redirects=False, timeout=60)
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"csrf": token, "user": user, "password": f"{user}-password"})
    assert r.status_code == 303, r.text
    return client


def artifacts_dir(tmp_path_factory) -> str:
    """Where the browser tests save screenshots: $CL_TEST_ARTIFACTS/web, or
    the pytest temporary directory."""
    root = os.environ.get("CL_TEST_ARTIFACTS")
    path = os.path.join(root, "web") if root else str(tmp_path_factory.getbasetemp() / "web-screenshots")
    os.makedirs(path, exist_ok=True)
    return path
