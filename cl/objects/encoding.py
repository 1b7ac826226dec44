"""The canonical msgpack encoding of every non-blob object.  msgpack is used
here and in the wire-frame module only.

Canonical means: maps have their keys sorted (recursively), strings are UTF-8
`str`, binary is `bin`, integers are minimal, floats are refused, so equal
values always give equal bytes and equal ids."""

from itertools import chain

import msgpack

from cl.errors import CLError
from cl.objects.ids import ObjectId


class EncodingError(CLError):
    pass


# msgpack integers are at most 64 bits: int 64 down, uint 64 up.
INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1


def _canonical(value, whole: bool = True):
    """The value with its maps' keys sorted, or EncodingError naming what
    has no canonical form.  `whole`: a list of scalars, or of rows of them
    (a tree's entries), is taken as it is once a pass of `type` in C has
    found nothing else in it; msgpack then refuses an integer past 64 bits
    (see `encode`)."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise EncodingError(f"map key is not a string: {key!r}")
        return {k: _canonical(value[k], whole) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        if whole:
            kinds = set(map(type, value))
            if kinds <= _PLAIN or (kinds <= _ROWS and _PLAIN.issuperset(map(type, chain.from_iterable(value)))):
                return value
        return [_canonical(v, whole) for v in value]
    if isinstance(value, float):
        raise EncodingError("floats are not allowed in hashed objects")
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT_MIN <= value <= INT_MAX:
            raise EncodingError(f"integer out of range: {value}")
        return value
    if value is None or isinstance(value, (bool, str, bytes)):
        return value
    raise EncodingError(f"cannot encode {type(value).__name__}")


def encode(value: dict) -> bytes:
    try:
        return msgpack.packb(_canonical(value), use_bin_type=True)
    except OverflowError:  # an integer past 64 bits in a list taken whole: the walk names it
        _canonical(value, whole=False)
        raise
    except UnicodeEncodeError as exc:
        # A str holding surrogate escapes: bytes that were not UTF-8 where
        # text is required (names in trees are bin instead: format.md [F20]).
        bad = exc.object[exc.start:exc.end].encode("utf-8", "surrogateescape")
        raise EncodingError(f"text is not valid UTF-8 (bytes {bad.hex(' ')})") from None


def decode(data: bytes):
    """Decode bytes that must be one canonical msgpack value.  Anything else
    (trailing bytes, non-string keys, floats, non-canonical order) raises
    ValueError so that callers can name the object."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"not msgpack: {exc}") from None
    # Re-encoded as decoded (maps in the order the bytes have them), equal
    # bytes mean minimal encodings throughout; then a walk checks what
    # that leaves: maps sorted with string keys, no floats.  (Encoding the
    # canonical value afresh, as `encode` does, builds every map and list
    # again: three times the cost for a large tree.)
    if msgpack.packb(value, use_bin_type=True) != data:
        raise ValueError("not in canonical form")
    try:
        _check_canonical(value)
    except EncodingError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_canonical(value) -> None:
    """What `_canonical` refuses or reorders, refused, without building
    anything: maps with keys other than str or out of order, floats,
    extension types.  (Decoded msgpack integers fit in 64 bits.)"""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            keys = list(v)
            if not all(type(k) is str for k in keys):
                raise EncodingError(f"map key is not a string: {next(k for k in keys if type(k) is not str)!r}")
            if any(a >= b for a, b in zip(keys, keys[1:])):
                raise EncodingError("not in canonical form: map keys out of order")
            items = list(v.values())
        elif type(v) is list:
            items = v
        else:
            items = (v,)
        kinds = set(map(type, items))  # the usual lists, of scalars or of lists of them, in C
        if kinds <= _SCALARS or (kinds == _LISTS and _SCALARS.issuperset(map(type, chain.from_iterable(items)))):
            continue
        for x in items:
            t = type(x)
            if t is dict or t is list:
                stack.append(x)
            elif t not in _SCALARS:
                if t is float:
                    raise EncodingError("floats are not allowed in hashed objects")
                raise EncodingError(f"cannot encode {t.__name__}")


_SCALARS = frozenset((str, bytes, int, bool, type(None)))
_LISTS = {list}
_PLAIN = _SCALARS | {ObjectId}  # what `_canonical` keeps as it is (an id is a str)
_ROWS = {list, tuple}


def looks_like_map(head: bytes) -> bool:
    """Whether bytes could start a msgpack map (used to tell typed objects
    from blobs when scanning the store without context)."""
    if not head:
        return False
    first = head[0]
    return 0x80 <= first <= 0x8F or first in (0xDE, 0xDF)


def pack_frame(value) -> bytes:
    """Plain (non-hashed) msgpack for wire frames and index caches."""
    return msgpack.packb(value, use_bin_type=True)


def unpack_stream(stream):
    return msgpack.Unpacker(stream, raw=False, strict_map_key=False, max_buffer_size=64 << 20)


def unpack_frame(data: bytes):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)
