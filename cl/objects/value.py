"""`Value`: the base of small frozen records that cost no more to define
than a plain class.

Defining a `@dataclass(frozen=True)` costs about a millisecond: its
`__init__`, `__eq__`, `__repr__`, `__hash__`, `__setattr__` and `__delattr__`
are generated as source and compiled with exec, and `cl ls` or `cl info`
would define a dozen of them before doing any work.  A `Value` subclass
names its fields in `__slots__`, in the order of its `__init__`'s
parameters, and sets them with `_set` (plain assignment is refused); the
rest -- equality and hashing over the fields, a repr, immutability, copying
and pickling -- comes from here, the same as a frozen dataclass's, and
`replace` makes a changed copy as `dataclasses.replace` does.

A `Record` goes further for the object types: its fields are listed once,
in a table of `Field`s that also says how each is decoded and encoded."""

from operator import attrgetter  # loaded at start-up already (by collections)

# Sets a field from __init__, past the __setattr__ that refuses assignment.
_set = object.__setattr__


class Value:
    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    # The frozen dataclasses' error; dataclasses is imported only on misuse.
    def __setattr__(self, name, value):
        from dataclasses import FrozenInstanceError
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        from dataclasses import FrozenInstanceError
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self):
        return self.__class__, self._values()


def replace(value: Value, **changes):
    """A copy of `value` with `changes` to some of its fields, made through
    its `__init__` so that its checks run again (`dataclasses.replace`'s
    contract)."""
    fields = value.__slots__
    unknown = changes.keys() - set(fields)
    if unknown:
        raise TypeError(f"{type(value).__name__} has no field {sorted(unknown)[0]!r}")
    return type(value)(**{name: changes[name] if name in changes else getattr(value, name) for name in fields})


# --- records: values whose fields are listed once ---------------------------

REQUIRED = object()  # a Field without a default


class FormatError(ValueError):
    """A decoded map does not have the shape of its type."""


class Field:
    """One field of a `Record`: `decode(value, key)` checks a format value
    strictly (raising FormatError that names `key`) and returns the Python
    value; `encode` turns it back (None: as it is).  `default` is used when
    the field is not given; `empty`, when set, makes a fresh default that
    None also stands for (a map that may be left out as None)."""

    __slots__ = ("decode", "encode", "default", "empty")

    def __init__(self, decode, encode=None, default=REQUIRED, empty=None):
        self.decode, self.encode, self.default, self.empty = decode, encode, default, empty


class Record(Value):
    """A Value whose fields are listed once, in order, in `FIELDS`
    ({key: Field}); a subclass sets `__slots__ = tuple(FIELDS)`.  The keys
    are the format's map keys (docs/format.md), so a renamed field is a
    changed format: the golden vectors say so.  `TYPE` is the map's
    `"type"` (None for a map nested in another).  `__init__` takes the
    fields positionally or by name, as a hand-written one would, then runs
    `_check`; `to_map` and `from_map` (strict: exactly these keys) follow
    from the table.  No code is generated: defining one costs what a plain
    class does."""

    __slots__ = ()
    FIELDS: dict = {}
    TYPE: str | None = None

    def __init__(self, *args, **kwargs):
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} fields, not {len(args)}")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got two values for {name!r}")
            kwargs[name] = value
        fields = self.FIELDS
        for name in names:
            f = fields[name]
            value = kwargs.pop(name, f.default)
            if value is REQUIRED:
                raise TypeError(f"{type(self).__name__} is missing {name!r}")
            if value is None and f.empty is not None:
                value = f.empty()
            _set(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__} has no field {sorted(kwargs)[0]!r}")
        self._check()

    def _check(self) -> None:
        """Checks beyond each field's own (an allowed value, say)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__slots__ != tuple(cls.FIELDS):
            raise TypeError(f"{cls.__name__}.__slots__ must be tuple(FIELDS)")
        # What to_map needs, worked out once per class.
        cls._fields = attrgetter(*cls.__slots__) if len(cls.__slots__) > 1 else (
            lambda obj, name=cls.__slots__[0]: (getattr(obj, name),))
        cls._encoders = tuple((name, f.encode) for name, f in cls.FIELDS.items()
                              if f.encode is not None)

    def to_map(self) -> dict:
        m = dict(zip(self.__slots__, self._fields(self)))
        for name, encode in self._encoders:
            m[name] = encode(m[name])
        if self.TYPE is not None:
            m["type"] = self.TYPE
        return m

    @classmethod
    def from_map(cls, m):
        what = cls.TYPE or cls.__name__.lower()
        if not isinstance(m, dict):
            raise FormatError(f"{what} is not a map")
        expected = set(cls.FIELDS) if cls.TYPE is None else {*cls.FIELDS, "type"}
        if cls.TYPE is not None and m.get("type") != cls.TYPE:
            raise FormatError(f"type is {m.get('type')!r}, expected {cls.TYPE!r}")
        if m.keys() != expected:
            extra = sorted(m.keys() - expected)
            missing = sorted(expected - m.keys())
            raise FormatError(f"{what}: unknown fields {extra}, missing fields {missing}")
        # Every field is present and decoded: no binding of arguments to do.
        obj = cls.__new__(cls)
        label = "" if cls.TYPE else what + " "  # "dependency key is not a string"
        for name, f in cls.FIELDS.items():
            _set(obj, name, f.decode(m[name], label + name))
        obj._check()
        return obj
