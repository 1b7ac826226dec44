"""A remote's worksheets and bundles read over the protocol — for naming
what to pull and for remote-qualified specs (`origin::name`,
`origin::ws//name%^`, `origin::^1-3`, `origin::ws`).  Objects read here are
verified and decoded in memory; nothing is stored and no ref moves.

`RemoteView` is a `cl.bundles.catalog.Catalog`: specs mean on a remote
exactly what they mean locally, through the same grammar and resolver."""

from typing import Iterator

from cl.bundles import catalog
from cl.bundles.catalog import Candidate, WorksheetRow
from cl.bundles.spec_grammar import like, parse_spec, shown
from cl.bundles.spec_grammar import split_remote  # noqa: F401  (callers import it from here)
from cl.errors import SpecError
from cl.objects.ids import ObjectId
from cl.objects.store import decode_object
from cl.objects.itemlists import as_worksheet
from cl.objects.types import WORKSHEET_TYPES, Bundle, State, Worksheet
from cl.remote.client import Client
from cl.remote.frames import RemoteError
from cl.remote.receive import verify


class RemoteView:
    def __init__(self, client: Client):
        self.client = client
        self._objects: dict[str, object] = {}
        self._worksheets: list | None = None
        self._bundles: dict[str, str] | None = None

    # --- objects ----------------------------------------------------------------

    def objects(self, ids) -> dict[str, object]:
        want = [oid for oid in dict.fromkeys(ids) if oid not in self._objects]
        if want:
            for inc in self.client.get(want):
                if inc.absent:
                    raise RemoteError(f"remote '{self.client.name}' lacks object {inc.oid.display}")
                data = inc.data if inc.data is not None else inc.stream.read()
                verify(inc.oid, data)
                self._objects[inc.oid] = decode_object(inc.oid, data)
        return {oid: self._objects[oid] for oid in ids}

    def read(self, oid: str):
        return self.objects([oid])[oid]

    # --- worksheets ----------------------------------------------------------------

    def worksheets(self) -> list[tuple[str, str, Worksheet]]:
        """(wid, head commit, commit) of every live worksheet on the remote."""
        if self._worksheets is None:
            refs = self.client.refs(prefixes=["worksheets/"])
            commits = self.objects(list(refs.values()))
            self._worksheets = [(name.split("/", 1)[1], head, commits[head])
                                for name, head in sorted(refs.items())
                                if isinstance(commits[head], WORKSHEET_TYPES) and not commits[head].deleted]
        return self._worksheets

    def head_worksheet(self) -> str | None:
        return self.client.refs(names=["HEAD"]).get("HEAD")

    def find_worksheet(self, spec: str) -> str | None:
        return catalog.find_worksheet(self, spec)

    def resolve_worksheet(self, spec: str) -> str:
        return catalog.resolve_worksheet(self, spec)

    def worksheet(self, wid: str) -> tuple[str, Worksheet]:
        for w, head, ws in self.worksheets():
            if w == wid:
                return head, as_worksheet(ws, self.read)
        raise SpecError(wid, f"no such worksheet on remote '{self.client.name}'")

    # --- bundles ----------------------------------------------------------------

    def bundle_heads(self) -> dict[str, str]:
        if self._bundles is None:
            refs = self.client.refs(prefixes=["bundles/"])
            self._bundles = {name.split("/", 1)[1]: head for name, head in refs.items()}
        return self._bundles

    def state(self, bid: str) -> tuple[str, State]:
        head = self.bundle_heads().get(bid)
        if head is None:
            raise SpecError(ObjectId(bid).display, f"no such bundle on remote '{self.client.name}'")
        return head, self.read(head)

    def _live(self, bids) -> list[str]:
        heads = self.bundle_heads()
        present = [b for b in bids if b in heads]
        states = self.objects([heads[b] for b in present])
        return [b for b in present if not states[heads[b]].deleted]

    def _candidates(self, bids) -> list[Candidate]:
        heads = self.bundle_heads()
        states = self.objects([heads[b] for b in bids])
        bundles = self.objects(bids)
        return [Candidate(b, states[heads[b]].metadata.get("name", ""), bundles[b].created) for b in bids]

    # --- the Catalog interface (cl.bundles.catalog) ------------------------------

    @property
    def where(self) -> str:
        return f" on remote '{self.client.name}'"

    def current_worksheet(self) -> str | None:
        wid = self.head_worksheet()
        return wid if wid and any(w == wid for w, _, _ in self.worksheets()) else None

    def home_worksheet(self) -> str | None:
        """A remote's home (`REMOTE::/`): the worksheet it names as its
        current, where a clone of it lands; its config is not served."""
        return self.current_worksheet()

    def worksheet_rows(self, name: str | None = None) -> list[WorksheetRow]:
        rows = [WorksheetRow(w, ws.name, ws.time) for w, _, ws in self.worksheets()]
        if name is None:
            return rows
        if "%" in name:
            return [r for r in rows if like(name, r.name)]
        return [r for r in rows if r.name == name]

    def with_prefix(self, prefix: str) -> list[Candidate]:
        return self._candidates(self._live([b for b in self.bundle_heads() if b.startswith(prefix)]))

    def named(self, name: str) -> list[Candidate]:
        heads = self.bundle_heads()
        states = self.objects(list(heads.values()))
        match = (lambda n: like(name, n)) if "%" in name else (lambda n: n == name)
        return self._candidates([b for b, head in heads.items()
                                 if not states[head].deleted and match(states[head].metadata.get("name", ""))])

    def bundle_names(self) -> set[str]:
        heads = self.bundle_heads()
        states = self.objects(list(heads.values()))
        return {states[head].metadata.get("name", "") for head in heads.values()
                if not states[head].deleted}

    def latest_on_worksheet(self, wid: str) -> Iterator[tuple[str, str]]:
        _, ws = self.worksheet(wid)
        ids = [i.value for i in ws.items if i.kind == "bundle"]
        live = set(self._live(list(dict.fromkeys(ids))))
        heads = self.bundle_heads()
        for bid in reversed(ids):
            if bid in live:
                yield bid, self.read(heads[bid]).metadata.get("name", "")

    def on_worksheet(self, wid: str, ids: list[str]) -> set[str]:
        _, ws = self.worksheet(wid)
        return {i.value for i in ws.items if i.kind == "bundle"} & set(ids)

    # --- resolving ------------------------------------------------------------------

    def resolve_bundles(self, spec: str) -> list[ObjectId]:
        """Every bundle a spec (any form but a remote prefix and a path) names
        on the remote; the remote's current worksheet is the default."""
        parsed = parse_spec(spec)
        if parsed.remote is not None or parsed.path is not None:
            raise SpecError(shown(spec), "malformed bundle spec")
        return [ObjectId(b) for b in catalog.resolve(self, parsed, spec)]

    def resolve_bundle(self, spec: str) -> ObjectId:
        ids = self.resolve_bundles(spec)
        if len(ids) != 1:
            raise SpecError(shown(spec), "names several bundles where one is needed")
        return ids[0]

    def bundle(self, bid: str) -> Bundle:
        return self.read(bid)
