"""The object types: frozen values whose byte format is pinned in
docs/format.md.

The typed objects (and a dependency) are `Record`s (cl/objects/value.py):
each lists its fields once, in order, in `FIELDS`, whose keys are the
format's map keys and whose `Field`s say how each value is checked and
encoded; `__init__`, `to_map` and the strict `from_map` follow from that
table, without generated code, so every command can import this module
cheaply.  Trees, tree entries and contents, whose encodings are arrays or
need care (names as bin, [F20]), are written out by hand.  A hashed format
changes by adding a new type, never by editing an old one (the golden
vectors fail if a key, an order or an encoding changes).  Decoding is
strict: a missing, unknown or mistyped field is an error naming the field.
A new version of a State or a Worksheet is made with `value.replace`,
which runs the checks again."""

from cl.objects.ids import ObjectId
from cl.objects.value import Field, FormatError, Record, Value, _set

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_DIR = 0o040000
MODES = (MODE_FILE, MODE_EXEC, MODE_LINK, MODE_DIR)

BUNDLE_KINDS = ("dataset", "program", "run", "make")
STATES = ("created", "staged", "preparing", "running", "finalizing", "ready", "failed", "killed")
FINAL_STATES = ("ready", "failed", "killed")
ITEM_KINDS = ("markup", "bundle", "worksheet", "directive")


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
    """A name a tree may hold ([F12], [F20]).  A name that is not valid
    UTF-8 is held as `os.fsdecode` gives it: each undecodable byte as a
    surrogate escape (U+DC80..U+DCFF), and only such bytes; a str that
    hides valid UTF-8 in escapes, or holds another surrogate, stands for
    no file name and is refused."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        return False
    if name.isascii():
        return True
    try:
        return name_bytes(name).decode("utf-8", "surrogateescape") == name
    except UnicodeEncodeError:
        return False


def name_bytes(name: str) -> bytes:
    """A name's bytes, as the file system has them; trees are sorted by
    these ([F12])."""
    return name.encode("utf-8", "surrogateescape")


def _encode_name(name: str):
    """str where the name is valid UTF-8 (every id made before [F20] kept),
    else bin of its bytes."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name_bytes(name)


def _decode_name(raw) -> str:
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "surrogateescape")
        raise FormatError(f"entry name {raw!r} is bin but valid UTF-8 (must be str)")
    return _str(raw, "entry name")


def _sorted_unique(names: list[str]) -> bool:
    """Ascending by bytes with no name twice.  For UTF-8 names (the usual
    case) code point order is byte order and the bytes are not built."""
    if all(map(str.isascii, names)):
        keys: list = names
    else:
        try:
            keys = [name_bytes(n) for n in names]
        except UnicodeEncodeError:
            return True  # valid_name reports it
    return all(a < b for a, b in zip(keys, keys[1:]))


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
    """A directory: its entries sorted by name.  A tree keeps them as four
    columns (`names`, `modes`, `sizes`, `ids`) and makes the TreeEntry
    objects of `entries` when they are first asked for: what walks many
    trees (a transfer, gc, fsck) reads only ids and sizes, and a decoded
    tree's columns are checked a column at a time."""

    __slots__ = ("names", "modes", "sizes", "ids", "_entries")
    TYPE = "tree"

    def __init__(self, entries: tuple[TreeEntry, ...]):
        for e in entries:
            if not valid_name(e.name):
                raise FormatError(f"tree entry has an invalid name: {e.name!r}")
            if e.mode not in MODES:
                raise FormatError(f"tree entry {e.name!r} has an unknown mode {e.mode:o}")
            if e.size < 0:
                raise FormatError(f"tree entry {e.name!r} has a negative size")
        names = tuple(e.name for e in entries)
        if not _sorted_unique(names):
            raise FormatError("tree entries are not sorted by name and unique")
        self._columns(names, tuple(e.mode for e in entries), tuple(e.size for e in entries),
                      tuple(e.id for e in entries), tuple(entries))

    def _columns(self, names, modes, sizes, ids, entries=None) -> None:
        _set(self, "names", names)
        _set(self, "modes", modes)
        _set(self, "sizes", sizes)
        _set(self, "ids", ids)
        _set(self, "_entries", entries)

    @property
    def entries(self) -> tuple[TreeEntry, ...]:
        entries = self._entries
        if entries is None:
            entries = tuple(map(TreeEntry, self.names, self.modes, self.sizes, self.ids))
            _set(self, "_entries", entries)
        return entries

    def _values(self) -> tuple:
        return self.names, self.modes, self.sizes, self.ids

    def __repr__(self) -> str:
        return f"Tree(entries={self.entries!r})"

    def __reduce__(self):
        return Tree, (self.entries,)

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def get(self, name: str) -> TreeEntry | None:
        try:
            return self.entries[self.names.index(name)]
        except ValueError:
            return None

    def to_map(self) -> dict:
        return {"type": "tree",
                "entries": [[_encode_name(n), m, s, i]
                            for n, m, s, i in zip(self.names, self.modes, self.sizes, self.ids)]}

    @classmethod
    def from_map(cls, m: dict) -> "Tree":
        _take(m, ("entries",), "tree")
        _check(isinstance(m["entries"], list), "tree entries is not a list")
        columns = _plain_columns(m["entries"])
        if columns is not None:
            tree = object.__new__(cls)
            tree._columns(*columns)
            return tree
        entries = []  # an entry needs a closer look: each one is checked, and the first fault named
        for raw in m["entries"]:
            if type(raw) is not list or len(raw) != 4:
                raise FormatError("tree entry is not [name, mode, size, id]")
            name, mode, size, oid = raw
            entries.append(TreeEntry(name if type(name) is str else _decode_name(name),
                                     _int(mode, "entry mode"), _int(size, "entry size"),
                                     _oid(oid, "entry id")))
        return cls(tuple(entries))


_MODE_SET = frozenset(MODES)


def _plain_columns(raw: list):
    """The columns of a tree's encoded entries when every entry is as most
    are — [str name, int mode, int size, str id], each valid, names ASCII
    (or valid UTF-8), sorted and unique — checked a column at a time; None
    when any entry is not, for the entry-by-entry check to name it."""
    if not raw:
        return (), (), (), ()
    if set(map(type, raw)) != {list} or set(map(len, raw)) != {4}:
        return None
    names, modes, sizes, ids = zip(*raw)
    if set(map(type, names)) != {str} or set(map(type, modes)) != {int} \
            or set(map(type, sizes)) != {int} or not _MODE_SET.issuperset(modes) or min(sizes) < 0:
        return None
    joined = "/".join(names)  # a "/" inside a name adds one
    if joined.count("/") != len(names) - 1 or "\0" in joined or "" in names or "." in names \
            or ".." in names or not (joined.isascii() or all(map(valid_name, names))) \
            or not _sorted_unique(names):
        return None
    try:
        return names, modes, sizes, ObjectId.many(ids)
    except (ValueError, TypeError):
        return None


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


def _optional(decode):
    def optional(value, what):
        return None if value is None else decode(value, what)
    return optional


def _tuple_of(decode):
    """A list decoded item by item into a tuple (encoded back as a list)."""
    def items(value, what):
        _check(isinstance(value, list), f"{what} is not a list")
        return tuple(decode(v, what) for v in value)
    return items


def _contents(value, what):
    return Contents.from_map(value, what)


_STR, _INT, _MAP, _BOOL, _ID = Field(_str), Field(_int), Field(_map), Field(_bool), Field(_oid)
_IDS = Field(_ids, list)
_CONTENTS = Field(_contents, lambda c: None if c is None else c.to_map())


class Dependency(Record):
    """A provenance edge: the run sees `bundle`/`path` at `key`."""

    FIELDS = {"key": _STR, "bundle": _ID, "path": Field(_str, default="")}
    __slots__ = tuple(FIELDS)


# --- bundle -----------------------------------------------------------------

class Bundle(Record):
    """The immutable birth record of a bundle; its id is the bundle's id."""

    TYPE = "bundle"
    FIELDS = {
        "kind": _STR, "created": _INT, "creator": _STR, "nonce": _STR, "metadata": _MAP,
        "contents": Field(_contents, _CONTENTS.encode, default=None),
        "command": Field(_optional(_str), default=None),
        "dependencies": Field(_tuple_of(lambda d, what: Dependency.from_map(d)),
                              lambda ds: [d.to_map() for d in ds], default=()),
        "request": Field(_map, empty=dict, default=None),
        "options": Field(_map, empty=dict, default=None),
        "source": Field(_optional(_map), default=None),
        "args": Field(_str, default=""),
    }
    __slots__ = tuple(FIELDS)

    def _check(self) -> None:
        if self.kind not in BUNDLE_KINDS:
            raise FormatError(f"unknown bundle kind {self.kind!r}")


# --- result -----------------------------------------------------------------

class Result(Record):
    """What executing a run produced.  Times and cpu times are nanoseconds."""

    TYPE = "result"
    FIELDS = {
        "bundle": _ID, "contents": _CONTENTS, "exit_code": Field(_optional(_int)),
        "started": _INT, "finished": _INT, "cpu_user": Field(_int, default=0),
        "cpu_system": Field(_int, default=0), "peak_memory": Field(_int, default=0),
        "image": Field(_map, empty=dict, default=None), "executor": Field(_str, default=""),
        "host": Field(_str, default=""), "failure": Field(_optional(_str), default=None),
    }
    __slots__ = tuple(FIELDS)


# --- state ------------------------------------------------------------------

class State(Record):
    """Commit-like: one version of a bundle's mutable side."""

    TYPE = "state"
    FIELDS = {
        "bundle": _ID, "parents": _IDS, "time": _INT, "author": _STR, "metadata": _MAP,
        "state": _STR, "result": Field(_optional(_oid), default=None),
        "deleted": Field(_bool, default=False), "data_deleted": Field(_bool, default=False),
    }
    __slots__ = tuple(FIELDS)

    def _check(self) -> None:
        if self.state not in STATES:
            raise FormatError(f"unknown bundle state {self.state!r}")


# --- worksheet --------------------------------------------------------------

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


def _tags(value, what):
    _check(isinstance(value, list) and all(isinstance(t, str) for t in value),
           f"{what} is not a list of strings")
    return tuple(value)


def _item(raw, what):
    _check(isinstance(raw, list) and len(raw) == 2, "item is not [kind, value]")
    return Item(_str(raw[0], "item kind"), _str(raw[1], "item value"))


class _OptionalFrozen:
    """`frozen` is written only when true, so a worksheet version that is
    not frozen has the bytes, and id, it had before the key existed."""

    def to_map(self) -> dict:
        m = super().to_map()
        if not self.frozen:
            del m["frozen"]
        return m

    @classmethod
    def from_map(cls, m):
        if isinstance(m, dict):
            if "frozen" not in m:
                m = {**m, "frozen": False}
            elif m["frozen"] is not True:
                raise FormatError(f"{cls.TYPE} frozen is present but not true")
        return super().from_map(m)


class Worksheet(_OptionalFrozen, Record):
    """Commit-like: one version of a worksheet."""

    TYPE = "worksheet"
    FIELDS = {
        "worksheet": _STR, "parents": _IDS, "time": _INT, "author": _STR, "message": _STR,
        "name": _STR, "title": Field(_str, default=""), "tags": Field(_tags, list, default=()),
        "items": Field(_tuple_of(_item), lambda items: [[i.kind, i.value] for i in items],
                       default=()),
        "deleted": Field(_bool, default=False),
        "frozen": Field(_bool, default=False),  # optional in the format: see _OptionalFrozen
    }
    __slots__ = tuple(FIELDS)


# Chunked worksheet commits ([F21]): a commit of this type holds its items
# as a tree of chunk objects plus a short inline tail, so appending one item
# writes a bounded number of bytes however long the worksheet is.  Old
# `worksheet` commits stay as they are; new commits use `worksheet2`.

CHUNK_ITEMS = 8       # items in each leaf chunk ([F21]: exactly this many)
INDEX_FANOUT = 32     # children of an index node at most

_ITEMS = Field(_tuple_of(_item), lambda items: [[i.kind, i.value] for i in items], default=())


class ItemChunk(Record):
    """A leaf of a chunked item list: exactly CHUNK_ITEMS items."""

    TYPE = "items"
    FIELDS = {"items": _ITEMS}
    __slots__ = tuple(FIELDS)

    def _check(self) -> None:
        if len(self.items) != CHUNK_ITEMS:
            raise FormatError(f"an item chunk holds {len(self.items)} items, not {CHUNK_ITEMS}")


class ItemIndex(Record):
    """An inner node of a chunked item list: 1..INDEX_FANOUT children, each
    at `level` - 1 (level 1: leaf chunks)."""

    TYPE = "itemindex"
    FIELDS = {"level": _INT, "children": _IDS}
    __slots__ = tuple(FIELDS)

    def _check(self) -> None:
        if self.level < 1:
            raise FormatError("an item index's level is below 1")
        if not 1 <= len(self.children) <= INDEX_FANOUT:
            raise FormatError(f"an item index has {len(self.children)} children")


class WorksheetCommit(_OptionalFrozen, Record):
    """Commit-like, chunked: one version of a worksheet whose items are the
    `count` items under `chunks` (a tree of ItemIndex/ItemChunk, None when
    count is 0) followed by `tail` (fewer than CHUNK_ITEMS).  Read it as a
    `Worksheet` through cl/objects/itemlists.py."""

    TYPE = "worksheet2"
    FIELDS = {
        "worksheet": _STR, "parents": _IDS, "time": _INT, "author": _STR, "message": _STR,
        "name": _STR, "title": Field(_str, default=""), "tags": Field(_tags, list, default=()),
        "chunks": Field(_optional(_oid), default=None), "count": Field(_int, default=0),
        "tail": _ITEMS, "deleted": Field(_bool, default=False),
        "frozen": Field(_bool, default=False),  # optional in the format: see _OptionalFrozen
    }
    __slots__ = tuple(FIELDS)

    def _check(self) -> None:
        if self.count < 0 or self.count % CHUNK_ITEMS or (self.chunks is None) != (self.count == 0):
            raise FormatError(f"a chunked worksheet's count {self.count} does not fit its chunks")
        if len(self.tail) >= CHUNK_ITEMS:
            raise FormatError(f"a chunked worksheet's tail holds {len(self.tail)} items")


WORKSHEET_TYPES = (Worksheet, WorksheetCommit)

TYPES = {cls.TYPE: cls for cls in (Tree, Bundle, Result, State, Worksheet,
                                   WorksheetCommit, ItemIndex, ItemChunk)}


def children(obj) -> list[ObjectId]:
    """The ids an object names, which must be present before it is written
    (the connectivity invariant).  Worksheet items name bundles by id too,
    but only as references: see docs/format.md."""
    if isinstance(obj, Tree):
        return list(obj.ids)
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
    if isinstance(obj, WorksheetCommit):
        return list(obj.parents) + ([obj.chunks] if obj.chunks else []) + [
            ObjectId(i.value) for i in obj.tail if i.kind == "bundle"]
    if isinstance(obj, ItemIndex):
        return list(obj.children)
    if isinstance(obj, ItemChunk):
        return [ObjectId(i.value) for i in obj.items if i.kind == "bundle"]
    raise TypeError(obj)
