import pytest

from cl.refs.store import MemoryRefStore

from .helpers import Side, disk_store


@pytest.fixture(params=["memory", "disk"])
def make_side(request, tmp_path):
    """Builds repositories' stores; the contract suite runs on both kinds."""
    counter = iter(range(100))

    def make() -> Side:
        if request.param == "memory":
            return Side()
        return Side(disk_store(str(tmp_path / f"side{next(counter)}")), MemoryRefStore())

    return make
