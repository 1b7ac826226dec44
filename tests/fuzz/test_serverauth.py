"""Bounded fuzzing of what the permission layer parses from the wire:
`Authorization` headers, stored password hashes, and the `access` and
`update` requests a signed-in user sends.  Any input gets an answer or a
CLError (an error reply), never another exception, and an anonymous or
unprivileged asker changes nothing it may not."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cl
from cl.auth.passwords import check_password, hash_password
from cl.auth.policy import ANONYMOUS, Access
from cl.refs.access import AccessStore
from cl.remote.frames import FrameReader
from cl.remote.server import Server

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=12),
                    st.sampled_from(["public", "lab", "bob", "all", "read", "none",
                                     "bundles/" + "a" * 64, "worksheets/w1", "HEAD"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=6), inner,
                                                                        max_size=4)), max_leaves=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    api = cl.init(tmp_path_factory.mktemp("fuzz") / "p")
    api.upload(text="x\n", name="x")
    store = AccessStore(api._repo.root)
    store.add_user("bob", hash_password("bob-password"), False, 0)
    checker = Access(store, api._repo.store, api._repo.refs)
    yield api, store, checker
    store.close()
    api.close()


def _reply(server, request) -> dict:
    data = b"".join(server.handle(request, FrameReader(io.BytesIO(b"").read)))
    return FrameReader(io.BytesIO(data).read).recv_map()


@SETTINGS
@given(st.one_of(st.none(), st.text(max_size=60), st.text(max_size=40).map("Bearer ".__add__)))
def test_authorization_headers(served, header):
    _, _, checker = served
    principal = checker.authenticate(header)
    assert principal is None or principal.anonymous or principal.user in ("bob", "root")
    if header and not header.startswith("Bearer "):
        assert principal is None


@SETTINGS
@given(st.text(max_size=80), st.text(max_size=20))
def test_stored_hash_parsing(stored, password):
    assert check_password(password, stored) in (True, False)


@SETTINGS
@given(st.sampled_from(["uinfo", "uls", "gnew", "gls", "ginfo", "grm", "uadd", "urm", "perm",
                        "chown", "show", "frob"]) | st.text(max_size=6), values,
       st.sampled_from(["bob", None]))
def test_access_requests(served, action, args, who):
    api, store, checker = served
    refs_before = api._repo.refs.items()
    perms_before = store.granted(["public", "lab"])
    principal = checker.principal(who) if who else ANONYMOUS
    server = Server(api._repo.store, api._repo.refs, "t", policy=checker.policy(principal))
    reply = _reply(server, {"op": "access", "action": action, "args": args})
    assert set(reply) <= {"result", "error"} and len(reply) == 1
    assert api._repo.refs.items() == refs_before
    # bob owns nothing here, so no permission on an existing ref can change
    assert store.granted(["public", "lab"]) == perms_before


@SETTINGS
@given(values, st.sampled_from(["bob", None]))
def test_update_requests(served, updates, who):
    api, _, checker = served
    before = api._repo.refs.items()
    principal = checker.principal(who) if who else ANONYMOUS
    server = Server(api._repo.store, api._repo.refs, "t", policy=checker.policy(principal))
    reply = _reply(server, {"op": "update", "updates": updates})
    assert "error" in reply or all(r.startswith("rejected: ") for r in reply["results"])
    assert api._repo.refs.items() == before
