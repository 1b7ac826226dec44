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
`replace` makes a changed copy as `dataclasses.replace` does."""

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
