import pytest

from cl.objects.store import MemoryStore

from .helpers import make_disk_store


@pytest.fixture(params=["disk", "disk-renamed", "memory"])
def store(request, tmp_path):
    """The store contract suite runs against both implementations, the
    disk store both ways it writes a small object: an unnamed file linked
    into place, or (where the file system cannot) tmp/ and a rename."""
    if request.param == "memory":
        return MemoryStore()
    store = make_disk_store(str(tmp_path / "repo"))
    if request.param == "disk-renamed":
        store.unnamed = False
    return store


@pytest.fixture
def disk_store(tmp_path):
    return make_disk_store(str(tmp_path / "repo"))
