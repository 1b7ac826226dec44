import pytest

from cl.objects.store import MemoryStore

from .helpers import make_disk_store


@pytest.fixture(params=["disk", "memory"])
def store(request, tmp_path):
    """The store contract suite runs against both implementations."""
    if request.param == "disk":
        return make_disk_store(str(tmp_path / "repo"))
    return MemoryStore()


@pytest.fixture
def disk_store(tmp_path):
    return make_disk_store(str(tmp_path / "repo"))
