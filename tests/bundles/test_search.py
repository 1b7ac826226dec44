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


def test_what_the_asker_may_not_see_counts_for_nothing(repo):
    """A server's reader (`visible`) sees the page it asked for among the
    bundles it may see, however many hidden ones lie between: the index is
    read in batches (100, then doubling) past them."""
    bids = [add_dataset(repo, f"d{i:03}", f"{i}\n") for i in range(260)]
    shown = set(bids[::45])  # 6 of 260, far apart
    visible = shown.__contains__
    every = [r.name for r in search(repo, [".limit=1000", "name=.sort"]).rows if r.id in shown]
    assert len(every) == 6
    for words in ([".limit=2"], [".limit=3", ".offset=2"], [".last", ".limit=4"], ["name=.sort-", ".limit=5"],
                  [".limit=10", ".offset=5"], [".limit=1", ".offset=6"]):
        unlimited = [w for w in words if not w.startswith((".limit", ".offset"))] + [".limit=1000"]
        want = [r.name for r in search(repo, unlimited).rows if r.id in shown]
        if words[0] != ".last" and "name=.sort-" not in words:
            want = want[::-1]  # newest first, to take the page, then shown oldest first
        limit = int(next(w for w in words if w.startswith(".limit")).partition("=")[2])
        offset = int(next((w for w in words if w.startswith(".offset")), ".offset=0").partition("=")[2])
        page = want[offset:offset + limit]
        if words[0] != ".last" and "name=.sort-" not in words:
            page = page[::-1]
        assert names(search(repo, words, visible)) == page, words
    assert search(repo, [".count"], visible).count == 6
    assert search(repo, ["data_size=.sum"], visible).total == ("data_size", sum(
        r.data_size for r in search(repo, [".limit=1000"]).rows if r.id in shown))
