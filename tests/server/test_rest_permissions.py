"""Who may do what through the REST API, against a real `cl server` on
loopback: a matrix of user x permission x operation (read a bundle and
its file, read a worksheet page, edit its markup, make a run of a bundle,
kill a run, change a permission, change a bundle's metadata, remove it), as tests/server/test_permissions.py
has it for HTTP sync.  A refusal is the right 4xx, and changes nothing:
no read confirms that something exists (404 as for nothing), a change
asked anonymously is 401, one asked by a reader is 403."""

import itertools

import httpx
import pytest

from tests.conftest import run_cl
from tests.server.helpers import start_server, stop_server

# who -> the level they get on what alice shares (via groups); root and the owner have all
ACTORS = {"root": "all", "alice": "all", "carol": "all", "bob": "read", "dave": "none", "anonymous": "none"}
OPERATIONS = ("read", "page", "edit", "run", "kill", "perm", "meta", "delete")


def expected(actor: str, op: str) -> int:
    level = ACTORS[actor]
    if op in ("read", "page"):
        return 200 if level != "none" else 404
    if op == "run":  # reading the dependency is enough; the run goes on a worksheet everyone may change
        if actor == "anonymous":
            return 401
        return 201 if level != "none" else 404
    if level == "all":
        return 200
    if level == "none":
        return 404
    return 401 if actor == "anonymous" else 403


class Lab:
    def __init__(self, base, home):
        self.base, self.home = base, home
        self.server = base / "server"
        self.cl(["init", "--bare", self.server])
        self.cl(["config", "run.auto_worker", "false"], env={"CODALAB_DIR": self.server})  # runs stay queued
        self.tokens = {}
        for user in ("root", "alice", "bob", "carol", "dave"):
            self.cl(["server", "user", "add", user, self.server] + (["--root"] if user == "root" else []),
                    input=f"{user}-password\n")
            self.tokens[user] = self.cl(["server", "token", "add", user, self.server]).stdout.strip()
        self.proc, self.url = start_server(self.server, home, base)
        self.repo = base / "alice"
        self.cl(["init", self.repo, "-w", "shared"])
        self.cl(["remote", "add", "origin", self.url], self.repo)
        self.cl(["push", "origin"], self.repo, env={"CL_TOKEN": self.tokens["alice"]})
        alice = self.client("alice")
        for group, member in (("readers", "bob"), ("writers", "carol")):
            assert alice.post("/groups", json={"group": group}).status_code == 201
            assert alice.put(f"/groups/{group}/members/{member}").status_code == 200
        assert alice.put("/worksheets/shared/permissions", json={"group": "public", "level": "all"}).status_code == 200
        self.serial = itertools.count()

    def cl(self, args, cwd=None, input=None, env=None):
        return run_cl(args, cwd or self.base, input=input, env={"HOME": self.home, **(env or {})})

    def client(self, actor):
        token = self.tokens.get(actor)
        return httpx.Client(base_url=self.url + "/rest", timeout=60,
                            headers={"Authorization": f"Bearer {token}"} if token else {})

    def share(self, kind: str, spec: str) -> None:
        alice = self.client("alice")
        for group, level in (("readers", "read"), ("writers", "all")):
            done = alice.put(f"/{kind}/{spec}/permissions", json={"group": group, "level": level})
            assert done.status_code == 200, done.text

    def fresh_bundle(self) -> str:
        n = next(self.serial)
        done = self.client("alice").post("/bundles", params={"filename": f"data{n}.txt", "worksheet": "shared"},
                                          content=f"data {n}\n".encode())
        assert done.status_code == 201, done.text
        bid = done.json()["id"]
        self.share("bundles", bid)
        return bid

    def fresh_run(self) -> str:
        done = self.client("alice").post("/runs", json={"command": "sleep 100", "worksheet": "shared"})
        assert done.status_code == 201, done.text
        bid = done.json()["id"]
        self.share("bundles", bid)
        return bid

    def fresh_worksheet(self) -> str:
        name = f"ws{next(self.serial)}"
        self.cl(["new", name], self.repo)
        self.cl(["push", "origin", name], self.repo, env={"CL_TOKEN": self.tokens["alice"]})
        self.share("worksheets", name)
        return name


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("restlab"), tmp_path_factory.mktemp("home"))
    yield lab
    stop_server(lab.proc)


@pytest.mark.parametrize("actor,op", list(itertools.product(ACTORS, OPERATIONS)))
def test_matrix(lab, actor, op):
    client, want = lab.client(actor), expected(actor, op)
    alice = lab.client("alice")
    if op == "read":
        bid = lab.fresh_bundle()
        info, data = client.get(f"/bundles/{bid}"), client.get(f"/bundles/{bid}/file")
        assert (info.status_code, data.status_code) == (want, want), (info.text, data.text)
        if want == 200:
            assert data.content.startswith(b"data ")
        else:
            assert info.json() == {"error": f"no such bundle: '{bid}'"}
    elif op == "page":
        ws = lab.fresh_worksheet()
        for path in (f"/worksheets/{ws}", f"/worksheets/{ws}/page", f"/worksheets/{ws}/markup"):
            assert client.get(path).status_code == want, path
        names = [w["name"] for w in client.get("/worksheets").json()["worksheets"]]
        assert (ws in names) == (want == 200)
    elif op == "edit":
        ws = lab.fresh_worksheet()
        head = alice.get(f"/worksheets/{ws}/markup").json()["head"]
        done = client.put(f"/worksheets/{ws}/markup", json={"text": f"edited by {actor}\n", "head": head})
        assert done.status_code == want, done.text
        after = alice.get(f"/worksheets/{ws}/markup").json()
        assert (after["head"] != head) == (want == 200)
        assert (after["text"] == f"edited by {actor}\n") == (want == 200)
    elif op == "run":
        bid = lab.fresh_bundle()
        done = client.post("/runs", json={"command": "cat d", "worksheet": "shared", "dependencies": [f"d:{bid}"]})
        assert done.status_code == want, done.text
        if want == 201:  # the run is theirs
            info = client.get(f"/bundles/{done.json()['id']}").json()
            assert info["permissions"]["owner"] == actor and info["state"] in ("created", "staged")
    elif op == "kill":
        bid = lab.fresh_run()
        done = client.post(f"/bundles/{bid}/kill")
        assert done.status_code == want, done.text
        state = alice.get(f"/bundles/{bid}").json()["state"]
        assert (state == "killed") == (want == 200), state
    elif op == "meta":
        bid = lab.fresh_bundle()
        done = client.patch(f"/bundles/{bid}", json={"name": f"renamed-by-{actor}", "tags": ["x"]})
        assert done.status_code == want, done.text
        name = alice.get(f"/bundles/{bid}").json()["name"]
        assert (name == f"renamed-by-{actor}") == (want == 200), name
    elif op == "delete":
        bid = lab.fresh_bundle()
        done = client.delete(f"/bundles/{bid}")
        assert done.status_code == want, done.text
        assert (alice.get(f"/bundles/{bid}").status_code == 404) == (want == 200)
    elif op == "perm":
        bid = lab.fresh_bundle()
        done = client.put(f"/bundles/{bid}/permissions", json={"group": "public", "level": "read"})
        assert done.status_code == want, done.text
        seen = lab.client("anonymous").get(f"/bundles/{bid}")  # whether it happened
        assert (seen.status_code == 200) == (want == 200)


def test_a_private_bundle_on_a_readable_worksheet_is_shown_as_private(lab):
    ws = lab.fresh_worksheet()
    alice = lab.client("alice")
    secret = alice.post("/bundles", params={"filename": "secret.txt", "worksheet": ws},
                        content=b"secret\n").json()["id"]
    bob = lab.client("bob")
    items = bob.get(f"/worksheets/{ws}").json()["items"]
    assert {"kind": "bundle", "value": "<private>"} in items and secret not in str(items)
    page = bob.get(f"/worksheets/{ws}/page").text
    assert secret[2:] not in page and "secret.txt" not in page and "<private>" in page
    assert alice.get(f"/worksheets/{ws}/page").text.count(secret[2:]) >= 1


def test_provenance_leaves_out_private_bundles(lab):
    alice, bob = lab.client("alice"), lab.client("bob")
    secret = alice.post("/bundles", params={"filename": "secret.txt", "worksheet": "shared"},
                        content=b"secret\n").json()["id"]
    made = alice.post("/runs", json={"command": "cat s", "worksheet": "shared", "dependencies": [f"s:{secret}"]})
    run = made.json()["id"]
    lab.share("bundles", run)
    mine = alice.get(f"/bundles/{run}/provenance").json()
    assert {n["id"] for n in mine["nodes"]} == {run, secret}
    seen = bob.get(f"/bundles/{run}/provenance").json()
    assert [n["id"] for n in seen["nodes"]] == [run] and seen["edges"] == [] and seen["private"] == 1
    assert _no_mention(seen, secret)
    assert bob.get(f"/bundles/{secret}/provenance", params={"direction": "descendants"}).status_code == 404


def _no_mention(value, bid: str) -> bool:
    import json
    return bid[2:] not in json.dumps(value)


def test_a_bundle_with_dependents_is_not_removed_and_they_are_not_named(lab):
    alice = lab.client("alice")
    bid = lab.fresh_bundle()
    alice.post("/runs", json={"command": "cat d", "worksheet": "shared", "dependencies": [f"d:{bid}"]})
    refused = alice.delete(f"/bundles/{bid}")
    assert refused.status_code == 409
    assert refused.json() == {"error": f"{bid[:10]} has 1 dependent bundle(s): remove them first"}
    assert alice.get(f"/bundles/{bid}").status_code == 200


def test_new_worksheet_is_the_makers(lab):
    carol = lab.client("carol")
    made = carol.post("/worksheets", json={"name": "carols-notes", "title": "Notes"})
    assert made.status_code == 201, made.text
    got = carol.get("/worksheets/carols-notes").json()
    assert got["title"] == "Notes" and got["permissions"]["owner"] == "carol" and got["items"] == []
    assert lab.client("bob").get("/worksheets/carols-notes").status_code == 404
    assert lab.client("anonymous").post("/worksheets", json={"name": "x"}).status_code == 401
    taken = carol.post("/worksheets", json={"name": "carols-notes"})
    assert taken.status_code == 400 and "already exists" in taken.json()["error"]
