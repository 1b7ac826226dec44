"""Users, tokens and the policy's edges: the knowing-an-id attack (pointing
a new ref at another's data without uploading it), legacy tokens, the
permission data surviving reindex, passwords from stdin only, and bad input
getting one line."""

import io
import os

import pytest

import cl
from cl.auth.passwords import check_password, hash_password, token_digest
from cl.auth.policy import Access, Principal
from cl.refs.access import AccessStore
from cl.remote import frames
from cl.remote.frames import END, FrameReader
from cl.remote.server import Server


def _ask(server, request, body=b""):
    reader = FrameReader(io.BytesIO(body).read)
    return FrameReader(io.BytesIO(b"".join(server.handle(request, reader))).read).recv_map()


@pytest.fixture
def two(tmp_path):
    """alice's private bundle on a served repository, and dave's repository
    holding a bundle of the same bytes (so he knows the data's id)."""
    served = cl.init(tmp_path / "served")
    private = served.upload(text="alice's secret\n", name="secret")
    access = AccessStore(served._repo.root)
    for user in ("alice", "dave"):
        access.add_user(user, hash_password("password-" + user), False, 0)
    access.set_owner(f"bundles/{private.id[2:]}", "alice")
    dave = cl.init(tmp_path / "dave")
    copy = dave.upload(text="alice's secret\n", name="mine")
    yield served, private, access, dave, copy
    access.close()
    served.close()
    dave.close()


def _server(served, access, user):
    checker = Access(access, served._repo.store, served._repo.refs)
    policy = checker.policy(checker.principal(user))
    return Server(served._repo.store, served._repo.refs, "t", policy=policy)


def test_knowing_an_id_is_not_enough(two):
    served, private, access, dave, copy = two
    drepo, bid = dave._repo, copy.id[2:]
    state_id = drepo.refs.get(f"bundles/{bid}")
    bundle = drepo.read(bid)
    data_id = bundle.contents.id
    assert served._repo.store.has(data_id)  # the server holds the same bytes, as alice's
    server = _server(served, access, "dave")
    # the server does not admit holding the data...
    assert _ask(server, {"op": "have", "ids": [frames.wire_id(data_id)]})["have"] == b"\x00"
    # ...so a client that skips uploading it (knowing only its id) is refused
    body = b"".join(frames.stream_frames(drepo.store, [bid, state_id])) + END
    assert _ask(server, {"op": "put"}, body)["stored"] == 2
    results = _ask(server, {"op": "update", "updates": [[f"bundles/{bid}", None, state_id]]})
    assert results["results"][0].startswith("rejected: dave may not point ")
    assert served._repo.refs.get(f"bundles/{bid}") is None
    # uploading the bytes proves holding them: then the same update is taken
    body = b"".join(frames.stream_frames(drepo.store, [data_id, bid, state_id])) + END
    assert _ask(server, {"op": "put"}, body)["stored"] == 3
    results = _ask(server, {"op": "update", "updates": [[f"bundles/{bid}", None, state_id]]})
    assert results["results"] == ["ok"]
    assert access.owner(f"bundles/{bid}") == "dave"
    # and alice's own bundle is still not dave's to read
    assert _ask(server, {"op": "refs", "prefixes": ["bundles/"]})["refs"] == {
        f"bundles/{bid}": state_id}


def test_passwords_are_scrypt_and_checked():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$") and "correct" not in stored
    assert check_password("correct horse", stored)
    assert not check_password("correct horsE", stored)
    assert not check_password("x", "garbage")
    assert hash_password("correct horse") != stored  # salted


def test_legacy_token_acts_as_root(tmp_path):
    api = cl.init(tmp_path / "r")
    repo = api._repo
    try:
        old = "cl_legacy-token-value"
        repo.refs.set_if_equals("server/tokens/ops", None, token_digest(old))
        access = AccessStore(repo.root)
        checker = Access(access, repo.store, repo.refs)
        assert checker.authenticate(f"Bearer {old}") == Principal("root", True)
        assert checker.authenticate("Bearer cl_other") is None
        assert checker.authenticate(None).anonymous
        access.close()
    finally:
        api.close()


def test_users_tokens_survive_reindex_and_work(cl, tmp_path):
    repo = tmp_path / "srv"
    cl(["init", repo], tmp_path)
    done = cl(["server", "user", "add", "erin", repo], tmp_path, input="erin-password\n")
    assert done.stderr == "added user erin\n"
    token = cl(["server", "token", "add", "erin", repo], tmp_path).stdout.strip()
    assert token.startswith("cl_")
    assert os.path.isfile(repo / ".codalab" / "access.db")
    cl(["reindex"], repo)
    listed = cl(["server", "user", "ls", "--json", repo], tmp_path).stdout
    assert '"user": "erin"' in listed and '"tokens": 1' in listed
    stored = AccessStore(str(repo / ".codalab"))
    try:
        assert stored.token_user(token_digest(token)) == "erin"
        assert token not in open(repo / ".codalab" / "access.db", "rb").read().decode("latin-1")
    finally:
        stored.close()


@pytest.mark.parametrize("args,stdin,message", [
    (["server", "user", "add", "frank"], "short\n", "cl: a password needs at least 8 characters"),
    (["server", "user", "add", "bad/name"], "long-enough\n", "cl: invalid user name: 'bad/name'"),
    (["server", "user", "add", "public"], "long-enough\n", "cl: 'public' is the group of everyone"),
    (["server", "user", "add", "frank"], "", "cl: no password on stdin"),
    (["server", "token", "add", "nobody"], "", "cl: no such user: 'nobody'"),
    (["server", "user", "rm", "nobody"], "", "cl: no such user: 'nobody'"),
    (["server", "user", "passwd", "nobody"], "long-enough\n", "cl: no such user: 'nobody'"),
    (["server", "user", "frob"], "", "cl: usage: cl server"),
])
def test_bad_input_one_line(cl, tmp_path, args, stdin, message):
    repo = tmp_path / "srv"
    cl(["init", repo], tmp_path)
    done = cl(args + [repo], tmp_path, input=stdin, check=False)
    assert done.returncode != 0
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    listed = cl(["server", "user", "ls", "--json", repo], tmp_path).stdout
    assert listed.strip() == "[]"  # nothing changed
