"""Who may do what over HTTP sync, against a real `cl server` on loopback:
a matrix of user x permission x operation (read/pull, push a new bundle,
edit a bundle, delete it, change its permission), plus the public group,
owners recorded on first push, legacy tokens, and the permission data
surviving `cl reindex`."""

import itertools
import json

import pytest

from tests.conftest import run_cl
from tests.server.helpers import start_server, stop_server

# who -> the level they get on the bundle under test (via groups), as CodaLab
# would grant it: the owner and root have all; anonymous has no token
ACTORS = {"root": "all", "alice": "all", "carol": "all", "bob": "read", "dave": "none",
          "anonymous": "none"}
OPERATIONS = ("read", "push", "edit", "delete", "perm")


def allowed(actor: str, op: str) -> bool:
    level = ACTORS[actor]
    if op == "read":
        return level in ("read", "all")
    if op == "push":
        return actor != "anonymous"
    return level == "all"


class Lab:
    """A served repository with users, groups and a repository per user."""

    def __init__(self, base, home):
        self.base, self.home = base, home
        self.server = base / "server"
        self.run(["init", "--bare", self.server], base)
        self.tokens = {}
        for user in ("root", "alice", "bob", "carol", "dave"):
            args = ["server", "user", "add", user] + (["--root"] if user == "root" else [])
            self.run(args + [self.server], base, input=f"{user}-password\n")
            self.tokens[user] = self.run(["server", "token", "add", user, self.server],
                                         base).stdout.strip()
        self.proc, self.url = start_server(self.server, home, base)
        self.repos = {}
        for actor in ACTORS:
            repo = base / actor
            self.run(["init", repo], base)
            self.run(["remote", "add", "origin", self.url], repo)
            self.repos[actor] = repo
        # alice makes two groups: readers (bob) and writers (carol)
        self.as_("alice", ["gnew", "readers"])
        self.as_("alice", ["gnew", "writers"])
        self.as_("alice", ["uadd", "bob", "readers"])
        self.as_("alice", ["uadd", "carol", "writers"])
        self.serial = itertools.count()

    def run(self, args, cwd, input=None, env=None, check=True):
        return run_cl(args, cwd, input=input, env={"HOME": self.home, **(env or {})},
                      check=check)

    def as_(self, actor, args, check=True):
        token = self.tokens.get(actor)
        return self.run(args, self.repos[actor], env={"CL_TOKEN": token}, check=check)

    def fresh_bundle(self) -> str:
        """A bundle alice uploads and pushes, readable by readers and
        writable by writers; its full id."""
        name = f"data{next(self.serial)}.txt"
        (self.repos["alice"] / name).write_text(name + "\n")
        bid = self.as_("alice", ["upload", name]).stdout.strip()[2:]
        assert "ok" in self.as_("alice", ["push", "origin", "0x" + bid]).stdout
        self.as_("alice", ["perm", "0x" + bid, "readers", "read"])
        self.as_("alice", ["perm", "0x" + bid, "writers", "all"])
        return bid

    def server_name(self, bid: str) -> str:
        info = json.loads(self.run(["info", "--json", "0x" + bid], self.base,
                                   env={"CODALAB_DIR": self.server}).stdout)
        return (info[0] if isinstance(info, list) else info)["name"]

    def server_deleted(self, bid: str) -> bool:
        done = self.run(["info", "--json", "0x" + bid], self.base,
                        env={"CODALAB_DIR": self.server}, check=False)
        return done.returncode != 0

    def close(self):
        stop_server(self.proc)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("home"))
    yield lab
    lab.close()


def _have_copy(lab, actor, bid):
    """Give the actor a local copy (as if they got the data elsewhere)."""
    lab.run(["pull", "origin", "0x" + bid], lab.repos[actor],
            env={"CL_TOKEN": lab.tokens["root"]})


@pytest.mark.parametrize("actor,op", list(itertools.product(ACTORS, OPERATIONS)))
def test_matrix(lab, actor, op):
    bid = lab.fresh_bundle()
    ok = allowed(actor, op)
    if op == "read":
        done = lab.as_(actor, ["pull", "origin", "0x" + bid], check=False)
        got = lab.as_(actor, ["cat", "0x" + bid], check=False)
        assert (got.returncode == 0 and got.stdout.endswith(".txt\n")) == ok, (done, got)
        if not ok:
            assert done.returncode != 0
    elif op == "push":
        name = f"{actor}-new-{bid[:8]}.txt"
        (lab.repos[actor] / name).write_text("new\n")
        mine = lab.as_(actor, ["upload", name]).stdout.strip()
        done = lab.as_(actor, ["push", "origin", mine], check=False)
        assert (done.returncode == 0 and ": ok" in done.stdout) == ok, done
        if ok:  # what a user pushes is theirs, and cl info on the remote says so
            info = json.loads(lab.as_(actor, ["info", "--json", f"origin::{mine}"]).stdout)
            assert info["permissions"] == {"owner": actor, "perms": {}, "mine": "all"}
            assert lab.as_(actor, ["perm", mine, "public", "read"]).returncode == 0
            text = lab.as_(actor, ["info", f"origin::{mine}"]).stdout
            assert f"permissions: owner {actor}; you: all; public: read" in text
    elif op in ("edit", "delete"):
        _have_copy(lab, actor, bid)
        if op == "edit":
            lab.as_(actor, ["edit", "0x" + bid, "-n", f"renamed-by-{actor}"])
        else:
            lab.as_(actor, ["rm", "0x" + bid])
        # (a deleted bundle is no spec's match any more: push everything)
        done = lab.as_(actor, ["push", "origin", "--all"], check=False)
        line = [x for x in done.stdout.splitlines() if x.startswith(f"bundle 0x{bid[:8]}")]
        assert len(line) == 1 and line[0].endswith(": ok") == ok, done
        if not ok:
            assert done.returncode == 3 and ": rejected: " in line[0]
        if op == "edit":
            expected = f"renamed-by-{actor}" if ok else "data"
            assert lab.server_name(bid).startswith(expected)
        else:
            assert lab.server_deleted(bid) == ok
    elif op == "perm":
        if ACTORS[actor] == "none":  # a local copy, so the server itself must refuse
            _have_copy(lab, actor, bid)
            spec = "0x" + bid
        else:  # resolved on the remote
            spec = "origin::0x" + bid
        done = lab.as_(actor, ["perm", spec, "public", "read"], check=False)
        assert (done.returncode == 0) == ok, done
        if not ok:
            assert done.stderr.startswith("cl: ") and len(done.stderr.splitlines()) == 1
        # whether it happened: anonymous can read it exactly when it did
        seen = lab.as_("anonymous", ["pull", "origin", "0x" + bid], check=False)
        assert (seen.returncode == 0) == ok, seen


def test_group_commands(lab):
    """gnew gls ginfo uadd -a urm grm uinfo uls, as CodaLab has them."""
    assert lab.as_("carol", ["gnew", "ops"]).stdout.strip() == "ops"
    lab.as_("carol", ["uadd", "dave", "ops", "-a"])
    lab.as_("dave", ["uadd", "bob", "ops"])  # an admin may add members
    info = json.loads(lab.as_("bob", ["ginfo", "ops", "--json"]).stdout)
    assert info["owner"] == "carol"
    assert {m["user"]: m["admin"] for m in info["members"]} == {"bob": False, "carol": True,
                                                                 "dave": True}
    refused = lab.as_("bob", ["uadd", "alice", "ops"], check=False)  # bob is no admin
    assert refused.returncode != 0 and refused.stderr == "cl: remote 'origin': bob is not an admin of group 'ops'\n"
    mine = json.loads(lab.as_("dave", ["gls", "--json"]).stdout)["groups"]
    assert {g["group"]: g["admin"] for g in mine} == {"public": False, "ops": True}
    assert json.loads(lab.as_("bob", ["uinfo", "--json"]).stdout)["groups"] == [
        {"group": "ops", "admin": False}, {"group": "readers", "admin": False}]
    users = json.loads(lab.as_("bob", ["uls", "--json"]).stdout)["users"]
    assert {u["user"] for u in users} == {"root", "alice", "bob", "carol", "dave"}
    lab.as_("bob", ["urm", "bob", "ops"])  # anyone may leave
    denied = lab.as_("dave", ["grm", "ops"], check=False)  # an admin, not the owner
    assert denied.stderr == "cl: remote 'origin': only the owner of group 'ops' or root may remove it\n"
    lab.as_("carol", ["grm", "ops"])
    gone = lab.as_("carol", ["ginfo", "ops"], check=False)
    assert gone.returncode != 0 and gone.stderr == "cl: remote 'origin': no such group: 'ops'\n"
    anon = lab.as_("anonymous", ["gnew", "x"], check=False)
    assert anon.stderr == "cl: remote 'origin': sign in first (anonymous users may only read)\n"


def test_public_worksheet_and_chown(lab):
    """wperm public read lets anyone read the worksheet; chown gives a bundle away."""
    bid = lab.fresh_bundle()
    lab.as_("alice", ["push", "origin"])  # alice's current worksheet, with the bundle on it
    ws = lab.as_("alice", ["wls", "-u"]).stdout.split()[0]
    hidden = lab.as_("anonymous", ["ls", "-w", "origin::" + ws], check=False)
    assert hidden.returncode != 0 and "no worksheet on remote 'origin' matches" in hidden.stderr
    lab.as_("alice", ["wperm", "origin::" + ws, "public", "read"])
    listed = lab.as_("anonymous", ["ls", "-w", "origin::" + ws]).stdout
    assert listed.startswith("worksheet: alice") and bid[:8] not in listed  # the bundle is private
    lab.as_("alice", ["perm", "0x" + bid, "public", "read"])
    assert bid[:8] in lab.as_("anonymous", ["ls", "-w", "origin::" + ws]).stdout
    denied = lab.as_("bob", ["chown", "bob", "origin::0x" + bid], check=False)
    assert denied.stderr.startswith("cl: remote 'origin': only the owner of 'bundles/")
    lab.as_("alice", ["chown", "bob", "origin::0x" + bid])
    shown = json.loads(lab.as_("bob", ["info", "--json", "origin::0x" + bid]).stdout)
    assert shown["permissions"]["owner"] == "bob" and shown["permissions"]["mine"] == "all"
