"""The asking side of the sync protocol: one method per operation of
docs/protocol.md §3, over any transport.  Errors the server reports become
RemoteError naming the remote."""

from typing import Iterable, Iterator

from cl.objects.ids import HEX_LEN, ObjectId, is_hex_prefix
from cl.refs.names import WID, synced
from cl.remote import frames
from cl.remote.frames import END, Incoming, PackFrame, RemoteError, said, wire_ids
from cl.remote.limits import Limits
from cl.remote.server import MAX_IDS
from cl.remote.transport import Transport


class Stats:
    """What crossed the wire, for reports and tests."""

    def __init__(self):
        self.requests = 0
        self.sent_objects = 0
        self.sent_bytes = 0
        self.received_objects = 0
        self.received_bytes = 0
        self.have_asked = 0


class Client:
    def __init__(self, transport: Transport, name: str | None = None, limits: Limits | None = None):
        self.transport = transport
        self.name = name or transport.label
        self.limits = limits or Limits()
        self.stats = Stats()
        self._hello: dict | None = None
        self.meter = None  # a cl.objects.progress.Meter while a caller watches objects move
        self.resources: list = []  # closed with the client (e.g. a directory remote's repository)
        self.warnings: list[str] = []  # what the remote said went wrong around the work (its upkeep)

    def release(self) -> None:
        """Nothing more will be asked of the remote (Transport.release)."""
        self.transport.release()

    def close(self) -> None:
        self.transport.close()
        for resource in self.resources:
            resource.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, header: dict, body: Iterable[bytes] = ()) -> dict:
        self.stats.requests += 1
        with self.transport.request(header, body) as reader:
            reply = reader.recv_map()
        if "error" in reply:
            raise RemoteError(f"remote '{self.name}': {frames.said(reply['error'])}")
        return reply

    def hello(self) -> dict:
        if self._hello is None:
            self._hello = self._call({"op": "hello", "version": frames.VERSION})
        return self._hello

    def holds_nothing(self) -> bool:
        """Whether the remote said, as the session began, that it holds no
        object at all (a new repository): nothing need be asked of it."""
        return self.hello().get("empty") is True

    def refs(self, prefixes: Iterable[str] = (), names: Iterable[str] = ()) -> dict[str, str]:
        names = list(names)
        out: dict[str, str] = {}
        first = True
        for i in range(0, max(len(names), 1), MAX_IDS):
            reply = self._call({"op": "refs", "prefixes": list(prefixes) if first else [],
                                "names": names[i:i + MAX_IDS]})
            first = False
            refs = reply.get("refs")
            if not isinstance(refs, dict):
                raise RemoteError(f"remote '{self.name}' sent a malformed refs reply")
            out.update(refs)
        self._check_refs(out, tuple(prefixes), set(names))
        return out

    def _check_refs(self, refs: dict, prefixes: tuple, names: set) -> None:
        """Refuse a refs reply naming a ref that was not asked for, that the
        protocol does not move, or whose value is not an id (a wid for HEAD):
        such a name would otherwise be stored here as it came."""
        for name, value in refs.items():
            if not synced(name):
                raise RemoteError(f"remote '{self.name}' sent an invalid ref name {name!r:.140}")
            if name not in names and not name.startswith(prefixes):
                raise RemoteError(f"remote '{self.name}' sent ref '{name}', which was not asked for")
            ok = isinstance(value, str) and (
                WID.match(value) if name == "HEAD" else len(value) == HEX_LEN and is_hex_prefix(value))
            if not ok:
                raise RemoteError(f"remote '{self.name}' sent an invalid value for '{name}': {value!r:.80}")

    def have(self, ids: list[str]) -> set[str]:
        """Which of `ids` the remote holds."""
        present: set[str] = set()
        for i in range(0, len(ids), MAX_IDS):
            batch = ids[i:i + MAX_IDS]
            self.stats.have_asked += len(batch)
            reply = self._call({"op": "have", "ids": wire_ids(batch)})
            bits = reply.get("have")
            if not isinstance(bits, bytes) or len(bits) != len(batch):
                raise RemoteError(f"remote '{self.name}' sent a malformed have reply")
            present.update(oid for oid, bit in zip(batch, bits) if bit)
        return present

    def get(self, ids: list[str], packs: bool = False) -> Iterator[Incoming | PackFrame]:
        """The objects, in order, as they arrive; each large one's stream
        must be read before the next is taken.  With `packs`, the objects
        of a pack frame come together (frames.read_objects)."""
        for i in range(0, len(ids), MAX_IDS):
            batch = ids[i:i + MAX_IDS]
            self.stats.requests += 1
            meter = self.meter
            with self.transport.request({"op": "get", "ids": wire_ids(batch)}) as reader:
                for inc in frames.read_objects(reader, self.limits.max_object,
                                               on_chunk=meter.add if meter else None, packs=packs):
                    whole = isinstance(inc, PackFrame)
                    count = len(inc) if whole else 1
                    self.stats.received_objects += count
                    self.stats.received_bytes += inc.size
                    if meter:  # a streamed object's bytes are counted chunk by chunk
                        meter.add(count, inc.size if whole or inc.stream is None else 0)
                    yield inc

    def put(self, body: Iterable[bytes]) -> int:
        """Send a stream of object frames (ended here); returns how many the
        remote stored."""
        def framed():
            for chunk in body:
                self.stats.sent_bytes += len(chunk)
                yield chunk
            yield END

        reply = self._call({"op": "put"}, framed())
        return int(reply.get("stored", 0))

    def access(self, action: str, args: dict) -> dict:
        """One user/group/permission action (docs/protocol.md, `access`)."""
        result = self._call({"op": "access", "action": action, "args": args}).get("result")
        if not isinstance(result, dict):
            raise RemoteError(f"remote '{self.name}' sent a malformed access reply")
        return result

    def update(self, updates: list[tuple[str, str | None, str]]) -> list[str]:
        if not updates:
            return []
        reply = self._call({"op": "update", "updates": [list(u) for u in updates]})
        results = reply.get("results")
        if not isinstance(results, list) or len(results) != len(updates):
            raise RemoteError(f"remote '{self.name}' sent a malformed update reply")
        if isinstance(reply.get("warning"), str):
            self.warnings.append(said(reply["warning"]))
        return [str(r) for r in results]


def as_ids(values: Iterable[str]) -> list[ObjectId]:
    return [ObjectId(v) for v in values]
