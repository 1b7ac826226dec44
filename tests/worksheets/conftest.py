import pytest

from cl.repo import Repository


@pytest.fixture
def repo(tmp_path):
    """A fresh repository (library level) with its current worksheet."""
    r = Repository.init(str(tmp_path / "proj"), worksheet="main")
    yield r
    r.close()
