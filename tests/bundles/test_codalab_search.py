"""Search keywords as CodaLab's (issue 15), through the real `cl`:
`uuid=` exact and `uuid=PREFIX.*` a prefix, `id=.sort`/`.sort-` by
creation, `.before`/`.after` with ISO times (fractions and zones),
`size=.sum`, `.format=` on aggregates; and `cl wls` by full id, with
`.sort`/`.sort-` and `.limit`."""

import pytest

from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import run_cl, tree

SIZES = {"n1": 1000, "n2": 2000, "n3": 3000}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Three bundles uploaded in order (n1, n2, n3) and three worksheets."""
    path = tmp_path_factory.mktemp("codalab-search") / "project"
    path.mkdir()
    run_cl(["init"], path)
    tree(path, {name: "x" * size for name, size in SIZES.items()})
    ids = {name: run_cl(["upload", name], path).stdout.strip() for name in SIZES}
    for name in ("wa", "wc", "wb"):
        run_cl(["new", name], path)
    return path, ids


def search(path, *keywords) -> list[str]:
    return run_cl(["search", *keywords, "-u"], path).stdout.split()


def test_uuid_is_exact(project):
    path, ids = project
    assert search(path, f"uuid={ids['n2']}") == [ids["n2"]]
    assert search(path, f"uuid={ids['n2'][2:]}") == [ids["n2"]]
    assert search(path, f"uuid={ids['n2'][:12]}") == []


def test_uuid_with_dot_star_is_a_prefix(project):
    path, ids = project
    assert search(path, f"uuid={ids['n2'][:12]}.*") == [ids["n2"]]
    assert search(path, f"uuid={ids['n2'][:12]}%") == [ids["n2"]]
    assert sorted(search(path, "uuid=.*")) == sorted(ids.values())


def test_id_sort_orders_by_creation(project):
    path, ids = project
    order = [ids["n1"], ids["n2"], ids["n3"]]
    assert search(path, "id=.sort") == order
    assert search(path, "id=.sort-") == order[::-1]
    assert search(path, "id=.sort-", ".limit=2") == order[:0:-1]
    assert search(path, ".last") == order[::-1]


@pytest.mark.parametrize("when", ["2000-01-01T00:00:00.5", "2000-01-01T00:00:00.123456Z",
                                  "2000-01-01 00:00:00.25+00:00", "2000-01-01T00:00:00-08",
                                  "2000-01-01"])
def test_before_and_after_take_iso_times(project, when):
    path, ids = project
    assert sorted(search(path, f".after={when}")) == sorted(ids.values())
    assert search(path, f".before={when}") == []


def test_before_and_after_name_a_bad_time(project):
    path, _ = project
    done = run_cl(["search", ".after=yesterday-ish"], path, check=False)
    assert "bad date in '.after=yesterday-ish'" in one_line_error(done)


def test_size_sum(project):
    path, _ = project
    assert run_cl(["search", "size=.sum"], path).stdout.strip() == "6000"
    assert run_cl(["search", "size=.sum", "n1"], path).stdout.strip() == "1000"


def test_format_applies_to_an_aggregate(project):
    path, _ = project
    assert run_cl(["search", "size=.sum", ".format=size"], path).stdout.strip() == "5.9k"
    assert run_cl(["search", ".count", ".format=%03d"], path).stdout.strip() == "003"


def test_a_bad_format_is_one_line_and_changes_nothing(project):
    path, _ = project
    before = snapshot(path)
    done = run_cl(["search", ".count", ".format=%q"], path, check=False)
    assert "bad format" in one_line_error(done)
    assert snapshot(path) == before


# --- worksheets ---------------------------------------------------------------


def wls(path, *keywords) -> list[str]:
    return run_cl(["wls", *keywords, "-u"], path).stdout.split()


def test_wls_finds_a_worksheet_by_its_full_id(project):
    path, _ = project
    (wid,) = wls(path, "name=wb")
    assert wls(path, wid) == [wid]
    assert wls(path, wid[2:]) == [wid]
    assert wls(path, f"uuid={wid}") == [wid]
    assert wls(path, f"id={wid}") == [wid]


def test_wls_sorts_and_limits(project):
    path, _ = project
    by_name = {name: wls(path, f"name={name}")[0] for name in ("wa", "wb", "wc")}
    names = ["name=wa,wb,wc"]
    assert wls(path, *names, "name=.sort") == [by_name[n] for n in ("wa", "wb", "wc")]
    assert wls(path, *names, "name=.sort-") == [by_name[n] for n in ("wc", "wb", "wa")]
    assert wls(path, *names, "name=.sort-", ".limit=2") == [by_name[n] for n in ("wc", "wb")]
    assert wls(path, *names, "name=.sort", ".limit=1", ".offset=1") == [by_name["wb"]]


def test_wls_refuses_a_sort_on_an_unknown_field(project):
    path, _ = project
    done = run_cl(["wls", "colour=.sort"], path, check=False)
    assert "unknown worksheet search field: 'colour'" in one_line_error(done)
