"""A remote's worksheets and bundles read over the protocol — for naming
what to pull and for remote-qualified specs (`origin::name`,
`origin::ws//name`, `origin::ws`).  Objects read here are verified and
decoded in memory; nothing is stored and no ref moves."""

import re

from cl.errors import SpecError
from cl.objects.ids import ObjectId
from cl.objects.store import decode_object
from cl.objects.types import Bundle, State, Worksheet
from cl.remote.client import Client
from cl.remote.frames import RemoteError
from cl.remote.receive import verify

_ID = re.compile(r"0x(?P<hex>[0-9a-fA-F]*)\Z")
_ORDER = re.compile(r"(?P<name>[^^]*)\^(?P<n>\d+)?\Z")
MIN_PREFIX = 4


def split_remote(spec: str) -> tuple[str | None, str]:
    """`origin::ws//name` -> ("origin", "ws//name"); no `::` -> (None, spec)."""
    if "::" in spec:
        remote, rest = spec.split("::", 1)
        return remote, rest
    return None, spec


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
                                if isinstance(commits[head], Worksheet) and not commits[head].deleted]
        return self._worksheets

    def head_worksheet(self) -> str | None:
        return self.client.refs(names=["HEAD"]).get("HEAD")

    def find_worksheet(self, spec: str) -> str | None:
        if spec in ("", "."):
            return self.head_worksheet()
        m = _ID.match(spec)
        rows = self.worksheets()
        if m:
            prefix = m["hex"].lower()
            hits = [w for w, _, _ in rows if w.startswith(prefix)] if len(prefix) >= MIN_PREFIX else []
        elif "%" in spec:
            pattern = re.compile("^" + ".*".join(map(re.escape, spec.split("%"))) + "$")
            hits = [w for w, _, ws in rows if pattern.match(ws.name)]
        else:
            hits = [w for w, _, ws in rows if ws.name == spec]
        if len(hits) > 1 and m:
            raise SpecError(spec, f"ambiguous worksheet on remote '{self.client.name}'")
        return hits[-1] if hits else None

    def resolve_worksheet(self, spec: str) -> str:
        wid = self.find_worksheet(spec)
        if wid is None:
            raise SpecError(spec, f"no worksheet on remote '{self.client.name}' matches")
        return wid

    def worksheet(self, wid: str) -> tuple[str, Worksheet]:
        for w, head, ws in self.worksheets():
            if w == wid:
                return head, ws
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

    def _on_worksheet(self, wid: str | None) -> list[str]:
        if not wid:
            return []
        _, ws = self.worksheet(wid)
        ids = [i.value for i in ws.items if i.kind == "bundle"]
        live = set(self._live(list(dict.fromkeys(ids))))
        seen: dict[str, None] = {}
        for bid in reversed(ids):
            if bid in live and bid not in seen:
                seen[bid] = None
        return list(reversed(list(seen)))

    def resolve_bundle(self, spec: str) -> ObjectId:
        """A bundle spec (id prefix, name, pattern, `^n`, `ws//spec`) resolved
        against the remote's refs; the remote's current worksheet wins."""
        original = spec
        wid = None
        if "//" in spec:
            ws_spec, spec = spec.split("//", 1)
            wid = self.resolve_worksheet(ws_spec)
        else:
            wid = self.head_worksheet()
            if wid and not any(w == wid for w, _, _ in self.worksheets()):
                wid = None
        remote = self.client.name
        m = _ID.match(spec)
        if m:
            prefix = m["hex"].lower()
            if len(prefix) < MIN_PREFIX:
                raise SpecError(original, f"an id prefix needs at least {MIN_PREFIX} hex digits")
            hits = [b for b in self.bundle_heads() if b.startswith(prefix)]
            hits = self._live(hits)
            if len(hits) != 1:
                raise SpecError(original, f"{'ambiguous id prefix' if hits else 'no bundle matches'} on remote '{remote}'")
            return ObjectId(hits[0])
        m = _ORDER.match(spec)
        if m:
            on_ws = self._on_worksheet(wid)
            if m["name"]:
                on_ws = [b for b in on_ws if self.state(b)[1].metadata.get("name") == m["name"]]
            n = int(m["n"] or 1)
            if n < 1 or n > len(on_ws):
                raise SpecError(original, f"no bundle on the worksheet of remote '{remote}' matches")
            return ObjectId(on_ws[-n])
        candidates = self._on_worksheet(wid) if "//" in original else list(self.bundle_heads())
        heads = self.bundle_heads()
        states = self.objects([heads[b] for b in candidates])
        if "%" in spec:
            pattern = re.compile("^" + ".*".join(map(re.escape, spec.split("%"))) + "$")
            match = lambda name: bool(pattern.match(name))  # noqa: E731
        else:
            match = lambda name: name == spec  # noqa: E731
        hits = [b for b in candidates
                if not states[heads[b]].deleted and match(states[heads[b]].metadata.get("name", ""))]
        if not hits:
            raise SpecError(original, f"no bundle on remote '{remote}' matches")
        on_ws = set(self._on_worksheet(wid))
        preferred = [b for b in hits if b in on_ws] or hits
        bundles = self.objects(preferred)
        return ObjectId(max(preferred, key=lambda b: (bundles[b].created, b)))

    def bundle(self, bid: str) -> Bundle:
        return self.read(bid)
