"""Mimic, macro and rerun as a library: the plan (which old bundles are
re-created, in what order, under which names) and executing it through
create_run, with unchanged ancestors reused and memoized runs found."""

import pytest

from cl.bundles import mimic as mm
from cl.bundles.make import make
from cl.bundles.memo import find_memoized
from cl.bundles.specs import resolve_bundle
from cl.errors import CLError, SpecError, UsageError
from cl.objects.types import Dependency
from cl.repo import Repository

from .provenance_support import DIGEST, add_run, add_upload


@pytest.fixture
def repo(tmp_path):
    r = Repository.init(str(tmp_path / "proj"))
    yield r
    r.close()


def snapshot(repo):
    """Everything a refused command must leave as it was."""
    rows = repo.db.execute("SELECT id, head FROM bundles ORDER BY id").fetchall()
    sheets = repo.db.execute("SELECT wid, head FROM worksheets ORDER BY wid").fetchall()
    return rows, sheets


@pytest.fixture
def pipeline(repo):
    """code, raw -> clean -> train -> report; other -> side (unrelated);
    train also reads `code`."""
    code = add_upload(repo, "code")
    raw = add_upload(repo, "raw")
    other = add_upload(repo, "other")
    clean = add_run(repo, "clean", [("raw", raw), ("code", code)], command="python code/clean.py raw")
    train = add_run(repo, "train", [("data", clean, "out"), ("code", code)], command="python code/train.py")
    report = add_run(repo, "report", [("model", train)], command="cat model/* > report")
    side = add_run(repo, "side", [("o", other)])
    new_raw = add_upload(repo, "raw2")
    return dict(code=code, raw=raw, other=other, clean=clean, train=train, report=report,
                side=side, new_raw=new_raw)


def test_requests_read_codalabs_argument_parity(pipeline):
    p = pipeline
    even = mm.Request.from_bundles([p["raw"], p["code"], p["new_raw"], p["other"]])
    assert even == mm.Request((p["raw"], p["code"]), None, (p["new_raw"], p["other"]))
    odd = mm.Request.from_bundles([p["raw"], p["train"], p["new_raw"]])
    assert odd == mm.Request((p["raw"],), p["train"], (p["new_raw"],))
    assert mm.Request.from_bundles([p["train"]]) == mm.Request((), p["train"], ())
    with pytest.raises(UsageError):
        mm.Request.from_bundles([])


def test_plan_toward_an_output_takes_only_the_paths_to_it(repo, pipeline):
    p = pipeline
    plan = mm.plan(repo, mm.Request((p["raw"],), p["train"], (p["new_raw"],)), name="v2")
    assert [s.old for s in plan.steps] == [p["clean"], p["train"]]
    assert [s.name for s in plan.steps] == ["v2-clean", "v2"]
    unnamed = mm.plan(repo, mm.Request((p["raw"],), p["train"], (p["new_raw"],)))
    assert [s.name for s in unnamed.steps] == ["clean", "train"]


def test_plan_without_an_output_takes_everything_downstream(repo, pipeline):
    p = pipeline
    plan = mm.plan(repo, mm.Request((p["raw"],), None, (p["new_raw"],)), name="v2")
    assert [s.old for s in plan.steps] == [p["clean"], p["train"], p["report"]]
    assert [s.name for s in plan.steps] == ["v2-clean", "v2-train", "v2-report"]
    shallow = mm.plan(repo, mm.Request((p["raw"],), None, (p["new_raw"],)), depth=2)
    assert [s.old for s in shallow.steps] == [p["clean"], p["train"]]


def test_execute_recreates_the_path_and_reuses_unchanged_ancestors(repo, pipeline):
    p = pipeline
    plan = mm.plan(repo, mm.Request((p["raw"],), p["report"], (p["new_raw"],)), name="v2")
    before = repo.index.count()
    out = mm.execute(repo, plan, mm.Options(name="v2", args="cl mimic raw report raw2 -n v2"))
    assert repo.index.count() == before + 3
    assert [o.old for o in out] == [p["clean"], p["train"], p["report"]]
    new = {o.old: o.new for o in out}
    clean2 = repo.bundle(new[p["clean"]])
    assert clean2.kind == "run" and clean2.command == "python code/clean.py raw"
    assert set(clean2.dependencies) == {Dependency("raw", p["new_raw"]), Dependency("code", p["code"])}
    train2 = repo.bundle(new[p["train"]])
    assert set(train2.dependencies) == {Dependency("data", new[p["clean"]], "out"),
                                        Dependency("code", p["code"])}
    report2 = repo.bundle(new[p["report"]])
    assert report2.dependencies == (Dependency("model", new[p["train"]]),)
    # new runs run in the image the old ones recorded, by digest
    assert clean2.request["image"] == DIGEST
    assert report2.args == "cl mimic raw report raw2 -n v2"
    _, state = repo.head_state(new[p["report"]])
    assert state.state == "created"
    assert state.metadata == {"name": "v2", "description": "the report run", "tags": ["t"]}
    assert repo.index.bundle(new[p["train"]]).name == "v2-train"
    # the old bundles are untouched, the new ones are on the current worksheet in order
    assert repo.bundle(p["report"]).dependencies == (Dependency("model", p["train"]),)
    on_ws = repo.index.worksheet_bundles(repo.current_worksheet())
    assert on_ws[-3:] == [new[p["clean"]], new[p["train"]], new[p["report"]]]


def test_rerun_recreates_just_the_bundle_with_the_same_dependencies(repo, pipeline):
    p = pipeline
    plan = mm.plan(repo, mm.Request((), p["train"], ()))
    assert [s.old for s in plan.steps] == [p["train"]]
    [out] = mm.execute(repo, plan, mm.Options(request={"memory": 1 << 30}))
    again = repo.bundle(out.new)
    assert again.dependencies == repo.bundle(p["train"]).dependencies
    assert again.command == "python code/train.py"
    assert again.request == {"image": DIGEST, "memory": 1 << 30}
    assert out.name == "train" and out.new != p["train"]


def test_memoize_reuses_an_identical_ready_run(repo, pipeline):
    p = pipeline
    plan = mm.plan(repo, mm.Request((), p["train"], ()))
    seen = []
    before = repo.index.count()
    [out] = mm.execute(repo, plan, mm.Options(memoize=True), reused=seen.append)
    assert out.new == p["train"] and out.reused and seen == [p["train"]]
    assert repo.index.count() == before
    # a changed input is a different computation: it is run
    plan = mm.plan(repo, mm.Request((p["raw"],), p["train"], (p["new_raw"],)))
    outs = mm.execute(repo, plan, mm.Options(memoize=True), reused=seen.append)
    assert not any(o.reused for o in outs) and repo.index.count() == before + 2


def test_find_memoized_needs_command_dependencies_and_digest_identical(repo, pipeline):
    p = pipeline
    deps = [Dependency("data", p["clean"], "out"), Dependency("code", p["code"])]
    cmd = "python code/train.py"
    assert find_memoized(repo, cmd, deps, DIGEST) == p["train"]
    assert find_memoized(repo, cmd, list(reversed(deps)), DIGEST) == p["train"]
    assert find_memoized(repo, cmd, [("data", p["clean"], "out"), ("code", p["code"], "")], DIGEST) == p["train"]
    assert find_memoized(repo, cmd + " ", deps, DIGEST) is None
    assert find_memoized(repo, cmd, deps, "sha256:" + "cd" * 32) is None
    assert find_memoized(repo, cmd, deps, None) is None
    assert find_memoized(repo, cmd, [Dependency("data", p["clean"], "other"), deps[1]], DIGEST) is None
    assert find_memoized(repo, cmd, [Dependency("d", p["clean"], "out"), deps[1]], DIGEST) is None
    assert find_memoized(repo, cmd, deps[:1], DIGEST) is None
    assert find_memoized(repo, cmd, deps + [Dependency("x", p["raw"])], DIGEST) is None


def test_find_memoized_skips_runs_not_ready_and_matches_runs_without_image(repo):
    a = add_upload(repo, "a")
    add_run(repo, "failed", [("a", a)], command="c", state="failed")
    add_run(repo, "pending", [("a", a)], command="c", state="created")
    assert find_memoized(repo, "c", [("a", a, "")], DIGEST) is None
    local = add_run(repo, "local", [("a", a)], command="c", digest=None)
    assert find_memoized(repo, "c", [("a", a, "")], None) == local
    assert find_memoized(repo, "c", [("a", a, "")], DIGEST) is None
    nodeps = add_run(repo, "nodeps", [], command="date > out")
    assert find_memoized(repo, "date > out", [], DIGEST) == nodeps


def test_shadow_places_each_new_bundle_right_after_its_old_one(repo, pipeline):
    p = pipeline
    other_ws = repo.new_worksheet("elsewhere")
    from cl.objects.value import replace
    from cl.objects.types import Item
    repo.commit_worksheet(other_ws, lambda ws: replace(ws, items=(Item("markup", "x"), Item("bundle", p["train"]),
                                                                   Item("markup", "y"))), "add")
    plan = mm.plan(repo, mm.Request((p["raw"],), p["train"], (p["new_raw"],)))
    out = mm.execute(repo, plan, mm.Options(shadow=True))
    new = {o.old: o.new for o in out}
    here = repo.index.worksheet_bundles(repo.current_worksheet())
    assert here[here.index(p["clean"]) + 1] == new[p["clean"]]
    assert here[here.index(p["train"]) + 1] == new[p["train"]]
    there = repo.worksheet_head(other_ws)[1].items
    assert [i.value if i.kind == "bundle" else i.value for i in there] == ["x", p["train"], new[p["train"]], "y"]


def test_the_readmes_mimic_plans_a_run_and_its_make(repo):
    sort_py = add_upload(repo, "sort.py")
    a = add_upload(repo, "a.txt")
    b = add_upload(repo, "b.txt")
    run = add_run(repo, "sort-run", [("sort.py", sort_py), ("input", a)], command="python sort.py < input > output")
    a_sorted = make(repo, [f"{run.display}/out"], name="a-sorted.txt")
    plan = mm.plan(repo, mm.Request((a,), a_sorted, (b,)), name="b-sorted.txt")
    assert [(s.old, s.kind, s.name) for s in plan.steps] == [
        (run, "run", "b-sorted.txt-sort-run"), (a_sorted, "make", "b-sorted.txt")]


def test_a_make_on_a_finished_bundle_is_recreated_without_waiting(repo):
    a = add_upload(repo, "a")
    b = add_upload(repo, "b")
    both = make(repo, [f"x:{a.display}", f"y:{b.display}"], name="both")
    a2 = add_upload(repo, "a2", text="new a\n")
    plan = mm.plan(repo, mm.Request((a,), both, (a2,)), name="both2")
    [out] = mm.execute(repo, plan, mm.Options())
    new = repo.bundle(out.new)
    assert new.kind == "make" and set(new.dependencies) == {Dependency("x", a2), Dependency("y", b)}
    assert new.contents != repo.bundle(both).contents
    assert repo.index.bundle(out.new).name == "both2"


def test_a_make_after_a_new_run_waits_for_it_and_refuses_without_a_way_to_wait(repo):
    sort_py = add_upload(repo, "sort.py")
    a = add_upload(repo, "a.txt")
    b = add_upload(repo, "b.txt")
    run = add_run(repo, "sort-run", [("sort.py", sort_py), ("input", a)])
    a_sorted = make(repo, [f"{run.display}/out"], name="a-sorted.txt")
    plan = mm.plan(repo, mm.Request((a,), a_sorted, (b,)))
    with pytest.raises(CLError, match="has not finished"):
        mm.execute(repo, plan, mm.Options())
    waited = []

    def wait(bid):
        waited.append(bid)
        return "failed"
    with pytest.raises(CLError, match="ended failed"):
        mm.execute(repo, plan, mm.Options(), wait=wait)
    assert len(waited) == 1 and repo.bundle(waited[0]).command == repo.bundle(run).command


@pytest.mark.parametrize("case", ["not-ancestor", "twice", "output-is-input", "nothing-depends",
                                  "upload", "counts"])
def test_bad_requests_are_refused_and_change_nothing(repo, pipeline, case):
    p = pipeline
    before = snapshot(repo)
    req = {
        "not-ancestor": mm.Request((p["other"],), p["train"], (p["new_raw"],)),
        "twice": mm.Request((p["raw"], p["raw"]), p["train"], (p["new_raw"], p["other"])),
        "output-is-input": mm.Request((p["train"],), p["train"], (p["new_raw"],)),
        "nothing-depends": mm.Request((p["new_raw"],), None, (p["raw"],)),
        "upload": mm.Request((), p["raw"], ()),
        "counts": mm.Request((p["raw"],), p["train"], ()),
    }[case]
    with pytest.raises(CLError) as err:
        mm.plan(repo, req)
    assert "\n" not in str(err.value)
    assert snapshot(repo) == before
    if case == "not-ancestor":
        assert str(err.value) == "'other(0x%s)' is not an ancestor of 'train(0x%s)' within depth 10" % (
            p["other"][:6], p["train"][:6])


def test_macro_reads_named_inputs_and_output(repo):
    sort_py = add_upload(repo, "sort.py")
    a = add_upload(repo, "sort-in1")
    key = add_upload(repo, "sort-in-opts")
    run = add_run(repo, "sort-out", [("code", sort_py), ("in", a), ("opts", key)])
    b = add_upload(repo, "b.txt")
    o2 = add_upload(repo, "opts2")
    resolve = lambda spec: resolve_bundle(repo, spec)  # noqa: E731
    req, names = mm.macro_request(repo, "sort", ["b.txt", "opts:opts2"], resolve)
    assert req == mm.Request((a, key), run, (b, o2))
    assert names == ["sort-in1", "sort-in-opts", "sort-out"]
    with pytest.raises(SpecError, match="no output bundle: 'nope-out'"):
        mm.macro_request(repo, "nope", ["b.txt"], resolve)
    with pytest.raises(SpecError, match="no such input: 'sort-in2'"):
        mm.macro_request(repo, "sort", ["b.txt", "b.txt"], resolve)
    add_upload(repo, "sort-in2")
    with pytest.raises(UsageError, match="takes more inputs: 'sort-in2' exists but 1 numbered input given"):
        mm.macro_request(repo, "sort", ["b.txt"], resolve)
    with pytest.raises(UsageError):
        mm.macro_request(repo, "sort", [], resolve)
