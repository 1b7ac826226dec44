"""The serving side of the sync protocol (docs/protocol.md §3): answers
`hello`, `refs`, `have`, `get`, `put` and `update` over an object store and a
ref store it is handed.  `serve_stream` runs a whole session over a byte
stream (what `cl serve-stdio` and the in-process pipe use); the HTTP server
calls `Server.handle` once per request."""

from typing import Callable, Iterator

from cl.errors import CLError
from cl.objects.ids import ObjectId
from cl.objects.store import ObjectStore, read_object
from cl.refs.names import synced
from cl.refs.store import RefStore
from cl.remote import frames
from cl.remote.frames import END, FrameReader, RemoteError, encode, error_frame, ids_from_wire
from cl.remote.heads import NOT_HERE, head_problem
from cl.remote.limits import Limits
from cl.remote.receive import Receiver

SERVED_PREFIXES = ("bundles/", "worksheets/")
MAX_IDS = 65536


def served(name: str) -> bool:
    return synced(name)


class Everyone:
    """The policy of a peer that is trusted with the whole repository (a
    local directory, ssh, stdio: the file system decides who gets there).
    The HTTP server hands each request a per-principal policy instead
    (cl/auth/policy.py) with the same methods."""

    everything = True
    keeps_permissions = False

    def can_read_ref(self, name: str) -> bool:
        return True

    def sees(self, prefix: str):
        return None

    def readable(self, ids: list) -> set:
        return set(ids)

    def may_update(self, name: str, old, new) -> str | None:
        return None

    def updated(self, name: str) -> None:
        pass

    def prove(self, ids: list) -> None:
        pass

    def act(self, action, args) -> dict:
        raise RemoteError("this remote keeps no users or permissions (serve it with 'cl server')")


class Server:
    def __init__(self, store: ObjectStore, refs: RefStore, label: str = "cl",
                 limits: Limits | None = None, *, policy=None, maintain: Callable[[], str | None] | None = None):
        """`maintain`: called after each `update` (a push's end), outside
        the request's write span: the repository's upkeep, returning a
        warning for the pusher, if any (the reply's `warning`)."""
        self.store = store
        self.refs = refs
        self.label = label
        self.limits = limits or Limits()
        self.policy = policy or Everyone()
        self.maintain = maintain

    def with_policy(self, policy) -> "Server":
        """This server as seen by one principal (an HTTP request's)."""
        return Server(self.store, self.refs, self.label, self.limits, policy=policy,
                      maintain=self.maintain)

    def handle(self, request: dict, reader: FrameReader | None) -> Iterator[bytes]:
        """The encoded response frames to one request.  `reader` yields the
        request's following frames (a `put`'s objects)."""
        op = request.get("op")
        method = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if method is None:
            yield encode({"error": f"unknown operation {op!r}"})
            return
        try:
            if op == "get":
                yield from self.op_get(request)
                return
            with self.store.writing():  # what `have` found and `put` stored stays while the request lasts
                reply = method(request, reader) if op == "put" else method(request)
        except CLError as exc:
            if op == "get":
                yield error_frame(exc.message)
            else:
                yield encode({"error": exc.message})
            return
        if op == "update" and self.maintain is not None:
            warning = self.maintain()
            if warning:
                reply = {**reply, "warning": warning}
        yield encode(reply)

    # --- operations ----------------------------------------------------------

    def op_hello(self, request):
        version = request.get("version")
        if version != frames.VERSION:
            raise RemoteError(f"protocol version {version!r} is not spoken here (this server speaks {frames.VERSION})")
        return {"version": frames.VERSION, "server": self.label,
                "permissions": self.policy.keeps_permissions, "empty": self.store.is_empty()}

    def op_refs(self, request):
        prefixes, names = request.get("prefixes") or [], request.get("names") or []
        if not isinstance(prefixes, list) or not isinstance(names, list) or len(names) > MAX_IDS:
            raise RemoteError(f"'prefixes' and 'names' must be lists (of at most {MAX_IDS} names)")
        prefixes = [p for p in prefixes if isinstance(p, str)]
        names = {n for n in names if isinstance(n, str)}
        out = {}
        for prefix in prefixes:
            for name, value in self.refs.items(prefix):
                if served(name) and self.policy.can_read_ref(name):
                    out[name] = value
        for name in names:
            if served(name) and self.policy.can_read_ref(name):
                value = self.refs.get(name)
                if value is not None:
                    out[name] = value
        return {"refs": out}

    def _ids(self, request) -> list[ObjectId]:
        raw = request.get("ids")
        if not isinstance(raw, list) or len(raw) > MAX_IDS:
            raise RemoteError(f"'ids' must be a list of at most {MAX_IDS} ids")
        return ids_from_wire(raw)

    def op_have(self, request):
        ids = self._ids(request)
        here = self.store.has_many(ids)
        if not self.policy.everything:  # never admit holding what this principal may not read
            here &= self.policy.readable(list(here))
        return {"have": bytes(1 if oid in here else 0 for oid in ids)}

    def op_get(self, request) -> Iterator[bytes]:
        ids = self._ids(request)
        hidden = frozenset() if self.policy.everything else set(ids) - self.policy.readable(ids)
        yield from frames.stream_frames(self.store, ids, absent=hidden, missing_ok=True)
        yield END

    def op_put(self, request, reader):
        receiver = Receiver(self.store)
        stored = 0
        failure = None
        proven: list[str] = []
        try:
            for inc in frames.read_objects(reader, self.limits.max_object, packs=True):
                if failure is not None:
                    continue  # drain the rest of the stream so the session stays in step
                try:
                    receiver.take(inc)
                except CLError as exc:
                    failure = exc
                    continue
                if isinstance(inc, frames.PackFrame):
                    stored += len(inc)
                    proven.extend(inc.oids)
                else:
                    stored += 1
                    if not inc.absent:
                        proven.append(inc.oid)
        except RemoteError:
            # the stream itself is bad (malformed, or an object over the
            # limit that cannot be drained): answer, then end the session
            reader.out_of_step = True
            raise
        finally:
            try:
                receiver.close()
            except CLError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        self.policy.prove(proven)
        return {"stored": stored}

    def op_update(self, request):
        updates = request.get("updates")
        if not isinstance(updates, list):
            raise RemoteError("'updates' must be a list")
        return {"results": [self._update(u) for u in updates]}

    def _update(self, update) -> str:
        if not (isinstance(update, list) and len(update) == 3 and isinstance(update[0], str)
                and all(v is None or isinstance(v, str) for v in update[1:])):
            return "rejected: malformed update"
        name, old, new = update
        try:
            check_ref_value(self.store, name, new)
            refusal = self.policy.may_update(name, old, new)
            if refusal is not None:
                return f"rejected: {refusal}"
            self.refs.set_if_equals(name, old, new)
        except CLError as exc:
            return f"rejected: {exc.message}"
        self.policy.updated(name)
        return "ok"

    def op_access(self, request):
        """Users, groups and permissions (cl/auth/admin.py's actions)."""
        return {"result": self.policy.act(request.get("action"), request.get("args") or {})}


def check_ref_value(store: ObjectStore, name: str, new: str | None) -> None:
    """A ref may point only at an object the store holds: a state of that
    bundle, or a commit of that worksheet (cl/remote/heads.py)."""
    if not synced(name) or name == "HEAD":
        raise RemoteError(f"'{name:.140}' is not a ref that can be pushed")
    if new is None:
        raise RemoteError(f"deleting '{name}' is not allowed")
    try:
        oid = ObjectId(new)
    except ValueError:
        raise RemoteError(f"'{name}' cannot point at '{new:.80}'") from None
    if not store.has(oid):
        raise RemoteError(f"'{name}' cannot point at {oid.display}: {NOT_HERE}")
    problem = head_problem(name, read_object(store, oid))
    if problem is not None:
        raise RemoteError(f"'{name}' cannot point at {oid.display}: {problem}")


def serve_stream(server: Server, read: Callable[[int], bytes], write: Callable[[bytes], None],
                 flush: Callable[[], None] = lambda: None) -> None:
    """Answer requests from a byte stream until it ends."""
    reader = FrameReader(read)
    while True:
        try:
            request = reader.recv()
        except frames.Closed:
            return
        if not isinstance(request, dict):
            write(encode({"error": "expected a request map"}))
            flush()
            return
        for chunk in server.handle(request, reader):
            write(chunk)
        flush()
        if reader.out_of_step:
            return
