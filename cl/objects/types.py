"""The object types: frozen values with hand-written `to_map`/`from_map`.

The byte format is pinned in docs/format.md; field names here are the
Python names, the keys in `to_map` are the format.  A hashed format changes
by adding a new type, never by editing an old one.  Decoding is strict: a
missing, unknown or mistyped field is an error naming the field.

Every type is a `Value` (cl/objects/value.py), which every command can
import without paying for generated methods; a new version of a State or
a Worksheet is made with `value.replace`, which runs the checks again."""

from cl.objects.ids import ObjectId
from cl.objects.value import Value, _set

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_DIR = 0o040000
MODES = (MODE_FILE, MODE_EXEC, MODE_LINK, MODE_DIR)

BUNDLE_KINDS = ("dataset", "program", "run", "make")
STATES = ("created", "staged", "preparing", "running", "finalizing", "ready", "failed", "killed")
FINAL_STATES = ("ready", "failed", "killed")
ITEM_KINDS = ("markup", "bundle", "worksheet", "directive")


class FormatError(ValueError):
    """A decoded map does not have the shape of its type."""


def _take(m: dict, keys: tuple[str, ...], type_name: str) -> None:
    if m.get("type") != type_name:
        raise FormatError(f"type is {m.get('type')!r}, expected {type_name!r}")
    expected = set(keys) | {"type"}
    if set(m) != expected:
        extra = sorted(set(m) - expected)
        missing = sorted(expected - set(m))
        raise FormatError(f"{type_name}: unknown fields {extra}, missing fields {missing}")


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise FormatError(what)


def _oid(value, what: str, optional: bool = False):
    if value is None and optional:
        return None
    try:
        return ObjectId(value)
    except (ValueError, TypeError):
        raise FormatError(f"{what} is not an object id: {value!r}") from None


def _int(value, what: str, optional: bool = False):
    if value is None and optional:
        return None
    _check(isinstance(value, int) and not isinstance(value, bool), f"{what} is not an integer")
    return value


def _str(value, what: str, optional: bool = False):
    if value is None and optional:
        return None
    _check(isinstance(value, str), f"{what} is not a string")
    return value


def _map(value, what: str, optional: bool = False):
    if value is None and optional:
        return None
    _check(isinstance(value, dict), f"{what} is not a map")
    return value


def _bool(value, what: str):
    _check(isinstance(value, bool), f"{what} is not a boolean")
    return value


def _ids(value, what: str) -> tuple[ObjectId, ...]:
    _check(isinstance(value, list), f"{what} is not a list")
    return tuple(_oid(v, what) for v in value)


def valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


# --- tree -------------------------------------------------------------------


class TreeEntry(Value):
    __slots__ = ("name", "mode", "size", "id")

    def __init__(self, name: str, mode: int, size: int, id: ObjectId):
        _set(self, "name", name)
        _set(self, "mode", mode)
        _set(self, "size", size)
        _set(self, "id", id)

    @property
    def is_dir(self) -> bool:
        return self.mode == MODE_DIR

    @property
    def is_link(self) -> bool:
        return self.mode == MODE_LINK


class Tree(Value):
    __slots__ = ("entries",)
    TYPE = "tree"

    def __init__(self, entries: tuple[TreeEntry, ...]):
        names = [e.name for e in entries]
        if names != sorted(names) or len(set(names)) != len(names):
            raise FormatError("tree entries are not sorted by name and unique")
        for e in entries:
            if not valid_name(e.name):
                raise FormatError(f"tree entry has an invalid name: {e.name!r}")
            if e.mode not in MODES:
                raise FormatError(f"tree entry {e.name!r} has an unknown mode {e.mode:o}")
            if e.size < 0:
                raise FormatError(f"tree entry {e.name!r} has a negative size")
        _set(self, "entries", entries)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def get(self, name: str) -> TreeEntry | None:
        for e in self.entries:
            if e.name == name:
                return e
        return None

    def to_map(self) -> dict:
        return {"type": "tree", "entries": [[e.name, e.mode, e.size, e.id] for e in self.entries]}

    @classmethod
    def from_map(cls, m: dict) -> "Tree":
        _take(m, ("entries",), "tree")
        _check(isinstance(m["entries"], list), "tree entries is not a list")
        entries = []
        for raw in m["entries"]:
            _check(isinstance(raw, list) and len(raw) == 4, "tree entry is not [name, mode, size, id]")
            name, mode, size, oid = raw
            entries.append(TreeEntry(_str(name, "entry name"), _int(mode, "entry mode"),
                                     _int(size, "entry size"), _oid(oid, "entry id")))
        return cls(tuple(entries))


# --- contents: what a bundle's data is (a file, a link or a tree) -------------


class Contents(Value):
    __slots__ = ("mode", "size", "id")

    def __init__(self, mode: int, size: int, id: ObjectId):
        _set(self, "mode", mode)
        _set(self, "size", size)
        _set(self, "id", id)

    @property
    def is_dir(self) -> bool:
        return self.mode == MODE_DIR

    def to_map(self) -> dict:
        return {"mode": self.mode, "size": self.size, "id": self.id}

    @classmethod
    def from_map(cls, m, what: str = "contents") -> "Contents | None":
        if m is None:
            return None
        _map(m, what)
        _check(set(m) == {"mode", "size", "id"}, f"{what} must have exactly mode, size, id")
        mode = _int(m["mode"], f"{what} mode")
        _check(mode in MODES, f"{what} has an unknown mode")
        return cls(mode, _int(m["size"], f"{what} size"), _oid(m["id"], f"{what} id"))

    def as_entry(self, name: str) -> TreeEntry:
        return TreeEntry(name, self.mode, self.size, self.id)


class Dependency(Value):
    """A provenance edge: the run sees `bundle`/`path` at `key`."""

    __slots__ = ("key", "bundle", "path")

    def __init__(self, key: str, bundle: ObjectId, path: str = ""):
        _set(self, "key", key)
        _set(self, "bundle", bundle)
        _set(self, "path", path)

    def to_map(self) -> dict:
        return {"key": self.key, "bundle": self.bundle, "path": self.path}

    @classmethod
    def from_map(cls, m) -> "Dependency":
        _map(m, "dependency")
        _check(set(m) == {"key", "bundle", "path"}, "dependency must have exactly key, bundle, path")
        return cls(_str(m["key"], "dependency key"), _oid(m["bundle"], "dependency bundle"),
                   _str(m["path"], "dependency path"))


# --- bundle -----------------------------------------------------------------

_BUNDLE_KEYS = ("kind", "created", "creator", "nonce", "metadata", "contents", "command",
                "dependencies", "request", "options", "source", "args")


class Bundle(Value):
    """The immutable birth record of a bundle; its id is the bundle's id."""

    __slots__ = ("kind", "created", "creator", "nonce", "metadata", "contents", "command",
                 "dependencies", "request", "options", "source", "args")
    TYPE = "bundle"

    def __init__(self, kind: str, created: int, creator: str, nonce: str, metadata: dict,
                 contents: Contents | None = None, command: str | None = None,
                 dependencies: tuple[Dependency, ...] = (), request: dict | None = None,
                 options: dict | None = None, source: dict | None = None, args: str = ""):
        if kind not in BUNDLE_KINDS:
            raise FormatError(f"unknown bundle kind {kind!r}")
        _set(self, "kind", kind)
        _set(self, "created", created)
        _set(self, "creator", creator)
        _set(self, "nonce", nonce)
        _set(self, "metadata", metadata)
        _set(self, "contents", contents)
        _set(self, "command", command)
        _set(self, "dependencies", dependencies)
        _set(self, "request", {} if request is None else request)
        _set(self, "options", {} if options is None else options)
        _set(self, "source", source)
        _set(self, "args", args)

    def to_map(self) -> dict:
        return {
            "type": "bundle", "kind": self.kind, "created": self.created, "creator": self.creator,
            "nonce": self.nonce, "metadata": self.metadata,
            "contents": self.contents.to_map() if self.contents else None,
            "command": self.command, "dependencies": [d.to_map() for d in self.dependencies],
            "request": self.request, "options": self.options, "source": self.source,
            "args": self.args,
        }

    @classmethod
    def from_map(cls, m: dict) -> "Bundle":
        _take(m, _BUNDLE_KEYS, "bundle")
        _check(isinstance(m["dependencies"], list), "dependencies is not a list")
        return cls(
            kind=_str(m["kind"], "kind"), created=_int(m["created"], "created"),
            creator=_str(m["creator"], "creator"), nonce=_str(m["nonce"], "nonce"),
            metadata=_map(m["metadata"], "metadata"), contents=Contents.from_map(m["contents"]),
            command=_str(m["command"], "command", optional=True),
            dependencies=tuple(Dependency.from_map(d) for d in m["dependencies"]),
            request=_map(m["request"], "request"), options=_map(m["options"], "options"),
            source=_map(m["source"], "source", optional=True), args=_str(m["args"], "args"),
        )


# --- result -----------------------------------------------------------------

_RESULT_KEYS = ("bundle", "contents", "exit_code", "started", "finished", "cpu_user", "cpu_system",
                "peak_memory", "image", "executor", "host", "failure")


class Result(Value):
    """What executing a run produced.  Times and cpu times are nanoseconds."""

    __slots__ = ("bundle", "contents", "exit_code", "started", "finished", "cpu_user", "cpu_system",
                 "peak_memory", "image", "executor", "host", "failure")
    TYPE = "result"

    def __init__(self, bundle: ObjectId, contents: Contents | None, exit_code: int | None,
                 started: int, finished: int, cpu_user: int = 0, cpu_system: int = 0,
                 peak_memory: int = 0, image: dict | None = None, executor: str = "",
                 host: str = "", failure: str | None = None):
        _set(self, "bundle", bundle)
        _set(self, "contents", contents)
        _set(self, "exit_code", exit_code)
        _set(self, "started", started)
        _set(self, "finished", finished)
        _set(self, "cpu_user", cpu_user)
        _set(self, "cpu_system", cpu_system)
        _set(self, "peak_memory", peak_memory)
        _set(self, "image", {} if image is None else image)
        _set(self, "executor", executor)
        _set(self, "host", host)
        _set(self, "failure", failure)

    def to_map(self) -> dict:
        return {
            "type": "result", "bundle": self.bundle,
            "contents": self.contents.to_map() if self.contents else None,
            "exit_code": self.exit_code, "started": self.started, "finished": self.finished,
            "cpu_user": self.cpu_user, "cpu_system": self.cpu_system,
            "peak_memory": self.peak_memory, "image": self.image, "executor": self.executor,
            "host": self.host, "failure": self.failure,
        }

    @classmethod
    def from_map(cls, m: dict) -> "Result":
        _take(m, _RESULT_KEYS, "result")
        return cls(
            bundle=_oid(m["bundle"], "bundle"), contents=Contents.from_map(m["contents"]),
            exit_code=_int(m["exit_code"], "exit_code", optional=True),
            started=_int(m["started"], "started"), finished=_int(m["finished"], "finished"),
            cpu_user=_int(m["cpu_user"], "cpu_user"), cpu_system=_int(m["cpu_system"], "cpu_system"),
            peak_memory=_int(m["peak_memory"], "peak_memory"), image=_map(m["image"], "image"),
            executor=_str(m["executor"], "executor"), host=_str(m["host"], "host"),
            failure=_str(m["failure"], "failure", optional=True),
        )


# --- state ------------------------------------------------------------------

_STATE_KEYS = ("bundle", "parents", "time", "author", "metadata", "state", "result", "deleted",
               "data_deleted")


class State(Value):
    """Commit-like: one version of a bundle's mutable side."""

    __slots__ = ("bundle", "parents", "time", "author", "metadata", "state", "result", "deleted",
                 "data_deleted")
    TYPE = "state"

    def __init__(self, bundle: ObjectId, parents: tuple[ObjectId, ...], time: int, author: str,
                 metadata: dict, state: str, result: ObjectId | None = None, deleted: bool = False,
                 data_deleted: bool = False):
        if state not in STATES:
            raise FormatError(f"unknown bundle state {state!r}")
        _set(self, "bundle", bundle)
        _set(self, "parents", parents)
        _set(self, "time", time)
        _set(self, "author", author)
        _set(self, "metadata", metadata)
        _set(self, "state", state)
        _set(self, "result", result)
        _set(self, "deleted", deleted)
        _set(self, "data_deleted", data_deleted)

    def to_map(self) -> dict:
        return {
            "type": "state", "bundle": self.bundle, "parents": list(self.parents),
            "time": self.time, "author": self.author, "metadata": self.metadata,
            "state": self.state, "result": self.result, "deleted": self.deleted,
            "data_deleted": self.data_deleted,
        }

    @classmethod
    def from_map(cls, m: dict) -> "State":
        _take(m, _STATE_KEYS, "state")
        return cls(
            bundle=_oid(m["bundle"], "bundle"), parents=_ids(m["parents"], "parents"),
            time=_int(m["time"], "time"), author=_str(m["author"], "author"),
            metadata=_map(m["metadata"], "metadata"), state=_str(m["state"], "state"),
            result=_oid(m["result"], "result", optional=True),
            deleted=_bool(m["deleted"], "deleted"), data_deleted=_bool(m["data_deleted"], "data_deleted"),
        )


# --- worksheet --------------------------------------------------------------

_WORKSHEET_KEYS = ("worksheet", "parents", "time", "author", "message", "name", "title", "tags",
                   "items", "deleted")


class Item(Value):
    """One worksheet item: `markup` text, a `bundle` id, a `worksheet` id
    (the stable random id), or a `directive` line (without the leading `%`)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str):
        if kind not in ITEM_KINDS:
            raise FormatError(f"unknown worksheet item kind {kind!r}")
        if kind == "bundle":
            _oid(value, "bundle item")
        _set(self, "kind", kind)
        _set(self, "value", value)


class Worksheet(Value):
    """Commit-like: one version of a worksheet."""

    __slots__ = ("worksheet", "parents", "time", "author", "message", "name", "title", "tags", "items",
                 "deleted", "frozen")
    TYPE = "worksheet"

    def __init__(self, worksheet: str, parents: tuple[ObjectId, ...], time: int, author: str,
                 message: str, name: str, title: str = "", tags: tuple[str, ...] = (),
                 items: tuple[Item, ...] = (), deleted: bool = False, frozen: bool = False):
        _set(self, "worksheet", worksheet)
        _set(self, "parents", parents)
        _set(self, "time", time)
        _set(self, "author", author)
        _set(self, "message", message)
        _set(self, "name", name)
        _set(self, "title", title)
        _set(self, "tags", tags)
        _set(self, "items", items)
        _set(self, "deleted", deleted)
        _set(self, "frozen", frozen)

    def to_map(self) -> dict:
        m = {
            "type": "worksheet", "worksheet": self.worksheet, "parents": list(self.parents),
            "time": self.time, "author": self.author, "message": self.message,
            "name": self.name, "title": self.title, "tags": list(self.tags),
            "items": [[i.kind, i.value] for i in self.items], "deleted": self.deleted,
        }
        if self.frozen:  # written only when true, so unfrozen versions keep their ids
            m["frozen"] = True
        return m

    @classmethod
    def from_map(cls, m: dict) -> "Worksheet":
        frozen = m.get("frozen", False)
        _check(frozen is True or "frozen" not in m, "frozen is not true")
        _take({k: v for k, v in m.items() if k != "frozen"}, _WORKSHEET_KEYS, "worksheet")
        _check(isinstance(m["tags"], list) and all(isinstance(t, str) for t in m["tags"]),
               "tags is not a list of strings")
        _check(isinstance(m["items"], list), "items is not a list")
        items = []
        for raw in m["items"]:
            _check(isinstance(raw, list) and len(raw) == 2, "item is not [kind, value]")
            items.append(Item(_str(raw[0], "item kind"), _str(raw[1], "item value")))
        return cls(
            worksheet=_str(m["worksheet"], "worksheet"), parents=_ids(m["parents"], "parents"),
            time=_int(m["time"], "time"), author=_str(m["author"], "author"),
            message=_str(m["message"], "message"), name=_str(m["name"], "name"),
            title=_str(m["title"], "title"), tags=tuple(m["tags"]), items=tuple(items),
            deleted=_bool(m["deleted"], "deleted"), frozen=frozen,
        )


TYPES = {cls.TYPE: cls for cls in (Tree, Bundle, Result, State, Worksheet)}


def children(obj) -> list[ObjectId]:
    """The ids an object names, which must be present before it is written
    (the connectivity invariant).  Worksheet items name bundles by id too,
    but only as references: see docs/format.md."""
    if isinstance(obj, Tree):
        return [e.id for e in obj.entries]
    if isinstance(obj, Bundle):
        out = [d.bundle for d in obj.dependencies]
        if obj.contents:
            out.append(obj.contents.id)
        return out
    if isinstance(obj, Result):
        out = [obj.bundle]
        if obj.contents:
            out.append(obj.contents.id)
        return out
    if isinstance(obj, State):
        out = [obj.bundle, *obj.parents]
        if obj.result:
            out.append(obj.result)
        return out
    if isinstance(obj, Worksheet):
        return list(obj.parents) + [ObjectId(i.value) for i in obj.items if i.kind == "bundle"]
    raise TypeError(obj)
