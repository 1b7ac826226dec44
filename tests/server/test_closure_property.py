"""A property of the sync server under a per-user policy: it never serves,
nor admits holding, an object outside the closure of the refs the user may
read (plus what the user uploaded), and it does serve what is inside.
Repositories, users, groups, owners and permissions are generated; the
ids asked for are every object of the repository and random ones.  The
expected closure is computed here, independently of cl/auth, with the
protocol's own graph (cl/remote/graph.py)."""

import io
import os
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

import cl
from cl.auth.policy import ANONYMOUS, Access
from cl.objects.ids import ObjectId
from cl.objects.store import read_object
from cl.refs.access import AccessStore
from cl.remote import frames
from cl.remote.frames import FrameReader
from cl.remote.graph import edges
from cl.remote.server import Server

USERS = ("u0", "u1", "u2")
GROUPS = ("g0", "g1", "public")

levels = st.sampled_from([0, 1, 2])
repositories = st.fixed_dictionaries({
    "texts": st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=4),
    "makes": st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=2), max_size=2),
    "second_ws": st.lists(st.integers(0, 5), max_size=3),
})
assignments = st.fixed_dictionaries({
    "owners": st.lists(st.sampled_from(USERS + (None,)), min_size=8, max_size=8),
    "perms": st.lists(st.tuples(st.integers(0, 7), st.sampled_from(GROUPS), levels), max_size=8),
    "members": st.lists(st.tuples(st.sampled_from(("g0", "g1")), st.sampled_from(USERS)),
                        max_size=4),
    "asker": st.sampled_from(USERS + (None,)),
    "root": st.booleans(),
})


def build(tmp: str, spec: dict):
    api = cl.init(os.path.join(tmp, "repo"))
    bids = [api.upload(text=t.decode("latin-1"), name=f"t{i}").id
            for i, t in enumerate(spec["texts"])]
    for j, picks in enumerate(spec["makes"]):
        deps = {f"k{n}": bids[p % len(bids)] for n, p in enumerate(dict.fromkeys(picks))}
        bids.append(api.make(deps=deps, name=f"m{j}").id)
    if spec["second_ws"]:
        api.new_worksheet("other")
        for p in spec["second_ws"]:
            api.make(bids[p % len(bids)], name=f"o{p}", worksheet="other")
    return api


def expected_closure(store, refs, readable_names) -> set:
    seen: set = set()
    stack = [(refs[n], True) for n in readable_names]
    while stack:
        oid, typed = stack.pop()
        if oid in seen or not store.has(oid):
            continue
        seen.add(oid)
        if typed:
            stack.extend((c, t) for c, t, _ in edges(read_object(store, oid)))
    return seen


def model_level(name, who, root, owners, perms, members) -> int:
    if root:
        return 2
    if who is not None and owners.get(name) == who:
        return 2
    groups = {"public"} | {g for g, u in members if u == who}
    level = max([lvl for (r, g), lvl in perms.items() if r == name and g in groups], default=0)
    return min(level, 1) if who is None else level


def ask(server, request):
    return FrameReader(io.BytesIO(b"".join(server.handle(request, None))).read)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(repositories, assignments, st.lists(st.binary(min_size=32, max_size=32), max_size=4))
def test_server_serves_only_the_readable_closure(spec, assign, fakes):
    with tempfile.TemporaryDirectory() as tmp:
        api = build(tmp, spec)
        repo = api._repo
        try:
            store, refs = repo.store, repo.refs
            names = [n for n, _ in refs.items("bundles/")] + [n for n, _ in refs.items("worksheets/")]
            access = AccessStore(repo.root)
            try:
                for user in USERS:
                    access.add_user(user, "x", False, 0)
                owners = {}
                for name, owner in zip(names, assign["owners"]):
                    if owner is not None:
                        access.set_owner(name, owner)
                        owners[name] = owner
                for g in ("g0", "g1"):
                    access.add_group(g, None)
                for g, u in assign["members"]:
                    access.set_member(g, u, False)
                perms = {}
                for index, group, level in assign["perms"]:
                    name = names[index % len(names)]
                    access.set_perm(name, group, level)
                    perms[(name, group)] = level
                    if not level:
                        perms.pop((name, group))
                who, root = assign["asker"], assign["root"] and assign["asker"] is not None
                if root:
                    access.set_member("g0", who, False)  # membership does not matter for root
                    access.db.execute("UPDATE users SET root = 1 WHERE name = ?", (who,))
                checker = Access(access, store, refs)
                principal = checker.principal(who) if who else ANONYMOUS
                server = Server(store, refs, "t", policy=checker.policy(principal))

                current = dict(refs.items())
                readable = [n for n in names
                            if model_level(n, who, root, owners, perms, assign["members"]) >= 1]
                allowed = expected_closure(store, current, readable)

                listed = ask(server, {"op": "refs", "prefixes": ["bundles/", "worksheets/"]}).recv_map()
                assert set(listed["refs"]) == set(readable)

                every = list(store.ids())
                asked = every + [ObjectId(f.hex()) for f in fakes]
                wire = [frames.wire_id(i) for i in asked]
                have = ask(server, {"op": "have", "ids": wire}).recv_map()["have"]
                for oid, bit in zip(asked, have):
                    assert bool(bit) == (oid in allowed), oid
                served = {}
                for inc in frames.read_objects(ask(server, {"op": "get", "ids": wire})):
                    if not inc.absent:
                        served[inc.oid] = inc.data if inc.data is not None else inc.stream.read()
                assert set(served) == allowed & set(asked)
            finally:
                access.close()
        finally:
            api.close()
