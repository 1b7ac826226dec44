"""`cl info -f FIELD` as CodaLab's (issue 15), through the real `cl`:
every field CodaLab defines is known (those cl has no data for print
empty), an unknown field is an error naming it, `actions` lists `kill`
after a kill, and one line comes out per spec given, duplicates included.
Nothing here executes a run (`run.auto_worker` is off)."""

import pytest

from cl.bundles.info import CODALAB_FIELDS
from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import run_cl, tree


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("codalab-info") / "project"
    path.mkdir()
    run_cl(["init"], path)
    run_cl(["config", "run.auto_worker", "false"], path)
    tree(path, {"a.txt": "alpha\n", "d": {"x": "x\n"}})
    ids = {"a": run_cl(["upload", "a.txt", "-d", "the a"], path).stdout.strip(),
           "d": run_cl(["upload", "d"], path).stdout.strip()}
    ids["run"] = run_cl(["run", "in:a.txt", "cat in", "-n", "r", "--request-memory", "1g",
                         "--request-time", "10m", "--request-cpus", "2", "--request-gpus", "0",
                         "--request-docker-image", "img:1", "--request-queue", "q",
                         "--request-priority", "3", "--tags", "t1 t2"], path).stdout.split()[-1]
    return path, ids


def fields(path, spec, *names) -> list[str]:
    out = run_cl(["info", "-f", ",".join(names), spec], path).stdout
    assert out.endswith("\n") and out.count("\n") == 1, out
    return out[:-1].split("\t")


def test_codalab_bundle_fields(project):
    path, ids = project
    assert fields(path, "r", "uuid", "bundle_type", "owner", "state", "command") == \
        [ids["run"], "run", run_cl(["info", "-f", "creator", "r"], path).stdout.strip(), "created", "cat in"]
    assert fields(path, "a.txt", "uuid", "bundle_type", "name", "description", "data_size") == \
        [ids["a"], "dataset", "a.txt", "the a", "6"]
    assert fields(path, "d", "is_dir")[0] == "True" and fields(path, "a.txt", "is_dir")[0] == "False"
    assert fields(path, "a.txt", "data_hash")[0].startswith("0x")


def test_codalab_request_fields(project):
    path, _ = project
    assert fields(path, "r", "request_memory", "request_time", "request_cpus", "request_gpus",
                  "request_docker_image", "request_queue", "request_priority", "request_network") == \
        ["1g", "10m", "2", "0", "img:1", "q", "3", "False"]
    assert fields(path, "r", "allow_failed_dependencies", "exclude_patterns") == ["False", ""]


def test_fields_cl_has_no_data_for_print_empty(project):
    path, _ = project
    empty = ["failure_message", "exitcode", "license", "source_url", "docker_image", "remote", "frozen",
             "job_handle", "link_url", "time", "started"]
    assert fields(path, "r", *empty) == [""] * len(empty)


def test_every_codalab_field_is_known(project):
    path, _ = project
    for spec in ("r", "a.txt"):
        values = fields(path, spec, *CODALAB_FIELDS)
        assert len(values) == len(CODALAB_FIELDS)


def test_the_table_holds_what_codalab_documents():
    for name in ("uuid", "bundle_type", "owner", "failure_message", "exitcode", "actions", "docker_image",
                 "license", "source_url", "request_docker_image", "request_time", "request_memory",
                 "request_disk", "request_cpus", "request_gpus", "request_queue", "request_priority",
                 "request_network", "exclude_patterns", "allow_failed_dependencies", "state_details",
                 "is_anonymous", "frozen", "data_hash", "created", "data_size", "time", "memory",
                 "started", "last_updated", "run_status", "remote", "args", "dependencies"):
        assert name in CODALAB_FIELDS, name


def test_an_unknown_field_is_an_error_naming_it(project):
    path, _ = project
    before = snapshot(path)
    done = run_cl(["info", "-f", "uuid,colour", "r"], path, check=False)
    assert "unknown field: 'colour'" in one_line_error(done)
    assert snapshot(path) == before


def test_actions_list_kill_after_a_kill(project):
    path, _ = project
    bid = run_cl(["run", "sleep 100", "-n", "victim"], path).stdout.split()[-1]
    assert fields(path, bid, "actions") == [""]
    run_cl(["kill", bid], path)
    assert fields(path, bid, "actions", "state") == ["kill", "killed"]


def test_one_line_per_spec_given_duplicates_included(project):
    path, ids = project
    out = run_cl(["info", "-f", "uuid", "a.txt", "d", "d", "a.txt"], path).stdout.splitlines()
    assert out == [ids["a"], ids["d"], ids["d"], ids["a"]]


def test_the_kill_failure_is_the_one_the_run_queue_records():
    from cl.bundles.info import KILLED_BY_REQUEST
    from cl.runs.queue import KILL_REQUESTED
    assert KILLED_BY_REQUEST == KILL_REQUESTED


def test_frozen_says_whether_a_bundle_is_frozen(project):
    path, _ = project
    assert fields(path, "a.txt", "frozen") == [""]
    run_cl(["edit", "a.txt", "--freeze"], path)
    assert fields(path, "a.txt", "frozen") == ["True"]
    run_cl(["edit", "a.txt", "--unfreeze"], path)
    assert fields(path, "a.txt", "frozen") == [""]
