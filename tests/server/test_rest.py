"""The REST API against a real `cl server --workers 1` on loopback (Docker
runs with the busybox test image): worksheets, markup compare-and-swap,
bundle info/contents/file with Range, upload, runs executed by the
server's own worker, kill, search, token revocation, and JSON errors with
the right 4xx."""

import json

import httpx
import pytest

from tests.conftest import run_cl
from tests.server.helpers import start_server, stop_server


class Hub:
    """A served bare repository; alice pushed worksheet `lab` with bundle `d`."""

    def __init__(self, base, home, image):
        self.base, self.home = base, home
        self.server = base / "server"
        self.run(["init", "--bare", self.server], base)
        self.run(["config", "run.executor", "docker"], base, env={"CODALAB_DIR": self.server})
        self.run(["config", "run.image", image], base, env={"CODALAB_DIR": self.server})
        # no detached worker: only the server's own (--workers 1) can run anything
        self.run(["config", "run.auto_worker", "false"], base, env={"CODALAB_DIR": self.server})
        self.tokens = {}
        for user in ("alice", "bob"):
            self.run(["server", "user", "add", user, self.server], base, input=f"{user}-password\n")
            self.tokens[user] = self.run(["server", "token", "add", user, self.server], base).stdout.strip()
        self.proc, self.url = start_server(self.server, home, base, ["--workers", "1"])
        self.alice = base / "alice"
        self.run(["init", self.alice, "-w", "lab"], base)
        self.run(["remote", "add", "origin", self.url], self.alice)
        (self.alice / "d").mkdir()
        (self.alice / "d" / "nums.txt").write_text("".join(f"{i}\n" for i in range(1000)))
        (self.alice / "d" / "hello.txt").write_text("hello\n")
        self.bundle = self.run(["upload", "d"], self.alice).stdout.strip()
        self.run(["push", "origin"], self.alice, env={"CL_TOKEN": self.tokens["alice"]})

    def run(self, args, cwd, input=None, env=None, check=True):
        return run_cl(args, cwd, input=input, env={"HOME": self.home, **(env or {})}, check=check)

    def client(self, who=None):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url + "/rest", headers=headers, timeout=60)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, busybox_image):
    hub = Hub(tmp_path_factory.mktemp("hub"), tmp_path_factory.mktemp("home"), busybox_image)
    yield hub
    stop_server(hub.proc)


def _error(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"] and body["error"]
    return body["error"]


def test_worksheets_and_page(hub):
    alice = hub.client("alice")
    rows = alice.get("/worksheets").json()["worksheets"]
    assert [r["name"] for r in rows] == ["lab"]
    assert rows[0]["permissions"] == {"owner": "alice", "perms": {}, "mine": "all"}
    ws = alice.get("/worksheets/lab").json()
    assert ws["items"] == [{"kind": "bundle", "value": hub.bundle}]
    page = alice.get("/worksheets/lab/page").json()
    table = [b for b in page["blocks"] if b["type"] == "table"][0]
    assert table["rows"][0]["bundle"] == hub.bundle[2:] and "d" in table["rows"][0]["cells"]
    assert alice.get("/worksheets?q=lab").json()["worksheets"][0]["name"] == "lab"
    assert alice.get("/worksheets?q=nothing-like-this").json() == {"worksheets": []}


def test_private_worksheet_is_missing_to_others(hub):
    for who in ("bob", None):
        client = hub.client(who)
        assert client.get("/worksheets").json() == {"worksheets": []}
        assert _error(client.get("/worksheets/lab"), 404) == "no such worksheet: 'lab'"
        assert _error(client.get("/worksheets/lab/page"), 404) == "no such worksheet: 'lab'"
        assert _error(client.get(f"/bundles/{hub.bundle}"), 404).startswith("no such bundle")
    # the same answer as for a worksheet that does not exist: a name is never confirmed
    assert _error(hub.client("bob").get("/worksheets/nonesuch"), 404) == "no such worksheet: 'nonesuch'"


def test_markup_compare_and_swap(hub):
    alice = hub.client("alice")
    got = alice.get("/worksheets/lab/markup").json()
    assert got["text"].startswith("[dataset d]{" + hub.bundle)
    saved = alice.put("/worksheets/lab/markup", json={"text": "# Notes\n" + got["text"], "head": got["head"]})
    assert saved.status_code == 200 and saved.json()["changed"] is True
    # a second save from the same (now stale) head is refused, and nothing changes
    stale = alice.put("/worksheets/lab/markup", json={"text": "lost\n", "head": got["head"]})
    assert _error(stale, 409).startswith("worksheet 'lab' changed since it was read")
    now = alice.get("/worksheets/lab/markup").json()
    assert now["head"] == saved.json()["head"] and now["text"].startswith("# Notes\n")
    assert alice.get("/worksheets/lab").json()["author"] == "alice"  # the version is alice's, not the server's
    # commands are not run from the API; bad input is a 400, never a 500
    cmd = alice.put("/worksheets/lab/markup", json={"text": "!rm foo\n", "head": now["head"]})
    assert "commands" in _error(cmd, 400)
    assert _error(alice.put("/worksheets/lab/markup", content=b"{"), 400).startswith("the body is not JSON")
    assert _error(alice.put("/worksheets/lab/markup", json={"text": 3, "head": now["head"]}), 400)
    assert _error(alice.put("/worksheets/lab/markup", json=[1]), 400) == "the JSON body must be an object"


def test_markup_cannot_publish_a_bundle_the_editor_cannot_read(hub):
    """bob owns a worksheet he shares with the public; naming alice's
    private bundle in its markup must not make that bundle readable."""
    bob = hub.client("bob")
    (hub.base / "bob").mkdir(exist_ok=True)
    repo = hub.base / "bob" / "repo"
    if not repo.exists():
        hub.run(["init", repo, "-w", "bobs"], hub.base)
        hub.run(["remote", "add", "origin", hub.url], repo)
        hub.run(["push", "origin"], repo, env={"CL_TOKEN": hub.tokens["bob"]})
    got = bob.get("/worksheets/bobs/markup").json()
    refused = bob.put("/worksheets/bobs/markup", json={"text": "{" + hub.bundle + "}\n", "head": got["head"]})
    assert _error(refused, 404) == "the markup names a bundle that does not exist or that bob may not read"
    assert bob.get("/worksheets/bobs/markup").json()["head"] == got["head"]


def test_bundle_info_contents_and_ranges(hub):
    alice = hub.client("alice")
    info = alice.get(f"/bundles/{hub.bundle}").json()
    assert info["name"] == "d" and info["permissions"]["owner"] == "alice"
    assert alice.get(f"/bundles/{hub.bundle[:10]}").json()["id"] == hub.bundle  # a prefix of the id
    listing = alice.get(f"/bundles/{hub.bundle}/contents").json()
    assert listing["type"] == "directory"
    assert {e["name"]: e["size"] for e in listing["entries"]} == {"nums.txt": 3890, "hello.txt": 6}
    whole = alice.get(f"/bundles/{hub.bundle}/file", params={"path": "nums.txt"})
    assert whole.status_code == 200 and whole.text.startswith("0\n1\n") and len(whole.content) == 3890
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["x-content-type-options"] == "nosniff"
    part = alice.get(f"/bundles/{hub.bundle}/file", params={"path": "nums.txt"},
                     headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert part.headers["content-range"] == "bytes 10-19/3890"
    tail = alice.get(f"/bundles/{hub.bundle}/file", params={"path": "nums.txt"}, headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == b"999\n"
    past = alice.get(f"/bundles/{hub.bundle}/file", params={"path": "nums.txt"},
                     headers={"Range": "bytes=5000-"})
    assert past.status_code == 416 and past.headers["content-range"] == "bytes */3890"
    assert _error(alice.get(f"/bundles/{hub.bundle}/file"), 400).endswith("is a directory")
    assert _error(alice.get(f"/bundles/{hub.bundle}/file", params={"path": "../x"}), 400)
    assert _error(alice.get(f"/bundles/{hub.bundle}/contents", params={"path": "nope"}), 400)
    assert _error(alice.get("/bundles/not-an-id"), 400).startswith("a bundle is named by its id")
    assert _error(alice.get("/bundles/0x" + "ab" * 32), 404)
    graph = alice.get(f"/bundles/{hub.bundle}/provenance", params={"direction": "descendants"}).json()
    assert graph["nodes"][0]["id"] == hub.bundle
    assert _error(alice.get(f"/bundles/{hub.bundle}/provenance", params={"direction": "up"}), 400)
    assert _error(alice.get(f"/bundles/{hub.bundle}/provenance", params={"depth": "x"}), 400)


def test_upload_run_and_kill(hub):
    alice = hub.client("alice")
    up = alice.post("/bundles", params={"filename": "greeting.txt", "worksheet": "lab", "name": "greeting"},
                    content=b"hi there\n")
    assert up.status_code == 201, up.text
    bid = up.json()["id"]
    info = alice.get(f"/bundles/{bid}").json()
    assert info["name"] == "greeting" and info["permissions"]["owner"] == "alice" and info["creator"] == "alice"
    assert alice.get(f"/bundles/{bid}/file").content == b"hi there\n"
    assert _error(alice.post("/bundles", params={"filename": "../x", "worksheet": "lab"}, content=b"x"), 400)
    assert _error(hub.client().post("/bundles", params={"filename": "x", "worksheet": "lab"},
                                    content=b"x"), 401)
    made = alice.post("/runs", json={"command": "cat g d/hello.txt", "worksheet": "lab",
                                     "dependencies": [f"g:{bid}", f"d:{hub.bundle}"], "name": "both"})
    assert made.status_code == 201, made.text
    run = made.json()["id"]
    for _ in range(600):  # the server's own worker runs it (no `cl worker` anywhere)
        state = alice.get(f"/bundles/{run}").json()["state"]
        if state in ("ready", "failed", "killed"):
            break
        import time
        time.sleep(0.2)
    assert state == "ready", alice.get(f"/bundles/{run}").json()
    assert alice.get(f"/bundles/{run}/file", params={"path": "stdout"}).content == b"hi there\nhello\n"
    # bob may not make a run of alice's private bundle, nor on her worksheet
    bob = hub.client("bob")
    assert _error(bob.post("/runs", json={"command": "true", "worksheet": "lab", "dependencies": []}), 404)
    assert _error(alice.post("/runs", json={"command": "true", "worksheet": "lab",
                                            "dependencies": ["0xnothex"]}), 400)
    # a long run, killed through the API
    long = alice.post("/runs", json={"command": "sleep 600", "worksheet": "lab"}).json()["id"]
    assert _error(bob.post(f"/bundles/{long}/kill"), 404)
    killed = alice.post(f"/bundles/{long}/kill")
    assert killed.status_code == 200
    for _ in range(600):
        if alice.get(f"/bundles/{long}").json()["state"] == "killed":
            break
        import time
        time.sleep(0.2)
    assert alice.get(f"/bundles/{long}").json()["state"] == "killed"


def test_upload_of_an_archive_is_unpacked(hub):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("a.txt", b"a\n"), ("sub/b.txt", b"bb\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    alice = hub.client("alice")
    up = alice.post("/bundles", params={"filename": "pair.tar.gz", "worksheet": "lab"}, content=buf.getvalue())
    assert up.status_code == 201, up.text
    bid = up.json()["id"]
    assert alice.get(f"/bundles/{bid}").json()["name"] == "pair"
    listing = alice.get(f"/bundles/{bid}/contents").json()["entries"]
    assert {e["name"]: e["type"] for e in listing} == {"a.txt": "file", "sub": "directory"}
    assert alice.get(f"/bundles/{bid}/file", params={"path": "sub/b.txt"}).content == b"bb\n"
    broken = alice.post("/bundles", params={"filename": "bad.tar.gz", "worksheet": "lab"}, content=b"not gzip")
    assert _error(broken, 400)


def test_search(hub):
    alice = hub.client("alice")
    found = alice.get("/bundles", params={"q": "name=d"}).json()["bundles"]
    assert [b["id"] for b in found] == [hub.bundle]
    assert hub.client("bob").get("/bundles", params={"q": "name=d"}).json() == {"bundles": []}
    both = alice.get("/search", params={"q": "lab"}).json()
    assert set(both) == {"bundles", "worksheets"}
    # a field only one language knows: that side says why it found nothing
    mixed = alice.get("/search", params={"q": "state=ready"}).json()
    assert hub.bundle in [b["id"] for b in mixed["bundles"]] and mixed["worksheets"] == []
    assert mixed["problems"]["worksheets"].startswith("unknown worksheet search field: 'state'")
    assert _error(alice.get("/bundles", params={"q": ".count"}), 400)


def test_people_and_groups(hub):
    alice, bob = hub.client("alice"), hub.client("bob")
    assert alice.get("/whoami").json() == {"user": "alice", "root": False, "groups": ["public"]}
    assert hub.client().get("/whoami").json()["user"] is None
    assert alice.post("/groups", json={"group": "team"}).status_code == 201
    assert alice.put("/groups/team/members/bob", json={}).status_code == 200
    assert {m["user"] for m in bob.get("/groups/team").json()["members"]} == {"alice", "bob"}
    assert _error(bob.delete("/groups/team"), 403).startswith("only the owner")
    assert alice.put(f"/bundles/{hub.bundle}/permissions", json={"group": "team", "level": "read"}).status_code == 200
    assert bob.get(f"/bundles/{hub.bundle}").json()["permissions"]["mine"] == "read"
    assert _error(bob.put(f"/bundles/{hub.bundle}/permissions", json={"group": "team", "level": "all"}), 403)
    assert _error(alice.put(f"/bundles/{hub.bundle}/permissions", json={"group": "team", "level": "x"}), 400)
    assert alice.put(f"/bundles/{hub.bundle}/permissions", json={"group": "team", "level": "none"}).status_code == 200
    assert _error(bob.get(f"/bundles/{hub.bundle}"), 404)
    assert alice.delete("/groups/team").status_code == 200
    assert _error(hub.client().get("/users"), 401)


def test_errors_are_json(hub):
    anon = hub.client()
    assert _error(anon.get("/no/such/route"), 404)
    assert _error(anon.delete("/whoami"), 405)
    bad = httpx.get(hub.url + "/rest/whoami", headers={"Authorization": "Bearer wrong"})
    assert _error(bad, 401) == "wrong token" and bad.headers["www-authenticate"].startswith("Bearer")


def test_token_revocation_takes_effect_at_once(hub):
    token = hub.run(["server", "token", "add", "bob", hub.server], hub.base).stdout.strip()
    client = httpx.Client(base_url=hub.url + "/rest", headers={"Authorization": f"Bearer {token}"})
    assert client.get("/whoami").json()["user"] == "bob"
    listed = json.loads(hub.run(["server", "token", "ls", "--json", hub.server], hub.base).stdout)
    mine = [t for t in listed if t["user"] == "bob"]
    assert len(mine) == 2 and all(len(t["id"]) == 12 for t in mine)
    hub.run(["server", "token", "rm", token, hub.server], hub.base)
    assert _error(client.get("/whoami"), 401) == "wrong token"  # the running server: no restart
    again = hub.run(["server", "token", "rm", token, hub.server], hub.base, check=False)
    assert again.returncode != 0 and again.stderr.startswith("cl: no such token")
    assert hub.client("bob").get("/whoami").json()["user"] == "bob"  # bob's other token still works


def test_openapi_and_api_page(hub):
    doc = httpx.get(hub.url + "/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and "/rest/bundles/{bundle}/file" in doc["paths"]
    page = httpx.get(hub.url + "/api")
    assert page.status_code == 200 and "/rest/worksheets/{worksheet}/markup" in page.text
    assert "http://" not in page.text.replace(hub.url, "") and "https://" not in page.text  # offline


def test_wls_of_a_server_shows_owners_and_permissions(hub):
    """`cl wls REMOTE:: --refresh` (which connects) shows who owns each
    worksheet and which groups may read or change it, as CodaLab's wls."""
    env = {"CL_TOKEN": hub.tokens["alice"]}
    listed = json.loads(hub.run(["wls", "origin::", "--refresh", "--json"], hub.alice, env=env).stdout)
    assert [(r["name"], r["permissions"]["owner"]) for r in listed] == [("lab", "alice")]
    hub.run(["wperm", "origin::lab", "public", "read"], hub.alice, env=env)
    text = hub.run(["wls", "origin::", "--refresh"], hub.alice, env=env).stdout
    header, row = text.splitlines()[:2]
    assert "owner" in header and "permissions" in header
    assert " alice " in row and "public(read)" in row
    hub.run(["wperm", "origin::lab", "public", "none"], hub.alice, env=env)
    # without --refresh nothing is asked of the server: the columns are cl wls's own
    assert "permissions" not in hub.run(["wls", "origin::"], hub.alice).stdout


def test_proxy_settings(hub, tmp_path):
    """server.public_url is what the server announces; a malformed one is
    refused before anything is served."""
    server = tmp_path / "proxied"
    hub.run(["init", "--bare", server], tmp_path)
    env = {"CODALAB_DIR": server}
    hub.run(["config", "server.behind_proxy", "true"], tmp_path, env=env)
    hub.run(["config", "server.public_url", "ftp://cl.example"], tmp_path, env=env)
    refused = hub.run(["server", "--port", "1", server], tmp_path, check=False)
    assert refused.returncode == 1
    assert refused.stderr == "cl: server.public_url must start with http:// or https://, not 'ftp://cl.example'\n"
    hub.run(["config", "server.public_url", "https://cl.example"], tmp_path, env=env)
    proc, url = start_server(server, hub.home, tmp_path)
    try:
        assert httpx.get(url + "/rest/whoami").json()["user"] is None
    finally:
        stop_server(proc)
    announced = proc.stderr.read().decode()
    assert "serving " + str(server) + " on https://cl.example (listening on 127.0.0.1:" in announced


def test_an_upload_without_a_good_token_is_refused_before_its_body_is_read(hub):
    """Attack: anyone could fill the server's disk with bodies that a 401
    ends only after they were written out.  The refusal comes first: the
    server answers while most of the body has not even been sent."""
    import socket
    from urllib.parse import urlsplit
    where = urlsplit(hub.url)
    for auth in ("", "Authorization: Bearer wrong\r\n"):
        with socket.create_connection((where.hostname, where.port)) as s:
            s.sendall((f"POST /rest/bundles?filename=big.bin&worksheet=lab HTTP/1.1\r\nHost: x\r\n{auth}"
                       f"Content-Type: application/octet-stream\r\nContent-Length: {1 << 34}\r\n\r\n").encode())
            s.sendall(b"\0" * (1 << 20))
            s.settimeout(60)  # a liveness bound, not a measurement: without the fix no answer ever comes
            answer = _answer(s)
        assert answer.startswith("HTTP/1.1 401 "), answer


def test_a_json_body_is_bounded_while_it_is_read(hub):
    """Attack: a JSON body is read into memory, so a huge one must be
    refused as it comes -- by its Content-Length, or once a chunked body
    passes the bound -- never after all of it was held."""
    import socket
    from urllib.parse import urlsplit
    where = urlsplit(hub.url)
    heads = (f"Content-Length: {1 << 34}\r\n", "Transfer-Encoding: chunked\r\n")
    for head in heads:
        with socket.create_connection((where.hostname, where.port)) as s:
            s.sendall(f"POST /rest/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}\r\n".encode())
            chunk = b"\0" * (1 << 20)
            s.settimeout(60)  # a liveness bound, not a measurement
            answer = b""
            for _ in range(40):  # 40 MiB at most: more than the 16 MiB bound
                try:
                    s.sendall(chunk if "Length" in head else b"100000\r\n" + chunk + b"\r\n")
                except OSError:  # the server answered and closed
                    break
                if "Length" in head:
                    break
            answer = _answer(s)
        assert answer.startswith("HTTP/1.1 413 "), answer
        assert '"error": "the JSON body is larger than 16 MiB"' in answer.replace('":"', '": "')


def test_sigterm_stops_the_servers_worker_cleanly(hub, tmp_path):
    """A service manager stops the server with SIGTERM: its worker takes
    no new runs, finishes the running ones and leaves the workers table,
    and the server exits 0 -- it is not killed half way."""
    server = tmp_path / "stopping"
    hub.run(["init", "--bare", server], tmp_path)
    env = {"CODALAB_DIR": server}
    hub.run(["config", "run.executor", "docker"], tmp_path, env=env)
    proc, url = start_server(server, hub.home, tmp_path, ["--workers", "1"])
    assert "docker" in hub.run(["workers"], tmp_path, env=env).stdout
    proc.terminate()
    assert proc.wait(timeout=120) == 0
    said = proc.stderr.read().decode()
    assert "cl server: stopping; waiting for the running runs to finish" in said, said
    assert hub.run(["workers"], tmp_path, env=env).stdout.strip() == "no worker is running"


def _answer(s) -> str:
    """An HTTP answer read off a raw socket: its head and its whole body
    (which may come in a later segment than the head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(4096)
        if not got:
            break
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        got = s.recv(4096)
        if not got:
            break
        body += got
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_a_search_limit_counts_only_what_the_reader_may_see(hub):
    """`.limit=N` is N bundles (or worksheets) the caller may read: the
    newest match being someone else's private one does not leave bob with
    nothing.  (Last in this module: it adds worksheets the others do not
    expect.)"""
    bobs = hub.base / "bob-search"
    hub.run(["init", bobs, "-w", "bob-search"], hub.base)
    hub.run(["remote", "add", "origin", hub.url], bobs)
    (bobs / "bob-findme").write_text("bob's\n")
    mine = hub.run(["upload", "bob-findme"], bobs).stdout.strip()
    hub.run(["push", "origin"], bobs, env={"CL_TOKEN": hub.tokens["bob"]})
    alices = hub.base / "alice-search"
    hub.run(["init", alices, "-w", "alice-search"], hub.base)
    hub.run(["remote", "add", "origin", hub.url], alices)
    for n in range(3):  # newer than bob's, and private
        (alices / f"alice-findme-{n}").write_text(f"alice's {n}\n")
        hub.run(["upload", f"alice-findme-{n}"], alices)
    hub.run(["push", "origin"], alices, env={"CL_TOKEN": hub.tokens["alice"]})
    bob = hub.client("bob")
    for q in ("findme .limit=1", "findme .limit=2", "findme .last .limit=1", "findme name=.sort- .limit=1"):
        assert [b["id"] for b in bob.get("/bundles", params={"q": q}).json()["bundles"]] == [mine], q
    assert bob.get("/bundles", params={"q": "findme .offset=1"}).json() == {"bundles": []}
    assert len(hub.client("alice").get("/bundles", params={"q": "alice-findme .limit=2"}).json()["bundles"]) == 2
    # and worksheets: alice's newer, private one is not counted against bob's
    for q in ("-search .last .limit=1", "-search .limit=1"):
        assert [w["name"] for w in bob.get("/worksheets", params={"q": q}).json()["worksheets"]] == \
            ["bob-search"], q
    assert bob.get("/worksheets", params={"q": "-search .offset=1"}).json() == {"worksheets": []}
