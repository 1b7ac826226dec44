"""Reading remote-qualified specs (`origin::name`, `origin::ws//name/path`,
`origin::ws`) for `cl info`, `cl cat` and `cl ls -w`: a throw-away bare
repository whose object store fetches what it is asked for from the remote
(verified, on disk, so a large file is never whole in memory), with refs
and index rows for just the bundles and worksheet being read.  The local
repository is not touched; the same reading code then renders remote
bundles exactly as local ones."""

import contextlib
import io
import tempfile

from cl.bundles import info as info_ops
from cl.bundles.specs import Target, expand, split_target
from cl.errors import ObjectMissing
from cl.objects.store import DiskStore
from cl.objects.trees import split_path
from cl.objects.types import Bundle
from cl.remote.client import Client
from cl.repo import Repository
from cl.sync.remotes import open_remote
from cl.sync.view import RemoteView, split_remote


class FetchingStore(DiskStore):
    """A disk store that fills itself from a remote on a miss."""

    def __init__(self, root: str, tmp: str, client: Client):
        super().__init__(root, tmp)
        self.client = client

    def fetch(self, ids) -> None:
        missing = [oid for oid in dict.fromkeys(ids) if not DiskStore.has(self, oid)]
        if not missing:
            return
        for inc in self.client.get(missing):
            if inc.absent:
                raise ObjectMissing(inc.oid, f"object on remote '{self.client.name}'")
            self.write_stream(inc.stream or io.BytesIO(inc.data), expected=inc.oid)

    def read_bytes(self, oid):
        self.fetch([oid])
        return super().read_bytes(oid)

    def open(self, oid, verify=True):
        self.fetch([oid])
        return super().open(oid, verify)

    def size(self, oid):
        self.fetch([oid])
        return super().size(oid)

    def link_into(self, oid, dest, dir_fd=None):
        self.fetch([oid])
        return super().link_into(oid, dest, dir_fd)

    def copy_to(self, oid, dest, mode, dir_fd=None):
        self.fetch([oid])
        super().copy_to(oid, dest, mode, dir_fd)


class Mirror:
    """The scratch repository and the remote view it mirrors."""

    def __init__(self, scratch: Repository, view: RemoteView):
        self.repo = scratch
        self.view = view

    def bundles(self, bids) -> None:
        """Refs and index rows for these bundles and their dependencies
        (so names and sizes show)."""
        heads = self.view.bundle_heads()
        store: FetchingStore = self.repo.store
        bids = [b for b in dict.fromkeys(bids) if b in heads]
        store.fetch(bids + [heads[b] for b in bids])
        deps = [d.bundle for b in bids for d in self.repo.read(b, Bundle).dependencies if d.bundle in heads]
        store.fetch(deps + [heads[d] for d in deps])
        for bid in dict.fromkeys(bids + deps):
            if self.repo.refs.get(f"bundles/{bid}") is None:
                self.repo.set_head(bid, None, heads[bid])

    def worksheet(self, wid: str, history: bool = False) -> None:
        """The worksheet's head and the bundles it names; with `history`,
        every earlier commit too (for `WS@N` and `cl wlog`), one round
        trip per generation."""
        head, ws = self.view.worksheet(wid)
        self.repo.store.fetch([head])
        self.repo.set_worksheet_head(wid, None, head)
        self.bundles([i.value for i in ws.items if i.kind == "bundle"])
        generation, seen = [head], {head}
        while history and generation:
            self.repo.store.fetch(generation)
            older = [p for cid in generation for p in self.repo.read(cid).parents if p not in seen]
            seen.update(older)
            generation = list(dict.fromkeys(older))


@contextlib.contextmanager
def mirror(repo: Repository, remote: str):
    with open_remote(repo, remote) as client, tempfile.TemporaryDirectory(prefix="cl-remote-") as tmp:
        scratch = Repository.init(tmp, bare=True, empty=True)
        scratch.store = FetchingStore(scratch.store.root, scratch.store.tmp, client)
        try:
            yield Mirror(scratch, RemoteView(client))
        finally:
            scratch.close()


@contextlib.contextmanager
def remote_target(repo: Repository, spec: str):
    """(repository, Target) to read `REMOTE::bundle/path` with."""
    remote, rest = split_remote(spec)
    bundle_spec, path = split_target(rest)
    with mirror(repo, remote) as m:
        bid = m.view.resolve_bundle(bundle_spec)
        m.bundles([bid])
        yield m.repo, Target(bid, "/".join(split_path(path)))


@contextlib.contextmanager
def remote_worksheet(repo: Repository, spec: str, history: bool = False):
    """(repository, wid) to read `REMOTE::ws` with (`history`: its earlier
    versions too)."""
    remote, ws_spec = split_remote(spec)
    with mirror(repo, remote) as m:
        wid = m.view.resolve_worksheet(ws_spec or ".")
        m.worksheet(wid, history)
        yield m.repo, wid


def records(repo: Repository, specs, verbose: bool = False) -> list[dict]:
    """`cl info` records for specs, some of them remote-qualified."""
    out = []
    with contextlib.ExitStack() as stack:
        mirrors: dict[str, Mirror] = {}
        for spec in specs:
            remote, rest = split_remote(spec)
            if remote is None:
                out += [info_ops.record(repo, bid, verbose) for bid in expand(repo, [spec])]
                continue
            if remote not in mirrors:
                mirrors[remote] = stack.enter_context(mirror(repo, remote))
            m = mirrors[remote]
            bids = m.view.resolve_bundles(rest)
            m.bundles(bids)
            got = [info_ops.record(m.repo, bid, verbose) for bid in bids]
            _with_permissions(m.view.client, bids, got)
            out += got
    return out


def _with_permissions(client: Client, bids: list, recs: list[dict]) -> None:
    """Add the owner and group permissions of each record's bundle, from a
    remote that keeps them (`cl server`; its hello says so)."""
    if not recs or not client.hello().get("permissions"):
        return
    shown = client.access("show", {"refs": [f"bundles/{b}" for b in bids]})["permissions"]
    for bid, rec in zip(bids, recs):
        if f"bundles/{bid}" in shown:
            rec["permissions"] = shown[f"bundles/{bid}"]
