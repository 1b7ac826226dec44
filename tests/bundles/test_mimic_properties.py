"""Property tests for mimic over random DAGs built in a real repository:
the plan re-creates exactly the bundles on paths from the replaced inputs
to the output (or everything downstream of them), in dependency order, and
executing it creates exactly those bundles with their dependencies
substituted."""

import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles import mimic as mm
from cl.repo import Repository

from .provenance_support import add_upload, brute_ancestors, brute_descendants, build_dag
from .test_provenance_properties import dags


@pytest.fixture(scope="module")
def shared_repo():
    d = tempfile.mkdtemp(prefix="cl-mimic-")
    repo = Repository.init(d)
    yield repo
    repo.close()
    shutil.rmtree(d, ignore_errors=True)


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DEEP = 100  # deeper than any generated DAG: the depth limit plays no part


def check_execution(repo, parents, ids, plan, expected):
    index = {bid: i for i, bid in enumerate(ids)}
    before = repo.index.count()
    outcomes = mm.execute(repo, plan, mm.Options(worksheet=""))
    assert repo.index.count() == before + len(expected)
    assert {index[o.old] for o in outcomes} == expected
    new_of = dict(zip(plan.request.old_inputs, plan.request.new_inputs))
    new_of.update({o.old: o.new for o in outcomes})
    for o in outcomes:
        old = repo.bundle(o.old)
        new = repo.bundle(o.new)
        assert new.command == old.command
        assert [(d.key, d.bundle) for d in new.dependencies] == \
            [(d.key, new_of.get(d.bundle, d.bundle)) for d in old.dependencies]


def assert_topological(parents, ids, plan):
    index = {bid: i for i, bid in enumerate(ids)}
    order = [index[s.old] for s in plan.steps]
    pos = {x: n for n, x in enumerate(order)}
    for x in order:
        for p in parents[x]:
            if p in pos:
                assert pos[p] < pos[x]


@SETTINGS
@given(parents=dags(max_nodes=10), data=st.data())
def test_mimic_toward_an_output_recreates_exactly_the_paths(shared_repo, parents, data):
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    out = data.draw(st.sampled_from([i for i in range(len(parents)) if parents[i]] or [None]))
    if out is None:
        return
    ancestors = sorted(brute_ancestors(parents, out))
    inputs = data.draw(st.lists(st.sampled_from(ancestors), min_size=1, max_size=3, unique=True))
    new = [add_upload(repo, f"new{i}", worksheet="") for i in range(len(inputs))]
    req = mm.Request(tuple(ids[i] for i in inputs), ids[out], tuple(new))
    plan = mm.plan(repo, req, depth=DEEP)
    expected = {x for x in brute_ancestors(parents, out) | {out}
                if x not in inputs and any(x in brute_descendants(parents, i) for i in inputs)}
    assert {ids.index(s.old) for s in plan.steps} == expected
    assert_topological(parents, ids, plan)
    check_execution(repo, parents, ids, plan, expected)


@SETTINGS
@given(parents=dags(max_nodes=10), data=st.data())
def test_mimic_without_an_output_recreates_everything_downstream(shared_repo, parents, data):
    repo = shared_repo
    ids = build_dag(repo, parents, worksheet="")
    used = [i for i in range(len(parents)) if brute_descendants(parents, i)]
    if not used:
        return
    inputs = data.draw(st.lists(st.sampled_from(used), min_size=1, max_size=3, unique=True))
    new = [add_upload(repo, f"new{i}", worksheet="") for i in range(len(inputs))]
    plan = mm.plan(repo, mm.Request(tuple(ids[i] for i in inputs), None, tuple(new)), depth=DEEP)
    expected = set().union(*(brute_descendants(parents, i) for i in inputs)) - set(inputs)
    assert {ids.index(s.old) for s in plan.steps} == expected
    assert_topological(parents, ids, plan)
    check_execution(repo, parents, ids, plan, expected)


@given(parents=st.lists(st.sets(st.integers(0, 7), max_size=3), min_size=1, max_size=8),
       data=st.data())
def test_choose_is_the_downstream_closure_within_the_region(parents, data):
    """The pure core, on graphs given as parent maps."""
    parents = {i: sorted(p for p in ps if p < i) for i, ps in enumerate(parents)}
    plist = [parents[i] for i in range(len(parents))]
    n = len(plist)
    inputs = set(data.draw(st.lists(st.integers(0, n - 1), max_size=3)))
    out = data.draw(st.integers(0, n - 1))
    region = brute_ancestors(plist, out) | {out}
    chosen = mm.choose(parents, region, inputs)
    assert set(chosen) == {x for x in region if x not in inputs
                           and any(x in brute_descendants(plist, i) for i in inputs)}
