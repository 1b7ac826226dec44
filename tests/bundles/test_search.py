"""`cl search`'s language over a real repository built through the library."""

import time

import pytest

from cl.bundles.search import search
from cl.errors import InputError, SpecError
from cl.objects.types import Item
from cl.objects.value import replace
from cl.repo import Repository
from tests.worksheets.builders import add_dataset, add_run


@pytest.fixture
def repo(tmp_path):
    r = Repository.init(str(tmp_path / "proj"), worksheet="main")
    yield r
    r.close()


def names(result):
    return [r.name for r in result.rows]


@pytest.fixture
def graph(repo):
    data = add_dataset(repo, "mnist", "x" * 100)
    code = add_dataset(repo, "cnn.py", "print(1)", kind="program")
    runs = [add_run(repo, f"exp{i}", {"out": "y" * (10 * (i + 1))}, command=f"python cnn.py --lr {i}",
                    deps=(("data", data, ""), ("code", code, ""))) for i in range(3)]
    other = add_run(repo, "other", {"out": "z"}, command="date", deps=(("code", code, ""),), worksheet="")
    repo.update_state(runs[1], lambda s: replace(
        s, metadata={**s.metadata, "tags": ["best", "nlp"], "lr": "0.1"}))
    return {"data": data, "code": code, "runs": runs, "other": other}


def test_words_fields_wildcards_and_lists(repo, graph):
    assert names(search(repo, ["exp"])) == ["exp0", "exp1", "exp2"]
    assert names(search(repo, ["name=exp1"])) == ["exp1"]
    assert names(search(repo, ["name=exp%"])) == ["exp0", "exp1", "exp2"]
    assert names(search(repo, ["name=exp0,other"])) == ["exp0", "other"]
    assert names(search(repo, ["kind=program"])) == ["cnn.py"]
    assert names(search(repo, ["command=%--lr 2"])) == ["exp2"]
    assert names(search(repo, ["id=0x" + graph["other"][:6]])) == ["other"]
    assert names(search(repo, [graph["data"][:8]])) == ["mnist"]
    assert names(search(repo, ["tag=nlp"])) == ["exp1"]
    assert names(search(repo, ["lr=0.1"])) == ["exp1"]
    assert names(search(repo, ["kind=run", "state=ready", "name=exp%"])) == ["exp0", "exp1", "exp2"]


def test_dependencies_and_worksheets(repo, graph):
    assert names(search(repo, ["dependency=mnist"])) == ["exp0", "exp1", "exp2"]
    assert names(search(repo, ["dependency=cnn.py"])) == ["exp0", "exp1", "exp2", "other"]
    assert names(search(repo, ["dependency/data=mnist"])) == ["exp0", "exp1", "exp2"]
    assert names(search(repo, ["dependency/data=cnn.py"])) == []
    side = repo.new_worksheet("side")
    repo.commit_worksheet(side, lambda w: replace(w, items=(Item("bundle", graph["runs"][0]),)), "add")
    assert names(search(repo, ["host_worksheet=side"])) == ["exp0"]
    assert names(search(repo, [".floating"])) == ["other"]
    assert names(search(repo, ["orphan"])) == ["other"]
    with pytest.raises(SpecError):
        search(repo, ["dependency=nothing-like-this"])


def test_limits_offsets_orderings_counts_and_sums(repo, graph):
    assert names(search(repo, [".limit=2"])) == ["exp2", "other"]
    assert names(search(repo, [".limit=2", ".offset=1"])) == ["exp1", "exp2"]
    assert names(search(repo, [".last", ".limit=3"])) == ["other", "exp2", "exp1"]
    assert names(search(repo, ["kind=run", "name=.sort-"])) == ["other", "exp2", "exp1", "exp0"]
    assert names(search(repo, ["kind=run", "data_size=.sort", ".limit=2"])) == ["other", "exp0"]
    assert search(repo, ["kind=run", ".count"]).count == 4
    assert search(repo, ["name=exp%", "data_size=.sum"]).total == ("data_size", 60)
    many = [add_dataset(repo, f"d{i}", str(i)) for i in range(12)]
    assert len(search(repo, []).rows) == 10, "the default limit is 10"
    assert search(repo, []).rows[-1].id == many[-1]


def test_before_and_after(repo, graph):
    tomorrow = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
    assert len(search(repo, [f".before={tomorrow}", ".limit=100"]).rows) == 6
    assert search(repo, [f".after={tomorrow}"]).rows == ()
    with pytest.raises(InputError):
        search(repo, [".before=yesterday"])


def test_mine(repo, graph):
    assert len(search(repo, [".mine", ".limit=50"]).rows) == 6


@pytest.mark.parametrize("bad", [".frobnicate", ".limit=x", "data_size=big", "bad key=1", "dependencyx=a"])
def test_bad_keywords_are_refused(repo, bad):
    with pytest.raises(InputError):
        search(repo, [bad])
