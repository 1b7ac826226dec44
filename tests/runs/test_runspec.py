"""`cl run` arguments: keys, sugar, requests, and the recorded run bundle."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cl.bundles.names import metadata
from cl.bundles.runspec import (RunSpec, assign_keys, build_run_spec, check_keys, create_run,
                                expand_sugar, format_duration, key_from_target, parse_request,
                                split_dependency)
from cl.errors import CLError, InputError, SpecError, UsageError
from cl.objects.ingest import ingest_entries, text_contents
from cl.objects.types import Bundle, Dependency
from cl.repo import Repository, new_nonce, now_ns


@pytest.fixture
def repo(tmp_path):
    repo = Repository.init(str(tmp_path))
    yield repo
    repo.close()


def dataset(repo, name, contents) -> str:
    bundle = Bundle(kind="dataset", created=now_ns(), creator="t", nonce=new_nonce(),
                    metadata=metadata(name), contents=contents)
    return repo.add_bundle(bundle)


@pytest.fixture
def bundles(repo):
    a = dataset(repo, "a.txt", text_contents(repo.store, "foo\n"))
    sort = dataset(repo, "sort.py", text_contents(repo.store, "print()\n"))
    data = dataset(repo, "data", ingest_entries(repo.store, {
        "x.txt": text_contents(repo.store, "x"),
        "sub": ingest_entries(repo.store, {"y.txt": text_contents(repo.store, "y")})}))
    return {"a.txt": a, "sort.py": sort, "data": data}


# --- keys ---------------------------------------------------------------------


@pytest.mark.parametrize("arg, expected", [
    ("input:a.txt", ("input", "a.txt")),
    (":a.txt", ("a.txt", "a.txt")),
    (":run/sub/output", ("sub/output", "run/sub/output")),
    ("/foo/bar:data", ("foo/bar", "data")),
    ("origin::data", (None, "origin::data")),
    (":origin::ws//data/x.txt", ("x.txt", "origin::ws//data/x.txt")),
    (":ws//data/x.txt", ("x.txt", "ws//data/x.txt")),
    (":ws//data", ("data", "ws//data")),
    ("a.txt", (None, "a.txt")),
    (".:data", (".", "data")),
    ("deep/key:data", ("deep/key", "data")),
])
def test_split_dependency(arg, expected):
    assert split_dependency(arg) == expected


def test_key_from_target_refuses_what_has_no_name():
    with pytest.raises(InputError):
        key_from_target("data/..")
    with pytest.raises(InputError):
        split_dependency("key:")


@pytest.mark.parametrize("keys, problem", [
    (["a", "a"], "duplicate dependency key: 'a'"),
    (["a", "a/b"], "dependency key 'a/b' is inside key 'a'"),
    ([".", "."], "duplicate dependency key: '.'"),
    (["/abs"], "invalid dependency key"),
    (["a/../b"], "invalid dependency key"),
    (["a//b"], "invalid dependency key"),
])
def test_bad_keys(keys, problem):
    deps = [Dependency(k, "0" * 64) for k in keys]
    with pytest.raises(InputError, match=problem.replace(".", r"\.")):
        check_keys(deps)


def test_numbering_is_by_position_and_skips_taken_keys():
    pairs, sugar_keys = assign_keys([(None, "x"), ("b2", "y"), (None, "z")],
                                    [(None, "p"), ("b5", "q"), (None, "r"), (None, "x")])
    assert pairs == [("b1", "x"), ("b2", "y"), ("b3", "z"), ("b4", "p"), ("b5", "q"), ("b6", "r")]
    assert sugar_keys == ["b4", "b5", "b6", "b1"]
    pairs, _ = assign_keys([("b1", "x"), (None, "y")], [])
    assert pairs == [("b1", "x"), ("b2", "y")]
    pairs, _ = assign_keys([(None, "y"), ("b1", "x")], [])
    assert pairs == [("b2", "y"), ("b1", "x")]


# --- sugar --------------------------------------------------------------------


def test_sugar_forms_of_the_readme():
    for command, deps, keys in [
        ("python %sort.py% < %a.txt% > output", [(None, "sort.py"), (None, "a.txt")], ["b1", "b2"]),
        ("python %arg1:sort.py% < %arg2:a.txt% > output", [("arg1", "sort.py"), ("arg2", "a.txt")],
         ["arg1", "arg2"]),
        ("python %:sort.py% < %:a.txt% > output", [("sort.py", "sort.py"), ("a.txt", "a.txt")],
         ["sort.py", "a.txt"]),
    ]:
        text, found = expand_sugar(command)
        assert found == deps
        pairs, sugar_keys = assign_keys([], found)
        assert sugar_keys == keys


def test_sugar_repeats_share_a_key_and_percent_escapes():
    text, found = expand_sugar("cat %a% %a% | printf '%%d' 50%")
    assert found == [(None, "a")]
    assert text.replace("\0", "|") == "cat |0| |0| | printf '%d' 50%"


@given(st.text(alphabet=st.characters(blacklist_characters="%\0"), max_size=40))
def test_text_without_percent_is_untouched(text):
    assert expand_sugar(text) == (text, [])


# --- requests -----------------------------------------------------------------


def test_requests_parse_sizes_and_durations(repo):
    request = parse_request(repo.config, memory="2g", time="90m", disk="10g", cpus=2, gpus=0,
                            queue="big", priority=5)
    assert request == {"image": repo.config.get("run", "image"), "network": False,
                       "memory": 2 << 30, "time": 5400, "disk": 10 << 30, "cpus": 2, "gpus": 0,
                       "queue": "big", "priority": 5}
    assert parse_request(repo.config, image="img:1", network=True)["image"] == "img:1"
    assert parse_request(repo.config, time="2d")["time"] == 172800
    assert format_duration(5400) == "1h30m"


@pytest.mark.parametrize("field, value", [("memory", "2x"), ("memory", "0"), ("time", "soon"),
                                          ("disk", "-1g"), ("cpus", 0)])
def test_bad_requests(repo, field, value):
    with pytest.raises(InputError):
        parse_request(repo.config, **{field: value})


# --- building and recording ---------------------------------------------------


def test_build_resolves_targets_to_ids_and_paths(repo, bundles):
    spec = build_run_spec(repo, ["input:a.txt", ":data/sub", "data/x.txt"],
                          "cat input %sort.py% b1 > out")
    assert spec.command == "cat input b4 b1 > out"
    assert spec.dependencies == (
        Dependency("input", bundles["a.txt"], ""), Dependency("sub", bundles["data"], "sub"),
        Dependency("b3", bundles["data"], "x.txt"), Dependency("b4", bundles["sort.py"], ""))
    assert spec.metadata["name"] == "run-cat"
    bid = create_run(repo, spec)
    bundle = repo.bundle(bid)
    assert bundle.kind == "run" and bundle.command == spec.command
    assert bundle.dependencies == spec.dependencies
    assert repo.head_state(bid)[1].state == "created"
    assert [d[0] for d in repo.index.dependencies(bid)] == ["b3", "b4", "input", "sub"]


def test_build_refuses_bad_targets(repo, bundles):
    with pytest.raises(SpecError):
        build_run_spec(repo, ["x:nothing"], "true")
    with pytest.raises(CLError, match="no such file"):
        build_run_spec(repo, ["x:data/missing"], "true")
    with pytest.raises(SpecError) as exc:
        build_run_spec(repo, [], "date +%Y-%m-%d")
    assert "%%" in exc.value.hint
    with pytest.raises(InputError, match="duplicate"):
        build_run_spec(repo, ["k:a.txt", "k:data"], "true")
    with pytest.raises(UsageError):
        build_run_spec(repo, [], "  ")


def test_a_spec_from_an_old_run_can_replace_parts(repo, bundles):
    old = repo.bundle(create_run(repo, build_run_spec(repo, ["i:a.txt"], "cat i", name="old")))
    spec = RunSpec.from_bundle(old, dependencies=(Dependency("i", bundles["sort.py"]),),
                               metadata=metadata("new"))
    new = repo.bundle(create_run(repo, spec))
    assert new.command == "cat i" and new.request == old.request and new.metadata["name"] == "new"
    assert new.dependencies == (Dependency("i", bundles["sort.py"]),)
