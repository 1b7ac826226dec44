"""The REST API keeps to its OpenAPI document (cl/server/rest/openapi.py):

* the document names exactly the operations the server routes;
* schemathesis sends generated requests, bounded, to a real `cl server`
  on loopback -- anonymous and as a signed-in user -- and checks that no
  answer is a 5xx and that each status code, content type and JSON body
  is one the document promises."""

import httpx
import pytest
import schemathesis  # a test extra (setup.cfg): missing, this module fails rather than skips
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from cl.server.rest import openapi, operations
from tests.conftest import run_cl
from tests.server.helpers import start_server, stop_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25  # per operation, identity and naming: the module stays under a minute


def test_document_names_every_operation():
    doc = openapi.document("test")
    routed = {(openapi.PREFIX + op.path, op.method.lower()) for op in operations.OPERATIONS}
    documented = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    assert routed == documented
    assert set(openapi.DOCS) == {op.name for op in operations.OPERATIONS}
    ids = [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base, home = tmp_path_factory.mktemp("schema"), tmp_path_factory.mktemp("home")
    server = base / "server"

    def cl(args, cwd=base, **kw):
        return run_cl(args, cwd, env={"HOME": home, **kw.pop("env", {})}, **kw)
    cl(["init", "--bare", server])
    cl(["config", "run.auto_worker", "false"], env={"CODALAB_DIR": server})  # runs stay queued
    cl(["server", "user", "add", "alice", server], input="alice-password\n")
    token = cl(["server", "token", "add", "alice", server]).stdout.strip()
    proc, url = start_server(server, home, base)
    repo = base / "alice"
    cl(["init", repo, "-w", "lab"])
    cl(["remote", "add", "origin", url], repo)
    (repo / "f.txt").write_text("data\n")
    bid = cl(["upload", "f.txt"], repo).stdout.strip()
    cl(["push", "origin"], repo, env={"CL_TOKEN": token})
    yield url, token, {"bundle": bid, "worksheet": "lab", "user": "alice", "group": "public"}
    stop_server(proc)


def _cases():
    """(method, path, existing) of every operation; `existing` only where
    the path has names to fill in."""
    out = []
    for op in operations.OPERATIONS:
        out.append(pytest.param(op.method, op.path, False, id=f"{op.name}-any-names"))
        if "{" in op.path:
            out.append(pytest.param(op.method, op.path, True, id=f"{op.name}-existing-names"))
    return out


@pytest.fixture(scope="module")
def api_schema(served):
    url = served[0]
    loaded = schemathesis.openapi.from_url(url + "/openapi.json")
    return {(op.method.upper(), op.path): op for op in (r.ok() for r in loaded.get_all_operations())}


@pytest.mark.parametrize("method,path,existing", _cases())
def test_api_keeps_to_its_document(api_schema, served, method, path, existing):
    """Generated names (mostly of nothing), then the names of what exists
    (alice's bundle and worksheet, alice, public) with generated queries
    and bodies."""
    url, token, names = served
    operation = api_schema[(method, openapi.PREFIX + path)]
    fixed = {k: v for k, v in names.items() if "{" + k + "}" in path} if existing else {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(path_parameters=fixed or None))
    def check(case):
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
    check()


def test_served_document_is_the_written_one(served):
    url = served[0]
    import cl
    assert httpx.get(url + "/openapi.json").json() == openapi.document(cl.__version__)
