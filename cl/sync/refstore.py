"""The repository seen as a RefStore: moving `bundles/…` and
`worksheets/…` refs through the repository keeps the index in step (one
transaction with the compare-and-swap).  The sync protocol is handed this,
so pushes received by a server and pulls received here update the index."""

from cl.errors import Conflict
from cl.objects.ids import ObjectId
from cl.objects.types import Worksheet
from cl.refs.store import RefStore
from cl.repo import Repository


class RepoRefStore(RefStore):
    def __init__(self, repo: Repository):
        self.repo = repo

    def get(self, name):
        return self.repo.refs.get(name)

    def items(self, prefix=""):
        return self.repo.refs.items(prefix)

    def clear(self, prefix):
        self.repo.refs.clear(prefix)

    def set_if_equals(self, name, old, new):
        if new is not None and name.startswith("bundles/"):
            self.repo.set_head(name[len("bundles/"):], old, ObjectId(new))
        elif new is not None and name.startswith("worksheets/"):
            wid = name[len("worksheets/"):]
            if old is None:
                self._check_name(wid, ObjectId(new))
            self.repo.set_worksheet_head(wid, old, ObjectId(new))
            if self.repo.config.get("core", "bare"):
                # a bare repository has no current worksheet of its own: its
                # HEAD is the worksheet received last, where a clone lands
                self.repo.refs.set_if_equals("HEAD", self.repo.refs.get("HEAD"), wid)
        else:
            self.repo.refs.set_if_equals(name, old, new)

    def _check_name(self, wid: str, commit: ObjectId) -> None:
        """Names stay unique: a new worksheet may not take the name of a
        different one already here."""
        ws = self.repo.read(commit, Worksheet)
        for row in self.repo.index.worksheets(ws.name):
            if row["wid"] != wid:
                raise Conflict(f"a different worksheet named '{ws.name}' exists here; "
                               "rename one of them first")
