"""Bounded fuzzing of what the application layer and the Python API parse
from their callers: clone's KEY=VALUE settings, `config` keys and values,
`--request-*` texts, API search queries.  Any text gets a result or a
CLError, never another exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cl
from cl.app import repository as app_repo
from cl.app import runs as app_runs
from cl.app import sharing
from cl.errors import CLError

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

pieces = st.one_of(st.sampled_from(["=", ".", "..", "'", '"', "\\", " ", "k", "run", "0", "-1", "1e9", "2g",
                                    "10m", "true", "false", "\x00", "é", "%", "[", "{"]),
                   st.text(max_size=8))
texts = st.lists(pieces, max_size=8).map("".join)


@pytest.fixture(scope="module")
def api_repo(tmp_path_factory):
    repo = cl.init(tmp_path_factory.mktemp("fuzz") / "p")
    yield repo
    repo.close()


@SETTINGS
@given(st.lists(texts, max_size=5))
def test_clone_settings(given_settings):
    try:
        pairs = sharing.parse_settings(given_settings)
    except CLError:
        assert any("=" not in s for s in given_settings)
        return
    assert all(f"{k}={v}" in given_settings for k, v in pairs.items())


@SETTINGS
@given(key=texts, value=texts)
def test_config_keys_and_values(api_repo, key, value):
    repo = api_repo._repo
    try:
        stored = app_repo.config_set(repo, key, value)
    except CLError:
        return
    assert app_repo.config_get(repo, key) == stored


@SETTINGS
@given(st.dictionaries(st.sampled_from(app_runs.REQUEST_KEYS + ("colour",)), st.one_of(texts, st.none()),
                       max_size=4))
def test_request_texts(api_repo, request_texts):
    try:
        parsed = app_runs.parse_request(api_repo._repo, request_texts)
    except CLError:
        return
    assert {"image", "network"} <= set(parsed)


@SETTINGS
@given(texts)
def test_api_search_queries(api_repo, query):
    try:
        found = api_repo.bundles(query)
    except CLError:
        return
    assert isinstance(found, list)
