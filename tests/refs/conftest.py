import pytest

from cl.refs.db import Database
from cl.refs.store import MemoryRefStore, SqliteRefStore


@pytest.fixture(params=["sqlite", "memory"])
def refs(request, tmp_path):
    """The ref store contract runs against both implementations."""
    if request.param == "memory":
        yield MemoryRefStore()
        return
    db = Database(str(tmp_path / "repo.db"))
    yield SqliteRefStore(db)
    db.close()
